package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generator/builtin"
	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/internal/pgtest"
	"github.com/secretsync/secretsync/internal/vaulttest"
	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/provider/vault"
)

// runGeneratorController runs a controller, as the controller identity,
// serving gens, with replaced values revoked after grace.
func (h *harness) runGeneratorController(t *testing.T, gens *generator.Registry, grace time.Duration) *runningController {
	t.Helper()
	return h.runController(t, h.ctrlCfg, controllerOpts{}, newMetrics(nil), func(c *Config) {
		c.Generators, c.RevokeGrace = gens, grace
	})
}

// stateSecrets returns the generator state Secrets of namespace.
func (h *harness) stateSecrets(t *testing.T, ns string) []string {
	t.Helper()
	list, err := h.admin.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: engine.LabelGeneratorOwner})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range list.Items {
		out = append(out, s.Name)
	}
	return out
}

// A generated password survives a controller restart unchanged: the
// restarted controller finds it kept in the cluster and writes nothing.
func TestGeneratorPasswordSurvivesRestartE2E(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	gens, err := generator.NewRegistry(builtin.Password())
	if err != nil {
		t.Fatal(err)
	}
	ctrl := h.runGeneratorController(t, gens, time.Second)
	h.apply(t, `
apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {name: db-password, namespace: %[1]s}
spec:
  length: 32
  digits: 5
  symbols: 5
  noUpper: false
  allowRepeat: true
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: %[1]s}
spec:
  refreshInterval: 1h
  target: {name: db}
  data:
  - secretKey: password
    remoteRef: {key: password}
    sourceRef:
      generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: db-password}
`, ns)
	var first []byte
	eventually(t, 20*time.Second, func() (bool, string) {
		s, err := h.getSecret(ns, "db")
		if err != nil {
			return false, err.Error()
		}
		first = s.Data["password"]
		return len(first) == 32, fmt.Sprintf("password has %d characters", len(first))
	})
	if got := h.stateSecrets(t, ns); len(got) != 1 {
		t.Fatalf("state Secrets %v, want one", got)
	}

	ctrl.stop()
	restarted := time.Now()
	ctrl = h.runGeneratorController(t, gens, time.Second)
	waitIdle(t, ctrl.metrics)
	time.Sleep(2 * time.Second)
	s, err := h.getSecret(ns, "db")
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Data["password"]) != string(first) {
		t.Error("the restarted controller generated a new password")
	}
	if n, err := h.env.CountWrites("secrets", ns, restarted); err != nil || n != 0 {
		t.Errorf("the restarted controller wrote %d Secrets (%v); want 0", n, err)
	}
	h.scanForGenerated(t, ns, string(first))
}

// An ECR token is made again before it expires: at 2/3 of its lifetime,
// not at the hourly refresh interval.
func TestGeneratorECRTokenRefreshedBeforeExpiryE2E(t *testing.T) {
	h := setup(t)
	emu := awsemu.New("us-east-1")
	t.Cleanup(emu.Close)
	emu.AddAccessKey("AKIAECRTEST", "CANARY-ecr-key-"+canary, "arn:aws:iam::123456789012:user/ci")
	emu.SetECRTokenLifetime(12 * time.Second)
	ns := h.namespace(t, nil)
	h.setSecretData(t, ns, "aws-keys", map[string]string{"id": "AKIAECRTEST", "secret": "CANARY-ecr-key-" + canary})
	gens, err := generator.NewRegistry(aws.NewECRGenerator(aws.WithEndpoint(emu.URL), aws.WithHTTPClient(emu.Client())))
	if err != nil {
		t.Fatal(err)
	}
	h.runGeneratorController(t, gens, time.Second)
	h.apply(t, `
apiVersion: generators.external-secrets.io/v1alpha1
kind: ECRAuthorizationToken
metadata: {name: ecr, namespace: %[1]s}
spec:
  region: us-east-1
  auth:
    secretRef:
      accessKeyIDSecretRef: {name: aws-keys, key: id}
      secretAccessKeySecretRef: {name: aws-keys, key: secret}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: registry, namespace: %[1]s}
spec:
  refreshInterval: 1h
  target: {name: registry}
  dataFrom:
  - sourceRef:
      generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: ECRAuthorizationToken, name: ecr}
`, ns)
	type token struct {
		password string
		expires  time.Time
	}
	read := func() (token, error) {
		s, err := h.getSecret(ns, "registry")
		if err != nil {
			return token{}, err
		}
		var sec int64
		if _, err := fmt.Sscan(string(s.Data["expires_at"]), &sec); err != nil {
			return token{}, fmt.Errorf("expires_at: %w", err)
		}
		return token{string(s.Data["password"]), time.Unix(sec, 0)}, nil
	}
	var first token
	eventually(t, 20*time.Second, func() (bool, string) {
		var err error
		first, err = read()
		return err == nil && first.password != "", fmt.Sprint(err)
	})
	var second token
	eventually(t, 20*time.Second, func() (bool, string) {
		var err error
		second, err = read()
		return err == nil && second.password != first.password, "the token was not made again"
	})
	renewed := time.Now()
	t.Logf("token made again %v before the first one expired", first.expires.Sub(renewed).Round(time.Second))
	if !renewed.Before(first.expires) {
		t.Errorf("the token was made again at %v, after it expired at %v", renewed, first.expires)
	}
	if n := len(emu.ECRTokens()); n < 2 {
		t.Errorf("%d tokens issued, want a renewal", n)
	}
	h.scanForGenerated(t, ns, first.password, second.password)
	es := h.getES(t, ns, "registry")
	if c := es.Status.ReadyCondition(); c == nil || !strings.Contains(c.Message, "renewed or revoked at") {
		t.Errorf("the status does not say when the token is renewed: %+v", c)
	}
}

// Vault's database engine against a real PostgreSQL, through the
// controller: the credential logs in, is made again before its 15 s lease
// ends, the replaced one is revoked after the grace period, and deleting
// the ExternalSecret revokes the last, in Vault and in PostgreSQL. A PKI
// certificate goes to a kubernetes.io/tls Secret and is renewed too.
func TestGeneratorVaultE2E(t *testing.T) {
	h := setup(t)
	pg := pgtest.Start(t)
	v := vaulttest.StartForTest(t, vaulttest.Options{})
	ctx := context.Background()
	write := func(path string, data map[string]any) {
		t.Helper()
		if _, err := v.Client.Logical().WriteWithContext(ctx, path, data); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
	if err := v.Client.Sys().MountWithContext(ctx, "database", &api.MountInput{Type: "database"}); err != nil {
		t.Fatal(err)
	}
	write("database/config/pg", map[string]any{
		"plugin_name":    "postgresql-database-plugin",
		"connection_url": "postgresql://{{username}}:{{password}}@" + pg.Addr() + "/postgres?sslmode=disable",
		"username":       pgtest.Superuser, "password": pg.Password, "allowed_roles": "app",
	})
	write("database/roles/app", map[string]any{
		"db_name":             "pg",
		"creation_statements": []string{`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`},
		"default_ttl":         "15s", "max_ttl": "1h",
	})
	if err := v.Client.Sys().MountWithContext(ctx, "pki", &api.MountInput{Type: "pki", Config: api.MountConfigInput{MaxLeaseTTL: "87600h"}}); err != nil {
		t.Fatal(err)
	}
	write("pki/root/generate/internal", map[string]any{"common_name": "secretsync test root", "ttl": "87600h"})
	write("pki/roles/web", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "max_ttl": "1h"})

	ns := h.namespace(t, nil)
	h.setSecretData(t, ns, "vault-token", map[string]string{"token": v.RootToken})
	gens, err := generator.NewRegistry(vault.NewGenerator())
	if err != nil {
		t.Fatal(err)
	}
	h.runGeneratorController(t, gens, 2*time.Second)
	h.apply(t, `
apiVersion: generators.external-secrets.io/v1alpha1
kind: VaultDynamicSecret
metadata: {name: pg-creds, namespace: %[1]s}
spec:
  path: database/creds/app
  method: GET
  provider:
    server: %[2]s
    auth:
      tokenSecretRef: {name: vault-token, key: token}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: VaultDynamicSecret
metadata: {name: web-cert, namespace: %[1]s}
spec:
  path: pki/issue/web
  method: POST
  parameters: {common_name: app.example.com, ttl: 15s}
  provider:
    server: %[2]s
    auth:
      tokenSecretRef: {name: vault-token, key: token}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: %[1]s}
spec:
  refreshInterval: 1h
  target: {name: db}
  dataFrom:
  - sourceRef:
      generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: VaultDynamicSecret, name: pg-creds}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: web-tls, namespace: %[1]s}
spec:
  refreshInterval: 1h
  target:
    name: web-tls
    template:
      type: kubernetes.io/tls
      data:
        tls.crt: '{{ .certificate }}{{ "\n" }}{{ .ca_chain }}'
        tls.key: '{{ .private_key }}'
        ca.crt: '{{ .issuing_ca }}'
  dataFrom:
  - sourceRef:
      generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: VaultDynamicSecret, name: web-cert}
`, ns, v.Addr)

	type creds struct{ user, password string }
	read := func() (creds, error) {
		s, err := h.getSecret(ns, "db")
		if err != nil {
			return creds{}, err
		}
		return creds{string(s.Data["username"]), string(s.Data["password"])}, nil
	}
	roleExists := func(name string) bool {
		t.Helper()
		out, err := pg.Psql(ctx, pgtest.Superuser, pg.Password, "select count(*) from pg_roles where rolname = '"+name+"'")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out) == "1"
	}
	var first creds
	eventually(t, 30*time.Second, func() (bool, string) {
		var err error
		first, err = read()
		return err == nil && first.user != "", fmt.Sprint(err)
	})
	if _, err := pg.Psql(ctx, first.user, first.password, "select 1"); err != nil {
		t.Fatalf("the generated credential does not log in to PostgreSQL: %v", err)
	}
	created := time.Now()
	var second creds
	eventually(t, 30*time.Second, func() (bool, string) {
		var err error
		second, err = read()
		return err == nil && second.user != first.user, "the credential was not made again"
	})
	t.Logf("the 15 s credential was made again %v after it was first read", time.Since(created).Round(time.Second))
	if _, err := pg.Psql(ctx, second.user, second.password, "select 1"); err != nil {
		t.Fatalf("the renewed credential does not log in: %v", err)
	}
	// The replaced one is revoked after the 2 s grace period.
	eventually(t, 20*time.Second, func() (bool, string) {
		return !roleExists(first.user), "the replaced PostgreSQL role still exists"
	})

	// The certificate: a TLS Secret, renewed before its 15 s end.
	var firstCert []byte
	eventually(t, 30*time.Second, func() (bool, string) {
		s, err := h.getSecret(ns, "web-tls")
		if err != nil {
			return false, err.Error()
		}
		firstCert = s.Data["tls.crt"]
		return s.Type == "kubernetes.io/tls" && strings.Contains(string(firstCert), "BEGIN CERTIFICATE") && len(s.Data["tls.key"]) > 0 && len(s.Data["ca.crt"]) > 0,
			"no TLS Secret yet"
	})
	eventually(t, 30*time.Second, func() (bool, string) {
		s, err := h.getSecret(ns, "web-tls")
		return err == nil && string(s.Data["tls.crt"]) != string(firstCert), "the certificate was not renewed"
	})
	if c := h.getES(t, ns, "web-tls").Status.ReadyCondition(); c == nil || !strings.Contains(c.Message, "renewed or revoked at") {
		t.Errorf("the status does not show the renewal time: %+v", c)
	}

	// Deleting the ExternalSecret revokes its credential, then lets it go.
	es := h.getES(t, ns, "db")
	if !slices.Contains(es.Finalizers, engine.GeneratorFinalizer) {
		t.Errorf("finalizers %v lack %s", es.Finalizers, engine.GeneratorFinalizer)
	}
	current, err := read()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.crd.Delete(ctx, es); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		err := h.crd.Get(ctx, resExternalSecrets, ns, "db", &externalsecret.ExternalSecret{})
		return apierrors.IsNotFound(err), fmt.Sprintf("the ExternalSecret is still there: %v", err)
	})
	if roleExists(current.user) {
		t.Error("the PostgreSQL role of the deleted ExternalSecret's credential still exists")
	}
	cert, _ := h.getSecret(ns, "web-tls")
	h.scanForGenerated(t, ns, first.password, second.password, current.password, string(cert.Data["tls.key"]))
	leases, err := v.Client.Logical().ListWithContext(ctx, "sys/leases/lookup/database/creds/app")
	if err != nil {
		t.Fatal(err)
	}
	if leases != nil && leases.Data["keys"] != nil && len(leases.Data["keys"].([]any)) > 0 {
		t.Errorf("Vault still holds leases of database/creds/app: %v", leases.Data["keys"])
	}
}

// scanForGenerated fails the test if a generated value shows in the
// controller's logs, or in the events or ExternalSecret statuses of ns:
// generated values cannot be planted as canaries, so each test hands
// over the ones it saw.
func (h *harness) scanForGenerated(t *testing.T, ns string, values ...string) {
	t.Helper()
	events, err := h.admin.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := h.crd.rest.Get().Namespace(ns).Resource(resExternalSecrets).DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all := logs.String()
	for _, v := range values {
		if len(v) < 8 {
			continue // too short to be told from other text
		}
		if strings.Contains(all, v) {
			t.Error("a generated value shows in the controller's logs")
		}
		for _, e := range events.Items {
			if strings.Contains(e.Message, v) {
				t.Errorf("event %s/%s shows a generated value", e.Reason, e.InvolvedObject.Name)
			}
		}
		if strings.Contains(string(raw), v) {
			t.Error("an ExternalSecret shows a generated value")
		}
	}
}

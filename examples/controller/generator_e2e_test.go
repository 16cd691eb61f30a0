package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generator/builtin"
	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/provider/aws"
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
	es := h.getES(t, ns, "registry")
	if c := es.Status.ReadyCondition(); c == nil || !strings.Contains(c.Message, "renewed or revoked at") {
		t.Errorf("the status does not say when the token is renewed: %+v", c)
	}
}

package vault_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/vaulttest"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/vault"
	"github.com/secretsync/secretsync/secretstore"
)

const readPolicy = `
path "kv/data/*" { capabilities = ["read"] }
path "kv/metadata/*" { capabilities = ["read", "list"] }
`

// Each auth method logs in once, over TLS, and serves ten reads with the
// token it got.
func TestAuthMethods(t *testing.T) {
	v := startVault(t, vaulttest.Options{TLS: true})
	v.mountKV("kv", "2")
	v.putV2("kv", "app/db", map[string]any{"user": "admin", "password": canary})
	v.policy("read", readPolicy)

	token := v.write("auth/token/create", map[string]any{"policies": []string{"read"}, "ttl": "1h"}).Auth.ClientToken

	v.enableAuth("approle", "approle")
	roleID, secretID := v.appRole("approle", "app", map[string]any{"token_policies": "read", "token_ttl": "1h"})
	v.enableAuth("team-approle", "approle")
	roleID2, secretID2 := v.appRole("team-approle", "app", map[string]any{"token_policies": "read"})

	v.enableAuth("userpass", "userpass")
	v.write("auth/userpass/users/alice", map[string]any{"password": canary, "token_policies": "read"})

	caPEM, certPEM, keyPEM := clientCertificate(t)
	v.enableAuth("cert", "cert")
	v.write("auth/cert/certs/app", map[string]any{"certificate": string(caPEM), "token_policies": "read"})

	c := &creds{secrets: map[string]string{
		"team/vault-token/token":   token,
		"team/approle/role-id":     roleID,
		"team/approle/secret-id":   secretID,
		"team/approle2/secret-id":  secretID2,
		"team/alice/password":      canary,
		"team/client-cert/tls.crt": string(certPEM),
		"team/client-cert/tls.key": string(keyPEM),
	}}

	tests := map[string]struct {
		auth  secretstore.VaultAuth
		mount string // of the auth method whose logins are counted; none for a static token
	}{
		"tokenSecretRef": {
			auth: secretstore.VaultAuth{TokenSecretRef: ptr(sel("vault-token", "token"))},
		},
		"appRole with roleId": {
			auth:  secretstore.VaultAuth{AppRole: &secretstore.VaultAppRole{Path: "approle", RoleID: roleID, SecretRef: sel("approle", "secret-id")}},
			mount: "approle",
		},
		"appRole with roleRef": {
			auth:  secretstore.VaultAuth{AppRole: &secretstore.VaultAppRole{RoleRef: ptr(sel("approle", "role-id")), SecretRef: sel("approle", "secret-id")}},
			mount: "approle",
		},
		"appRole at another mount": {
			auth:  secretstore.VaultAuth{AppRole: &secretstore.VaultAppRole{Path: "team-approle", RoleID: roleID2, SecretRef: sel("approle2", "secret-id")}},
			mount: "team-approle",
		},
		"userPass": {
			auth:  secretstore.VaultAuth{UserPass: &secretstore.VaultUserPassAuth{Path: "userpass", Username: "alice", SecretRef: sel("alice", "password")}},
			mount: "userpass",
		},
		"cert": {
			auth:  secretstore.VaultAuth{Cert: &secretstore.VaultCertAuth{ClientCert: sel("client-cert", "tls.crt"), SecretRef: sel("client-cert", "tls.key")}},
			mount: "cert",
		},
		"cert with vaultRole": {
			auth:  secretstore.VaultAuth{Cert: &secretstore.VaultCertAuth{ClientCert: sel("client-cert", "tls.crt"), SecretRef: sel("client-cert", "tls.key"), VaultRole: "app"}},
			mount: "cert",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := 0
			if tc.mount != "" {
				before = v.logins(tc.mount)
			}
			spec := secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv"), CABundle: v.CACert, Auth: &tc.auth}
			client := newClient(t, store(spec), c)
			for i := 0; i < 10; i++ {
				got, err := readValue(context.Background(), client, provider.Ref{Key: "app/db"}, "user")
				if err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
				if string(got) != "admin" {
					t.Fatalf("read %d = %q, want admin", i, got)
				}
			}
			if tc.mount != "" {
				if got := v.logins(tc.mount) - before; got != 1 {
					t.Errorf("10 reads made %d logins at auth/%s, want 1", got, tc.mount)
				}
			}
		})
	}
}

// cert.vaultRole names the cert role to log in as: Vault checks the
// certificate against that role alone, and the token gets that role's
// policies.
func TestCertVaultRole(t *testing.T) {
	v := startVault(t, vaulttest.Options{TLS: true})
	v.mountKV("kv", "2")
	v.putV2("kv", "app/db", map[string]any{"user": "admin"})
	v.policy("read", readPolicy)
	caPEM, certPEM, keyPEM := clientCertificate(t)
	v.enableAuth("cert", "cert")
	// Two roles trust the same CA; only "reader" may read.
	v.write("auth/cert/certs/reader", map[string]any{"certificate": string(caPEM), "token_policies": "read"})
	v.write("auth/cert/certs/auditor", map[string]any{"certificate": string(caPEM), "token_policies": "default"})
	c := &creds{secrets: map[string]string{
		"team/client-cert/tls.crt": string(certPEM),
		"team/client-cert/tls.key": string(keyPEM),
	}}
	tests := map[string]struct {
		role    string
		wantErr string
	}{
		"the role with the read policy": {role: "reader"},
		"a role without it":             {role: "auditor", wantErr: "permission denied"},
		"a role that does not exist":    {role: "nobody", wantErr: "log in at auth/cert/login"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			auth := &secretstore.VaultAuth{Cert: &secretstore.VaultCertAuth{ClientCert: sel("client-cert", "tls.crt"), SecretRef: sel("client-cert", "tls.key"), VaultRole: tc.role}}
			client := newClient(t, store(secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv"), CABundle: v.CACert, Auth: auth}), c)
			got, err := readValue(context.Background(), client, provider.Ref{Key: "app/db"}, "user")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(strings.ToLower(err.Error()), tc.wantErr) {
					t.Fatalf("want an error with %q, got %q, %v", tc.wantErr, got, err)
				}
				return
			}
			if err != nil || string(got) != "admin" {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

// ldap has userPass's shape: the same request at auth/<path>/login/<user>.
// No LDAP directory runs here, so Vault's own ldap method answers that it
// cannot reach one, which shows the request arrived where it should.
func TestLDAPLogin(t *testing.T) {
	v := startVault(t, vaulttest.Options{})
	v.enableAuth("ldap", "ldap")
	v.write("auth/ldap/config", map[string]any{"url": "ldap://127.0.0.1:1", "userdn": "ou=users,dc=example", "request_timeout": "2s"})
	c := &creds{secrets: map[string]string{"team/ldap/password": canary}}
	spec := secretstore.VaultProvider{Server: v.Addr, Path: ptr("secret"), Auth: &secretstore.VaultAuth{
		Ldap: &secretstore.VaultLdapAuth{Path: "ldap", Username: "alice", SecretRef: sel("ldap", "password")},
	}}
	client := newClient(t, store(spec), c)

	_, err := client.GetSecret(context.Background(), provider.Ref{Key: "app"})
	if err == nil {
		t.Fatal("login succeeded without an LDAP directory")
	}
	noCanary(t, err)
	if !strings.Contains(err.Error(), "ldap auth: log in at auth/ldap/login/alice") {
		t.Errorf("error %q does not name the ldap login", err)
	}
	entries, auditErr := v.Audit()
	if auditErr != nil {
		t.Fatal(auditErr)
	}
	found := false
	for _, e := range entries {
		found = found || (e.Type == "response" && e.Request.Path == "auth/ldap/login/alice" && e.Error != "")
	}
	if !found {
		t.Errorf("the audit log has no failed login at auth/ldap/login/alice")
	}
}

// The server's CA comes from caBundle, or from a Secret or ConfigMap
// through caProvider; without it the TLS error says so.
func TestCA(t *testing.T) {
	v := startVault(t, vaulttest.Options{TLS: true})
	c := &creds{
		secrets:    map[string]string{"team/vault-token/token": v.RootToken, "team/ca/ca.crt": string(v.CACert)},
		configMaps: map[string]string{"team/ca/ca.crt": string(v.CACert)},
	}
	tokenAuth := &secretstore.VaultAuth{TokenSecretRef: ptr(sel("vault-token", "token"))}
	tests := map[string]struct {
		spec    secretstore.VaultProvider
		errText string
	}{
		"caBundle": {spec: secretstore.VaultProvider{CABundle: v.CACert}},
		"caProvider Secret": {spec: secretstore.VaultProvider{CAProvider: &secretstore.CAProvider{
			Type: secretstore.CAProviderTypeSecret, Name: "ca", Key: "ca.crt"}}},
		"caProvider ConfigMap": {spec: secretstore.VaultProvider{CAProvider: &secretstore.CAProvider{
			Type: secretstore.CAProviderTypeConfigMap, Name: "ca", Key: "ca.crt"}}},
		"client TLS": {spec: secretstore.VaultProvider{CABundle: v.CACert, ClientTLS: secretstore.VaultClientTLS{
			CertSecretRef: ptr(sel("client", "")), KeySecretRef: ptr(sel("client", ""))}}},
		"no CA": {errText: "certificate signed by unknown authority"},
	}
	_, certPEM, keyPEM := clientCertificate(t)
	c.secrets["team/client/tls.crt"] = string(certPEM)
	c.secrets["team/client/tls.key"] = string(keyPEM)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec := tc.spec
			spec.Server, spec.Auth = v.Addr, tokenAuth
			client := newClient(t, store(spec), c)
			err := client.Validate(context.Background())
			if tc.errText == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errText) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.errText)
			}
		})
	}
}

// Headers from the spec reach Vault, which logs the ones it is told to.
// readYourWrites alone works against a single node; forwardInconsistent
// adds X-Vault-Inconsistent, which a server not configured to forward
// refuses by name, so that refusal shows the header arrived.
func TestHeaders(t *testing.T) {
	v := startVault(t, vaulttest.Options{})
	v.write("sys/config/auditing/request-headers/x-team", map[string]any{"hmac": false})
	c := &creds{secrets: map[string]string{"team/vault-token/token": v.RootToken}}
	spec := secretstore.VaultProvider{
		Server: v.Addr, Path: ptr("secret"),
		Auth:           &secretstore.VaultAuth{TokenSecretRef: ptr(sel("vault-token", "token"))},
		Headers:        map[string]string{"X-Team": "payments"},
		ReadYourWrites: true,
	}
	v.putV2("secret", "app", map[string]any{"k": "v"})
	client := newClient(t, store(spec), c)
	for i := 0; i < 2; i++ {
		if _, err := client.GetSecret(context.Background(), provider.Ref{Key: "app"}); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := v.AuditRaw()
	if err != nil {
		t.Fatal(err)
	}
	if want := `"x-team":["payments"]`; !strings.Contains(raw, want) {
		t.Errorf("the audit log has no %s", want)
	}

	spec.ForwardInconsistent = true
	_, err = newClient(t, store(spec), c).GetSecret(context.Background(), provider.Ref{Key: "app"})
	if err == nil || !strings.Contains(err.Error(), "X-Vault-Inconsistent=forward-active-node") {
		t.Errorf("with forwardInconsistent: err = %v, want Vault to refuse X-Vault-Inconsistent", err)
	}
}

// Vault Enterprise namespaces: the store's for reads, auth.namespace for the
// login. The open-source server here serves every request from the root
// namespace, so the audit log, told to record the header, is what shows
// each request carried the right one.
func TestNamespaces(t *testing.T) {
	v := startVault(t, vaulttest.Options{})
	v.write("sys/config/auditing/request-headers/x-vault-namespace", map[string]any{"hmac": false})
	v.putV2("secret", "app", map[string]any{"k": "v"})
	v.policy("read", `path "secret/data/*" { capabilities = ["read"] }`)
	v.enableAuth("approle", "approle")
	roleID, secretID := v.appRole("approle", "app", map[string]any{"token_policies": "read"})
	c := &creds{secrets: map[string]string{"team/approle/secret-id": secretID}}
	spec := secretstore.VaultProvider{
		Server: v.Addr, Path: ptr("secret"), Namespace: ptr("team-secrets"),
		Auth: &secretstore.VaultAuth{
			Namespace: ptr("team-auth"),
			AppRole:   &secretstore.VaultAppRole{Path: "approle", RoleID: roleID, SecretRef: sel("approle", "secret-id")},
		},
	}
	client := newClient(t, store(spec), c)
	if _, err := client.GetSecret(context.Background(), provider.Ref{Key: "app"}); err != nil {
		t.Fatal(err)
	}

	raw, err := v.AuditRaw()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(raw, "\n") {
		var e struct {
			Type    string `json:"type"`
			Request struct {
				Path    string              `json:"path"`
				Headers map[string][]string `json:"headers"`
			} `json:"request"`
		}
		if json.Unmarshal([]byte(line), &e) != nil || e.Type != "request" {
			continue
		}
		if ns := e.Request.Headers["x-vault-namespace"]; len(ns) == 1 {
			got[e.Request.Path] = ns[0]
		}
	}
	want := map[string]string{"auth/approle/login": "team-auth", "secret/data/app": "team-secrets"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("namespace of each request (-want +got):\n%s", diff)
	}
}

func TestValidateStore(t *testing.T) {
	tests := map[string]struct {
		spec    secretstore.VaultProvider
		errText string
	}{
		"no auth":        {spec: secretstore.VaultProvider{Server: "https://vault:8200"}},
		"a server URL":   {spec: secretstore.VaultProvider{Server: "vault:8200"}, errText: "server"},
		"a bad version":  {spec: secretstore.VaultProvider{Server: "http://v", Version: "v3"}, errText: "version"},
		"no auth method": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{}}, errText: "set one auth method"},
		"two auth methods": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			TokenSecretRef: ptr(sel("a", "b")), Cert: &secretstore.VaultCertAuth{}}}, errText: "tokenSecretRef, cert"},
		"appRole with both roleId and roleRef": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			AppRole: &secretstore.VaultAppRole{RoleID: "r", RoleRef: ptr(sel("a", "b"))}}}, errText: "roleId and roleRef"},
		"kubernetes without a role": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			Kubernetes: &secretstore.VaultKubernetesAuth{}}}, errText: "auth.kubernetes.role"},
		"jwt without a token": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			Jwt: &secretstore.VaultJwtAuth{}}}, errText: "secretRef and kubernetesServiceAccountToken"},
		"userPass without a user": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			UserPass: &secretstore.VaultUserPassAuth{}}}, errText: "username"},
		"iam": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			Iam: &secretstore.VaultIamAuth{Role: "app", Region: "eu-west-1", STSEndpointPolicy: secretstore.VaultIAMSTSEndpointPolicyRegional}}}},
		"iam without a vaultRole": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			Iam: &secretstore.VaultIamAuth{}}}, errText: "auth.iam.vaultRole: required"},
		"iam with secretRef and jwt": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			Iam: &secretstore.VaultIamAuth{Role: "app", SecretRef: &secretstore.VaultAwsAuthSecretRef{}, JWTAuth: &secretstore.VaultAwsJWTAuth{}}}}, errText: "at most one of secretRef and jwt"},
		"iam with a role name": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			Iam: &secretstore.VaultIamAuth{Role: "app", AWSIAMRole: "reader"}}}, errText: `auth.iam.role: "reader" is not an ARN`},
		"iam with an unknown endpoint policy": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			Iam: &secretstore.VaultIamAuth{Role: "app", STSEndpointPolicy: "Global"}}}, errText: "neither Legacy nor Regional"},
		"gcp with a key": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			GCP: &secretstore.VaultGCPAuth{Role: "app", SecretRef: &secretstore.GCPSMAuthSecretRef{SecretAccessKey: sel("gcp", "key.json")}}}}},
		"gcp without a role": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			GCP: &secretstore.VaultGCPAuth{SecretRef: &secretstore.GCPSMAuthSecretRef{SecretAccessKey: sel("gcp", "key.json")}}}}, errText: "auth.gcp.role: required"},
		"gcp with workload identity": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			GCP: &secretstore.VaultGCPAuth{Role: "app", WorkloadIdentity: &secretstore.GCPWorkloadIdentity{ServiceAccountRef: secretstore.ServiceAccountSelector{Name: "sa"}}}}}},
		"gcp with serviceAccountRef, which secretsync does not support": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			GCP: &secretstore.VaultGCPAuth{Role: "app", ServiceAccountRef: &secretstore.ServiceAccountSelector{Name: "sa"}}}},
			errText: "spec.provider.vault.auth.gcp.serviceAccountRef: not supported by secretsync"},
		"gcp with the controller's identity, which secretsync does not support": {spec: secretstore.VaultProvider{Server: "http://v", Auth: &secretstore.VaultAuth{
			GCP: &secretstore.VaultGCPAuth{Role: "app"}}},
			errText: "spec.provider.vault.auth.gcp: the controller's own GCP identity is not supported by secretsync"},
		"checkAndSet, for PushSecret": {spec: secretstore.VaultProvider{Server: "http://v", CheckAndSet: &secretstore.VaultCheckAndSet{Required: true}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := vault.New().ValidateStore(store(tc.spec))
			if tc.errText == "" {
				if err != nil {
					t.Fatalf("ValidateStore: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errText) {
				t.Fatalf("ValidateStore = %v, want an error containing %q", err, tc.errText)
			}
		})
	}
}

// A ClusterSecretStore must name the namespace of every credential, and a
// SecretStore may only name its own: NewClient applies provider's rules.
func TestCredentialNamespaces(t *testing.T) {
	c := &creds{secrets: map[string]string{"other/vault-token/token": "t"}}
	spec := secretstore.VaultProvider{Server: "http://127.0.0.1:1", Auth: &secretstore.VaultAuth{
		TokenSecretRef: &secretstore.SecretKeySelector{Name: "vault-token", Key: "token", Namespace: ptr("other")},
	}}
	_, err := vault.New().NewClient(context.Background(), store(spec), c)
	if err == nil || !strings.Contains(err.Error(), `may only name namespace "team"`) {
		t.Errorf("a SecretStore reading another namespace: err = %v", err)
	}
	cluster := &secretstore.ClusterSecretStore{Spec: store(spec).Spec}
	cluster.Name = "vault"
	if _, err := vault.New().NewClient(context.Background(), cluster, c); err != nil {
		t.Errorf("a ClusterSecretStore naming the namespace: %v", err)
	}
	spec.Auth.TokenSecretRef.Namespace = nil
	cluster.Spec.Provider.Vault = &spec
	if _, err := vault.New().NewClient(context.Background(), cluster, c); err == nil || !strings.Contains(err.Error(), "must set namespace") {
		t.Errorf("a ClusterSecretStore without a namespace: err = %v", err)
	}
}

// clientCertificate returns a new CA and a client certificate it signed,
// with the certificate's key, all PEM.
func clientCertificate(t testing.TB) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "secretsync test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "secretsync"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	return enc("CERTIFICATE", caDER), enc("CERTIFICATE", der), enc("PRIVATE KEY", keyDER)
}

package main

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hashicorp/vault/api"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/vaulttest"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/vault"
)

// The reference controller syncs from a real Vault server, follows a new
// KV v2 version, and logs in once however many times it refreshes.
func TestE2EVault(t *testing.T) {
	h := setup(t)
	v := vaulttest.StartForTest(t, vaulttest.Options{})
	ctx := context.Background()
	if err := v.Client.Sys().PutPolicy("read-app", `path "secret/data/app/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	if err := v.Client.Sys().EnableAuthWithOptions("userpass", &api.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Client.Logical().Write("auth/userpass/users/secretsync", map[string]any{
		"password": "login-" + canary, "token_policies": "read-app", "token_ttl": "1h",
	}); err != nil {
		t.Fatal(err)
	}
	kv := v.Client.KVv2("secret")
	if _, err := kv.Put(ctx, "app/db", map[string]any{"user": "admin", "password": "v1", "token": canary}); err != nil {
		t.Fatal(err)
	}

	ns := h.namespace(t, nil)
	h.startController(t, controllerOpts{providers: []provider.Provider{vault.New()}})
	if _, err := h.admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "vault-login"},
		StringData: map[string]string{"password": "login-" + canary},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.apply(t, `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault, namespace: %s}
spec:
  provider:
    vault:
      server: %s
      path: secret
      version: v2
      auth:
        userPass:
          path: userpass
          username: secretsync
          secretRef: {name: vault-login, key: password}
`, ns, v.Addr)
	h.apply(t, `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: %s}
spec:
  refreshInterval: 1s
  secretStoreRef: {name: vault, kind: SecretStore}
  target: {name: db}
  data:
  - secretKey: username
    remoteRef: {key: app/db, property: user}
  - secretKey: password
    remoteRef: {key: app/db, property: password}
`, ns)
	h.waitSecretData(t, ns, "db", "password", "v1")
	h.waitReady(t, ns, "db", externalsecret.ReasonSecretSynced)
	eventually(t, 10*time.Second, func() (bool, string) {
		row := h.tableRow(t, ns, resSecretStores, "vault")
		return row["Status"] == "Valid" && row["Ready"] == "True", "store not validated yet"
	})

	// A new KV v2 version reaches the Secret at the next refresh.
	if _, err := kv.Put(ctx, "app/db", map[string]any{"user": "admin", "password": "v2", "token": canary}); err != nil {
		t.Fatal(err)
	}
	h.waitSecretData(t, ns, "db", "password", "v2")

	// Refreshes every second for a few seconds: many reads, one login.
	time.Sleep(4 * time.Second)
	reads, err := v.Count("read", "secret/data/app/db")
	if err != nil {
		t.Fatal(err)
	}
	logins, err := v.Logins("userpass")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d reads of secret/data/app/db, %d logins", reads, logins)
	if reads < 4 {
		t.Errorf("want a read every refresh, got %d", reads)
	}
	if logins != 1 {
		t.Errorf("want 1 login reused across %d reads, got %d", reads, logins)
	}
}

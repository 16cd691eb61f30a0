package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/doppleremu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/doppler"
)

// The External Secrets Operator's Doppler use cases against one config:
// fetch, fetch all, JSON secret, and download in a format. Refreshes of
// an unchanged config cost 304s, not downloads; a change is synced.
func TestE2EDoppler(t *testing.T) {
	h := setup(t)
	emu := doppleremu.New()
	t.Cleanup(emu.Close)
	const token = "dp.st.prd.e2e"
	emu.AddServiceToken(token, "auth-api", "prd")
	emu.SetSecret("auth-api", "prd", "DB_USER", "admin")
	emu.SetSecret("auth-api", "prd", "DB_PASSWORD", canary)
	emu.SetSecret("auth-api", "prd", "DB_URL", "postgres://${DB_USER}@db:5432")
	emu.SetSecret("auth-api", "prd", "SA_JSON", `{"client_id":"cid-1","private_key":"`+canary+`"}`)

	ns := h.namespace(t, nil)
	h.startController(t, controllerOpts{providers: []provider.Provider{
		doppler.New(doppler.WithBaseURL(emu.URL), doppler.WithHTTPClient(emu.Client())),
	}})
	if _, err := h.admin.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "doppler-token-auth-api"},
		StringData: map[string]string{"dopplerToken": token},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.apply(t, `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: doppler-auth-api
  namespace: %[1]s
spec:
  provider:
    doppler:
      auth:
        secretRef:
          dopplerToken:
            name: doppler-token-auth-api
            key: dopplerToken
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: doppler-auth-api-env-file
  namespace: %[1]s
spec:
  provider:
    doppler:
      auth:
        secretRef:
          dopplerToken:
            name: doppler-token-auth-api
            key: dopplerToken
      format: env
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: auth-api
  namespace: %[1]s
spec:
  refreshInterval: 1s
  secretStoreRef:
    kind: SecretStore
    name: doppler-auth-api
  target:
    name: auth-api
  data:
    - secretKey: DATABASE_URL
      remoteRef:
        key: DB_URL
  dataFrom:
    - find:
        name:
          regexp: .*
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: auth-api-sa-json
  namespace: %[1]s
spec:
  refreshInterval: 1s
  secretStoreRef:
    kind: SecretStore
    name: doppler-auth-api
  target:
    name: auth-api-sa-json
  dataFrom:
    - extract:
        key: SA_JSON
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: auth-api-env-file
  namespace: %[1]s
spec:
  refreshInterval: 1s
  secretStoreRef:
    kind: SecretStore
    name: doppler-auth-api-env-file
  target:
    name: auth-api-env-file
  dataFrom:
    - find:
        path: DOPPLER_SECRETS_FILE
`, ns)

	s := h.waitSecretData(t, ns, "auth-api", "DATABASE_URL", "postgres://admin@db:5432")
	for k, want := range map[string]string{"DB_USER": "admin", "DB_PASSWORD": canary, "DB_URL": "postgres://admin@db:5432"} {
		if got := string(s.Data[k]); got != want {
			t.Errorf("%s: got %d bytes, want the secret's computed value", k, len(got))
		}
	}
	h.waitSecretData(t, ns, "auth-api-sa-json", "client_id", "cid-1")
	f := h.waitSecretData(t, ns, "auth-api-env-file", "DOPPLER_SECRETS_FILE", "DB_PASSWORD=\""+canary+"\"\nDB_URL=\"postgres://admin@db:5432\"\nDB_USER=\"admin\"\nSA_JSON=\"{\\\"client_id\\\":\\\"cid-1\\\",\\\"private_key\\\":\\\""+canary+"\\\"}\"\n")
	if len(f.Data) != 1 {
		t.Errorf("a download is one key, got %d", len(f.Data))
	}
	for _, es := range []string{"auth-api", "auth-api-sa-json", "auth-api-env-file"} {
		h.waitReady(t, ns, es, externalsecret.ReasonSecretSynced)
	}

	// Unchanged, refreshes cost 304s: no download.
	downloads := func() (int, int) {
		return emu.CallsWithStatus("download", http.StatusOK), emu.CallsWithStatus("download", http.StatusNotModified)
	}
	d0, nm0 := downloads()
	time.Sleep(3 * time.Second)
	d1, nm1 := downloads()
	t.Logf("over 3s of 1s refreshes: %d downloads and %d answered 304 (before: %d and %d)", d1-d0, nm1-nm0, d0, nm0)
	if d1 != d0 || nm1-nm0 < 2 {
		t.Errorf("unchanged config: want no download and a 304 per refresh of each store, got %d downloads and %d 304s", d1-d0, nm1-nm0)
	}

	// A change is downloaded once per store and synced.
	emu.SetSecret("auth-api", "prd", "DB_USER", "root")
	start := time.Now()
	h.waitSecretData(t, ns, "auth-api", "DATABASE_URL", "postgres://root@db:5432")
	h.waitSecretData(t, ns, "auth-api", "DB_USER", "root")
	eventually(t, 20*time.Second, func() (bool, string) {
		s, err := h.getSecret(ns, "auth-api-env-file")
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(string(s.Data["DOPPLER_SECRETS_FILE"]), `DB_USER="root"`), "the file still has the old value"
	})
	t.Logf("the change reached the Secrets in %v", time.Since(start))
	time.Sleep(2 * time.Second)
	if d2, _ := downloads(); d2-d1 != 2 {
		t.Errorf("a change: want one download per store, 2, got %d", d2-d1)
	}
}

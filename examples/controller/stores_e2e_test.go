package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/doppleremu"
	"github.com/secretsync/secretsync/internal/jwtcheck"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/doppler"
	"github.com/secretsync/secretsync/secretstore"
)

// ESO's Doppler OIDC store, through the controller: the ServiceAccount
// token comes from the real TokenRequest API, the emulator checks it with
// the apiserver's key, and the Secret is written from the config the
// identity is bound to.
func TestE2EDopplerOIDC(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	pub, err := os.ReadFile(filepath.Join(h.env.Dir, "sa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwtcheck.ParsePublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	emu := doppleremu.New()
	t.Cleanup(emu.Close)
	emu.AddConfig("my-project", "my-config")
	emu.SetSecret("my-project", "my-config", "DB_URL", "postgres://"+canary+"@db")
	emu.AddOIDCIdentity(doppleremu.OIDCIdentity{
		ID: "00000000-0000-0000-0000-000000000000", Project: "my-project", Config: "my-config",
		Key: key, Audience: emu.URL, Subject: "system:serviceaccount:" + ns + ":doppler-oidc-sa",
	})
	if _, err := h.admin.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "doppler-oidc-sa"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.startController(t, controllerOpts{providers: []provider.Provider{
		doppler.New(doppler.WithBaseURL(emu.URL), doppler.WithHTTPClient(emu.Client())),
	}})
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
        oidcConfig:
          identity: "00000000-0000-0000-0000-000000000000"
          serviceAccountRef:
            name: doppler-oidc-sa
      project: my-project
      config: my-config
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: auth-api-db-url
  namespace: %[1]s
spec:
  secretStoreRef:
    kind: SecretStore
    name: doppler-auth-api
  target:
    name: auth-api-db-url
  data:
    - secretKey: DB_URL
      remoteRef:
        key: DB_URL
`, ns)
	h.waitSecretData(t, ns, "auth-api-db-url", "DB_URL", "postgres://"+canary+"@db")
	h.waitReady(t, ns, "auth-api-db-url", externalsecret.ReasonSecretSynced)
	h.waitStoreReady(t, resSecretStores, ns, "doppler-auth-api", secretstore.ReasonValid)
	if n := emu.Calls("oidc"); n < 1 {
		t.Errorf("%d OIDC logins", n)
	}
	h.scanForCanary(t, ns)
}

// The store fields that show in a store's status, through the
// controller: refreshInterval in ESO's two forms and the fake store's
// validationResult, as the conformance suite's examples write them.
func TestE2EStoreStatus(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	h.startController(t, controllerOpts{})
	h.apply(t, `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: seconds
  namespace: %[1]s
spec:
  refreshInterval: 300
  provider:
    fake:
      data:
      - {key: k, value: v}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: duration
  namespace: %[1]s
spec:
  refreshInterval: 1h
  provider:
    fake:
      data:
      - {key: k, value: v}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: hourly
  namespace: %[1]s
spec:
  refreshInterval: hourly
  provider:
    fake:
      data:
      - {key: k, value: v}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: unknown
  namespace: %[1]s
spec:
  provider:
    fake:
      validationResult: 1
      data:
      - {key: k, value: v}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: failing
  namespace: %[1]s
spec:
  provider:
    fake:
      validationResult: 2
      data:
      - {key: k, value: v}
`, ns)
	tests := map[string]struct {
		store, reason, message string
	}{
		"seconds":                  {"seconds", secretstore.ReasonValid, "store validated"},
		"a duration":               {"duration", secretstore.ReasonValid, "store validated"},
		"neither":                  {"hourly", secretstore.ReasonInvalidProviderConfig, `invalid store configuration: spec.refreshInterval "hourly" is neither a number of seconds nor a duration such as 1h`},
		"validationResult Unknown": {"unknown", secretstore.ReasonValid, "store validated: SecretStore/" + ns + "/unknown: spec.provider.fake.validationResult is Unknown: validation result Unknown"},
		"validationResult Error":   {"failing", secretstore.ReasonValidationFailed, "could not validate store: SecretStore/" + ns + "/failing: spec.provider.fake.validationResult is Error"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := h.waitStoreReady(t, resSecretStores, ns, tc.store, tc.reason); got != tc.message {
				t.Errorf("message %q, want %q", got, tc.message)
			}
		})
	}
}

package main

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// panickingProvider serves the vault field of a store with a client whose
// reads panic, with a secret value in the panic.
type panickingProvider struct{}

func (panickingProvider) Name() string { return "vault" }

func (panickingProvider) NewClient(context.Context, secretstore.GenericStore, provider.Credentials) (provider.Client, error) {
	return panickingClient{}, nil
}

type panickingClient struct{}

func (panickingClient) GetSecret(context.Context, provider.Ref) (provider.Secret, error) {
	panic("provider bug holding " + canary)
}

// nilClientProvider serves the doppler field of a store with neither a
// client nor an error.
type nilClientProvider struct{}

func (nilClientProvider) Name() string { return "doppler" }

func (nilClientProvider) NewClient(context.Context, secretstore.GenericStore, provider.Credentials) (provider.Client, error) {
	return nil, nil
}

const brokenStoresYAML = `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: panics, namespace: %[1]s}
spec:
  provider:
    vault:
      server: http://127.0.0.1:1
      path: secret
      version: v2
      auth: {tokenSecretRef: {name: vault-token, key: token}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: nil-client, namespace: %[1]s}
spec:
  provider:
    doppler:
      auth: {secretRef: {dopplerToken: {name: doppler-token, key: token}}}
`

// A provider that panics and one that returns no client leave the
// controller running: each fails its own ExternalSecrets, with the reason
// in their status, and the others sync.
func TestE2EBrokenProvidersLeaveTheHostRunning(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctrl := h.startController(t, controllerOpts{providers: []provider.Provider{panickingProvider{}, nilClientProvider{}}})
	ctrl.mem.Set("db", dbJSON("admin", "p1"))
	h.apply(t, brokenStoresYAML, ns)
	h.apply(t, storeYAML, "store", ns, "")
	h.apply(t, esYAML, "panics", ns, "1h", "panics", "panics", "Owner", "Retain")
	h.apply(t, esYAML, "nil-client", ns, "1h", "nil-client", "nil-client", "Owner", "Retain")

	for name, want := range map[string]string{"panics": "the provider panicked", "nil-client": "returned no client and no error"} {
		es := h.waitReady(t, ns, name, externalsecret.ReasonSecretSyncedError)
		if c := es.Status.ReadyCondition(); c.Status != corev1.ConditionFalse || !strings.Contains(c.Message, want) {
			t.Errorf("%s: Ready=%s %q; want False with %q", name, c.Status, c.Message, want)
		}
		if _, err := h.getSecret(ns, name); err == nil {
			t.Errorf("%s: a Secret was written for a broken store", name)
		}
	}
	// The controller is still there: a healthy ExternalSecret created after
	// the panics syncs.
	h.apply(t, esYAML, "healthy", ns, "1h", "store", "healthy", "Owner", "Retain")
	h.waitSecretData(t, ns, "healthy", "password", "p1")
	h.waitReady(t, ns, "healthy", externalsecret.ReasonSecretSynced)
	h.scanForCanary(t, ns)
	h.scanEventsForCanary(t, ns)
}

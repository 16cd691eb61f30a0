package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/azureemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/azure"
)

// The External Secrets Operator's Azure Key Vault examples: a service
// principal SecretStore and an ExternalSecret reading a secret, a
// certificate, a key and secrets found by name and tags. The real Azure
// SDK talks to the emulator under Azure's own names.
func TestE2EAzureServicePrincipal(t *testing.T) {
	h := setup(t)
	emu := azureemu.New("my-keyvault-name")
	t.Cleanup(emu.Close)
	const clientID = "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d"
	emu.AddApp(azureemu.App{ClientID: clientID, Secrets: []string{"sp-secret"}})
	emu.SetSecret("dev-secret-test", `{"username":"admin","password":"p1","note":"`+canary+`"}`)
	emu.SetSecret("example-one", "first-"+canary)
	emu.SetSecret("example-two", "second")
	emu.SetTags(azureemu.Secrets, "example-two", map[string]string{"author": "seb", "environment": "dev"})
	certDER, bundle := azureTestCertificate(t)
	if _, err := emu.ImportCertificate("dev-cert-test", bundle); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := emu.ImportKey("dev-key-test", &key.PublicKey); err != nil {
		t.Fatal(err)
	}

	ns := h.namespace(t, nil)
	h.startController(t, controllerOpts{providers: []provider.Provider{azure.New(azure.WithHTTPClient(emu.Client()))}})
	h.apply(t, `
apiVersion: v1
kind: Secret
metadata:
  name: azure-secret-sp
  namespace: %s
type: Opaque
stringData:
  ClientID: %s
  ClientSecret: sp-secret
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: example-secret-store
  namespace: %s
spec:
  provider:
    # provider type: azure keyvault
    azurekv:
      # azure tenant ID
      tenantId: "%s"
      # URL of your vault instance
      vaultUrl: "https://my-keyvault-name.vault.azure.net"
      authSecretRef:
        # points to the secret that contains
        # the azure service principal credentials
        clientId:
          name: azure-secret-sp
          key: ClientID
        clientSecret:
          name: azure-secret-sp
          key: ClientSecret
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: example-external-secret
  namespace: %s
spec:
  refreshInterval: 1s
  secretStoreRef:
    kind: SecretStore
    name: example-secret-store
  target:
    name: secret-to-be-created
    creationPolicy: Owner
  data:
  # name of the SECRET in the Azure KV (no prefix is by default a SECRET)
  - secretKey: dev-secret-test
    remoteRef:
      key: dev-secret-test
      property: password
  # explicit type and name of secret in the Azure KV
  - secretKey: dev-another-secret-test
    remoteRef:
      key: secret/dev-secret-test
      property: username
  # type/name of certificate in the Azure KV
  - secretKey: dev-cert-test
    remoteRef:
      key: cert/dev-cert-test
  # type/name of the public key in the Azure KV
  - secretKey: dev-key-test
    remoteRef:
      key: key/dev-key-test
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: example-find
  namespace: %s
spec:
  refreshInterval: 1h
  secretStoreRef:
    kind: SecretStore
    name: example-secret-store
  target:
    name: found
  dataFrom:
  - find:
      name:
        regexp: "^example"
  - find:
      tags:
        author: seb
        environment: dev
`, ns, clientID, ns, azureemu.TenantID, ns, ns)

	s := h.waitSecretData(t, ns, "secret-to-be-created", "dev-secret-test", "p1")
	h.waitReady(t, ns, "example-external-secret", externalsecret.ReasonSecretSynced)
	if got := string(s.Data["dev-another-secret-test"]); got != "admin" {
		t.Errorf("dev-another-secret-test: got %q", got)
	}
	if got, want := s.Data["dev-cert-test"], pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}); string(got) != string(want) {
		t.Errorf("dev-cert-test: got %d bytes, want the certificate as %d bytes of PEM", len(got), len(want))
	}
	var jwk map[string]any
	if err := json.Unmarshal(s.Data["dev-key-test"], &jwk); err != nil || jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
		t.Errorf("dev-key-test: want the key's JSON Web Key, got %s (%v)", s.Data["dev-key-test"], err)
	}
	found := h.waitSecretData(t, ns, "found", "example-two", "second")
	if len(found.Data) != 2 || string(found.Data["example-one"]) != "first-"+canary {
		t.Errorf("found: %d keys, want example-one and example-two", len(found.Data))
	}

	// Rotation: a new version becomes current and the Secret follows,
	// with the credential's token reused.
	emu.SetSecret("dev-secret-test", `{"username":"admin","password":"p2","note":"`+canary+`"}`)
	h.waitSecretData(t, ns, "secret-to-be-created", "dev-secret-test", "p2")
	t.Logf("emulator calls: %v", emu.CallCounts())
	if n := emu.Calls("token"); n != 1 {
		t.Errorf("%d token requests; the store's client and its token must be reused", n)
	}
	if g := emu.Grants(); len(g) != 1 || g[0].Method != "client_secret" || g[0].ClientID != clientID {
		t.Errorf("grants: %+v", g)
	}
}

// The External Secrets Operator's workload identity example: a
// ServiceAccount annotated with the application's client ID and tenant,
// named by the SecretStore. Its token comes from the real kube-apiserver's
// TokenRequest API, and the emulator's Entra ID accepts it only because it
// verifies against the apiserver's signing key.
func TestE2EAzureWorkloadIdentity(t *testing.T) {
	h := setup(t)
	emu := azureemu.New("xx-xxxx-xx")
	t.Cleanup(emu.Close)
	pub, err := os.ReadFile(filepath.Join(h.env.Dir, "sa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	issuer := h.env.Config.Host + "/"
	if err := emu.TrustIssuerPEM(issuer, pub); err != nil {
		t.Fatal(err)
	}
	ns := h.namespace(t, nil)
	const clientID = "7d8cdf74-1a2b-4c3d-8e9f-274d963d358b"
	subject := "system:serviceaccount:" + ns + ":workload-identity-sa"
	emu.AddApp(azureemu.App{ClientID: clientID, Federated: []azureemu.FederatedCredential{{Issuer: issuer, Subject: subject}}})
	emu.SetSecret("openclaw-api-keys", `{"anthropic":"sk-ant-1","note":"`+canary+`"}`)

	h.startController(t, controllerOpts{providers: []provider.Provider{azure.New(azure.WithHTTPClient(emu.Client()))}})
	h.apply(t, `
apiVersion: v1
kind: ServiceAccount
metadata:
  # this service account was created by azwi
  name: workload-identity-sa
  namespace: %s
  annotations:
    azure.workload.identity/client-id: %s
    azure.workload.identity/tenant-id: %s
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: example-secret-store
  namespace: %s
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      vaultUrl: "https://xx-xxxx-xx.vault.azure.net"
      serviceAccountRef:
        name: workload-identity-sa
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: openclaw-api-keys
  namespace: %s
spec:
  refreshInterval: 1s
  secretStoreRef:
    kind: SecretStore
    name: example-secret-store
  target:
    name: openclaw-api-keys
  data:
  - secretKey: ANTHROPIC_API_KEY
    remoteRef:
      key: openclaw-api-keys
      property: anthropic
`, ns, clientID, azureemu.TenantID, ns, ns)

	h.waitSecretData(t, ns, "openclaw-api-keys", "ANTHROPIC_API_KEY", "sk-ant-1")
	h.waitReady(t, ns, "openclaw-api-keys", externalsecret.ReasonSecretSynced)
	emu.SetSecret("openclaw-api-keys", `{"anthropic":"sk-ant-2","note":"`+canary+`"}`)
	h.waitSecretData(t, ns, "openclaw-api-keys", "ANTHROPIC_API_KEY", "sk-ant-2")

	g := emu.Grants()
	t.Logf("emulator calls: %v; grants: %d", emu.CallCounts(), len(g))
	if len(g) != 1 || g[0].Method != "federated" || g[0].Subject != subject || g[0].Issuer != issuer || g[0].ClientID != clientID {
		t.Errorf("want one federated grant for %s, got %+v", subject, g)
	}
}

// A store whose credentials Entra ID refuses reports it, readably and
// without the value, in the ExternalSecret's status.
func TestE2EAzureRefusedCredentials(t *testing.T) {
	h := setup(t)
	emu := azureemu.New("refusing-vault")
	t.Cleanup(emu.Close)
	const clientID = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	emu.AddApp(azureemu.App{ClientID: clientID, Secrets: []string{"the-right-one"}})
	emu.SetSecret("db", canary)
	ns := h.namespace(t, nil)
	h.startController(t, controllerOpts{providers: []provider.Provider{azure.New(azure.WithHTTPClient(emu.Client()))}})
	h.apply(t, `
apiVersion: v1
kind: Secret
metadata: {name: azure-secret-sp, namespace: %s}
stringData: {ClientID: %s, ClientSecret: wrong-%s}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: azure, namespace: %s}
spec:
  provider:
    azurekv:
      tenantId: %s
      vaultUrl: https://refusing-vault.vault.azure.net
      authSecretRef:
        clientId: {name: azure-secret-sp, key: ClientID}
        clientSecret: {name: azure-secret-sp, key: ClientSecret}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: %s}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: azure, kind: SecretStore}
  target: {name: db}
  data:
  - secretKey: password
    remoteRef: {key: db}
`, ns, clientID, canary, ns, azureemu.TenantID, ns)
	es := h.waitReady(t, ns, "db", externalsecret.ReasonSecretSyncedError)
	if c := es.Status.ReadyCondition(); c == nil || !strings.Contains(c.Message, "AADSTS7000215: Invalid client secret provided") {
		t.Errorf("Ready condition: %+v", c)
	}
}

// azureTestCertificate makes a self-signed certificate and returns its DER and a
// PEM bundle of it and its private key, as Key Vault imports them.
func azureTestCertificate(t *testing.T) ([]byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "dev-cert-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...)
}

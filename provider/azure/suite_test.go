package azure_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/azureemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/azure"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

// The suite runs the real Azure SDK against the in-process emulator, whose
// HTTP client resolves the vault's and Entra ID's public names to it, so
// the provider runs with its production settings.
const (
	namespace = "team-a"
	canary    = "CANARY-7c2e91ad"
	vaultName = "team-a-vault"
	appID     = "0b6f3a52-8d1e-4c7a-9e2b-1f4d5c6a7b80"
	appSecret = "app-secret-value"
)

type harness struct {
	t     *testing.T
	emu   *azureemu.Server
	creds *fake.Credentials
	opts  []azure.Option
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	emu := azureemu.New(vaultName)
	t.Cleanup(emu.Close)
	emu.AddApp(azureemu.App{ClientID: appID, Secrets: []string{appSecret}})
	h := &harness{t: t, emu: emu, creds: &fake.Credentials{}}
	h.creds.SetSecret(namespace, "azure", "client-id", appID)
	h.creds.SetSecret(namespace, "azure", "client-secret", appSecret)
	h.opts = []azure.Option{azure.WithHTTPClient(emu.Client()), azure.WithRetry(3, 10*time.Millisecond, 5*time.Second)}
	return h
}

// spec is a ServicePrincipal store of the vault with a client secret, as
// the External Secrets Operator's documentation writes it.
func (h *harness) spec() *secretstore.AzureKVProvider {
	vaultURL, tenant := h.emu.VaultURL, azureemu.TenantID
	return &secretstore.AzureKVProvider{
		VaultURL: &vaultURL,
		TenantID: &tenant,
		AuthSecretRef: &secretstore.AzureKVAuth{
			ClientID:     &secretstore.SecretKeySelector{Name: "azure", Key: "client-id"},
			ClientSecret: &secretstore.SecretKeySelector{Name: "azure", Key: "client-secret"},
		},
	}
}

func (h *harness) store(mod func(*secretstore.AzureKVProvider)) *secretstore.SecretStore {
	a := h.spec()
	if mod != nil {
		mod(a)
	}
	return &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "azure", Namespace: namespace},
		Spec:       secretstore.Spec{Provider: &secretstore.Provider{AzureKV: a}},
	}
}

func (h *harness) client(mod func(*secretstore.AzureKVProvider), opts ...azure.Option) provider.Client {
	h.t.Helper()
	c, err := h.newClient(h.store(mod), opts...)
	if err != nil {
		h.t.Fatalf("NewClient: %v", err)
	}
	return c
}

func (h *harness) newClient(store secretstore.GenericStore, opts ...azure.Option) (provider.Client, error) {
	return azure.New(append(append([]azure.Option(nil), h.opts...), opts...)...).NewClient(context.Background(), store, h.creds)
}

// read returns the value, or the property if prop is set, of ref.
func read(c provider.Client, ref provider.Ref, prop string) (string, error) {
	s, err := c.GetSecret(context.Background(), ref)
	if err != nil {
		return "", err
	}
	var v []byte
	if prop == "" {
		v, err = s.Value()
	} else {
		v, err = s.Property(prop)
	}
	return string(v), err
}

// checkErr fails t unless err contains want, or is nil when want is
// empty, and wraps provider.ErrNotFound exactly when notFound.
func checkErr(t *testing.T, err error, want string, notFound bool) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want an error containing %q, got %v", want, err)
	}
	if errors.Is(err, provider.ErrNotFound) != notFound {
		t.Errorf("errors.Is(err, provider.ErrNotFound) = %v, want %v: %v", !notFound, notFound, err)
	}
}

// newCertificate makes a self-signed certificate and returns it with a PEM
// bundle of it and its PKCS#8 private key.
func newCertificate(t *testing.T, cn string) (*x509.Certificate, *rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	bundle := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...)
	return cert, key, bundle
}

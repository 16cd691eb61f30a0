package gcp_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/gcpemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/provider/gcp"
	"github.com/secretsync/secretsync/secretstore"
)

// The suite runs the real Secret Manager client and oauth2 token sources
// against the in-process emulator, which checks every bearer token.
const (
	project   = "acme-prod"
	namespace = "team-a"
	reader    = "reader@acme-prod.iam.gserviceaccount.com"
	canary    = "CANARY-7f3a9e21"
)

type harness struct {
	t     *testing.T
	emu   *gcpemu.Server
	creds *fake.Credentials
	key   []byte
}

// keys holds one service-account key per test binary: generating RSA keys
// is the slowest part of a harness.
var (
	keyOnce sync.Once
	keyPriv *rsa.PrivateKey
)

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, emu: gcpemu.New(project), creds: &fake.Credentials{}}
	t.Cleanup(h.emu.Close)
	h.emu.RequireAuthentication()
	key, err := h.emu.NewServiceAccountKey(reader)
	if err != nil {
		t.Fatal(err)
	}
	h.key = key
	h.creds.SetSecret(namespace, "gcp", "key.json", string(key))
	// The ServiceAccount workload identity stores name, unannotated.
	h.creds.SetAnnotations(namespace, "reader", nil)
	return h
}

// opts point the provider at the emulator.
func (h *harness) opts() []gcp.Option {
	return []gcp.Option{
		gcp.WithEndpoint(h.emu.Addr),
		gcp.WithGRPCDialOptions(h.emu.DialOptions()...),
		gcp.WithTokenURL(h.emu.TokenURL()),
		gcp.WithSTSEndpoint(h.emu.STSURL()),
		gcp.WithIAMCredentialsEndpoint(h.emu.URL),
		gcp.WithRetry(3, 10*time.Millisecond),
	}
}

// store returns a SecretStore authenticated with the service-account key,
// changed by mod.
func (h *harness) store(mod func(*secretstore.GCPSMProvider)) *secretstore.SecretStore {
	g := &secretstore.GCPSMProvider{
		ProjectID: project,
		Auth: secretstore.GCPSMAuth{SecretRef: &secretstore.GCPSMAuthSecretRef{
			SecretAccessKey: secretstore.SecretKeySelector{Name: "gcp", Key: "key.json"},
		}},
	}
	if mod != nil {
		mod(g)
	}
	return &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "gcp", Namespace: namespace},
		Spec:       secretstore.Spec{Provider: &secretstore.Provider{GCPSM: g}},
	}
}

func (h *harness) client(mod func(*secretstore.GCPSMProvider), opts ...gcp.Option) provider.Client {
	h.t.Helper()
	c, err := h.newClient(h.store(mod), opts...)
	if err != nil {
		h.t.Fatalf("NewClient: %v", err)
	}
	return c
}

func (h *harness) newClient(store secretstore.GenericStore, opts ...gcp.Option) (provider.Client, error) {
	c, err := gcp.New(append(h.opts(), opts...)...).NewClient(context.Background(), store, h.creds)
	if err == nil {
		h.t.Cleanup(func() { c.(provider.Closer).Close(context.Background()) })
	}
	return c, err
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

// signer issues ServiceAccount tokens as a kube-apiserver would, for
// tests that need no real one.
type signer struct {
	issuer string
	key    *rsa.PrivateKey
}

func newSigner(t *testing.T, issuer string) *signer {
	keyOnce.Do(func() {
		var err error
		if keyPriv, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return &signer{issuer: issuer, key: keyPriv}
}

func (s *signer) token(_ context.Context, ns, name string, audiences []string, exp time.Duration) (string, error) {
	now := time.Now()
	return signJWT(s.key, map[string]any{
		"iss": s.issuer, "sub": "system:serviceaccount:" + ns + ":" + name, "aud": audiences,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(exp).Unix(),
	}), nil
}

func signJWT(key *rsa.PrivateKey, claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		panic(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

package onepassword_test

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/onepassemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/provider/onepassword"
	"github.com/secretsync/secretsync/secretstore"
)

const (
	namespace = "team-a"
	canary    = "CANARY-1p-7e3a9c"
)

// harness is an emulated Connect server with two vaults, "staging"
// (priority 1) and "shared" (priority 2), and a credentials reader that
// holds the emulator's token.
type harness struct {
	t     *testing.T
	emu   *onepassemu.Server
	creds *fake.Credentials
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	emu := onepassemu.New()
	t.Cleanup(emu.Close)
	emu.AddVault("staging")
	emu.AddVault("shared")
	creds := &fake.Credentials{}
	creds.SetSecret(namespace, "op-token", "token", onepassemu.Token+"\n")
	return &harness{t: t, emu: emu, creds: creds}
}

func (h *harness) store(mod func(*secretstore.OnePasswordProvider)) *secretstore.SecretStore {
	op := &secretstore.OnePasswordProvider{
		ConnectHost: h.emu.URL,
		Vaults:      map[string]int{"staging": 1, "shared": 2},
		Auth: &secretstore.OnePasswordAuth{SecretRef: &secretstore.OnePasswordAuthSecretRef{
			ConnectToken: secretstore.SecretKeySelector{Name: "op-token", Key: "token"},
		}},
	}
	if mod != nil {
		mod(op)
	}
	return &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "op", Namespace: namespace},
		Spec:       secretstore.Spec{Provider: &secretstore.Provider{OnePassword: op}},
	}
}

func (h *harness) client(mod func(*secretstore.OnePasswordProvider)) provider.Client {
	h.t.Helper()
	c, err := onepassword.New(onepassword.WithHTTPClient(h.emu.Client())).NewClient(context.Background(), h.store(mod), h.creds)
	if err != nil {
		h.t.Fatalf("NewClient: %v", err)
	}
	return c
}

// read reads a property of key, or its value when property is empty.
func read(c provider.Client, key, property string) (string, error) {
	s, err := c.GetSecret(context.Background(), provider.Ref{Key: key})
	if err != nil {
		return "", err
	}
	var v []byte
	if property == "" {
		v, err = s.Value()
	} else {
		v, err = s.Property(property)
	}
	return string(v), err
}

package doppler_test

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/doppleremu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/doppler"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

const (
	namespace    = "team-a"
	canary       = "CANARY-dp-52c0f1"
	serviceToken = "dp.st.prd.emulated"
)

// harness is an emulated Doppler with the config auth-api/prd, a service
// token bound to it, and a credentials reader holding that token (under
// doppler-token-auth-api) and the personal token (under doppler-personal).
type harness struct {
	t     *testing.T
	emu   *doppleremu.Server
	creds *fake.Credentials
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	emu := doppleremu.New()
	t.Cleanup(emu.Close)
	emu.AddConfig("auth-api", "prd")
	emu.AddServiceToken(serviceToken, "auth-api", "prd")
	creds := &fake.Credentials{}
	creds.SetSecret(namespace, "doppler-token-auth-api", "dopplerToken", serviceToken+"\n")
	creds.SetSecret(namespace, "doppler-personal", "dopplerToken", doppleremu.PersonalToken)
	return &harness{t: t, emu: emu, creds: creds}
}

// store is the ESO documentation's store: a service token, no project or
// config.
func (h *harness) store(mod func(*secretstore.DopplerProvider)) *secretstore.SecretStore {
	d := &secretstore.DopplerProvider{Auth: &secretstore.DopplerAuth{SecretRef: &secretstore.DopplerAuthSecretRef{
		DopplerToken: secretstore.SecretKeySelector{Name: "doppler-token-auth-api", Key: "dopplerToken"},
	}}}
	if mod != nil {
		mod(d)
	}
	return &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "doppler-auth-api", Namespace: namespace},
		Spec:       secretstore.Spec{Provider: &secretstore.Provider{Doppler: d}},
	}
}

func (h *harness) client(mod func(*secretstore.DopplerProvider), opts ...doppler.Option) provider.Client {
	h.t.Helper()
	opts = append([]doppler.Option{doppler.WithBaseURL(h.emu.URL), doppler.WithHTTPClient(h.emu.Client()), doppler.WithRetry(3, 5*time.Second)}, opts...)
	c, err := doppler.New(opts...).NewClient(context.Background(), h.store(mod), h.creds)
	if err != nil {
		h.t.Fatalf("NewClient: %v", err)
	}
	return c
}

// personal uses the personal token, which must name project and config.
func personal(project, config string) func(*secretstore.DopplerProvider) {
	return func(d *secretstore.DopplerProvider) {
		d.Auth.SecretRef.DopplerToken.Name = "doppler-personal"
		d.Project, d.Config = project, config
	}
}

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

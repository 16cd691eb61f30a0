package kubernetes_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// No error carries a secret value or a credential, whatever fails.
func TestErrorsNeverCarryValues(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	storeNS, remoteNS := s.reader(t)
	denied := s.namespace(t, "denied")
	s.secret(t, remoteNS, "db", map[string]string{
		"password": canary,
		"json":     `{"password":"` + canary + `"}`,
		"text":     "not json " + canary,
	}, map[string]string{"app": "web"}, map[string]string{"note": canary})
	s.secret(t, denied, "db", map[string]string{"password": canary}, nil, nil)
	// Credentials that hold the canary, each wrong in its own way.
	s.secret(t, storeNS, "bogus-token", map[string]string{"token": "bogus-" + canary}, nil, nil)
	s.secret(t, storeNS, "bad-cert", map[string]string{"tls.crt": "cert-" + canary, "tls.key": "key-" + canary}, nil, nil)
	s.secret(t, storeNS, "bad-ca", map[string]string{"ca.crt": "ca-" + canary}, nil, nil)

	var errs []error
	collect := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: expected an error", what)
			return
		}
		errs = append(errs, err)
	}
	p := s.local()
	c := s.client(t, p, store(storeNS, remoteNS, "reader"))
	for _, prop := range []string{"missing", "json.missing", "text.password", "password.x"} {
		sec, err := c.GetSecret(ctx, provider.Ref{Key: "db"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = sec.Property(prop)
		collect("property "+prop, err)
	}
	meta, err := c.GetSecret(ctx, provider.Ref{Key: "db", Metadata: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = meta.Property("annotations.missing")
	collect("metadata", err)
	_, err = c.GetSecret(ctx, provider.Ref{Key: "gone"})
	collect("missing Secret", err)

	deniedClient := s.client(t, p, store(storeNS, denied, "reader"))
	_, err = deniedClient.GetSecret(ctx, provider.Ref{Key: "db"})
	collect("denied", err)
	_, err = deniedClient.(provider.Finder).Find(ctx, provider.Find{})
	collect("denied find", err)
	collect("denied validate", deniedClient.(provider.Validator).Validate(ctx))

	withAuth := func(mod func(*secretstore.KubernetesProvider)) *secretstore.SecretStore {
		k := &secretstore.KubernetesProvider{RemoteNamespace: remoteNS}
		mod(k)
		return &secretstore.SecretStore{
			ObjectMeta: metav1.ObjectMeta{Namespace: storeNS, Name: "k8s"},
			Spec:       secretstore.Spec{Provider: &secretstore.Provider{Kubernetes: k}},
		}
	}
	bogus := s.client(t, p, withAuth(func(k *secretstore.KubernetesProvider) {
		k.Auth = &secretstore.KubernetesAuth{Token: &secretstore.KubernetesTokenAuth{BearerToken: secretstore.SecretKeySelector{Name: "bogus-token", Key: "token"}}}
	}))
	_, err = bogus.GetSecret(ctx, provider.Ref{Key: "db"})
	collect("unauthorized", err)
	collect("unauthorized validate", bogus.(provider.Validator).Validate(ctx))

	for name, st := range map[string]*secretstore.SecretStore{
		"a certificate that is not PEM": withAuth(func(k *secretstore.KubernetesProvider) {
			k.Auth = &secretstore.KubernetesAuth{Cert: &secretstore.KubernetesCertAuth{
				ClientCert: secretstore.SecretKeySelector{Name: "bad-cert", Key: "tls.crt"},
				ClientKey:  secretstore.SecretKeySelector{Name: "bad-cert", Key: "tls.key"},
			}}
		}),
		"a CA that is not PEM": withAuth(func(k *secretstore.KubernetesProvider) {
			k.Auth = &secretstore.KubernetesAuth{ServiceAccount: &secretstore.ServiceAccountSelector{Name: "reader"}}
			k.Server.CAProvider = &secretstore.CAProvider{Type: secretstore.CAProviderTypeSecret, Name: "bad-ca", Key: "ca.crt"}
		}),
		"a kubeconfig that is not one": withAuth(func(k *secretstore.KubernetesProvider) {
			k.AuthRef = &secretstore.SecretKeySelector{Name: "bad-cert", Key: "tls.key"}
		}),
	} {
		_, err := p.NewClient(ctx, st, s.creds)
		collect(name, err)
	}

	tokens := s.creds.tokens()
	if len(tokens) == 0 {
		t.Fatal("no ServiceAccount token was issued")
	}
	for _, err := range errs {
		msg := err.Error()
		if strings.Contains(msg, canary) {
			t.Errorf("an error carries a value: %v", err)
		}
		for _, tok := range tokens {
			if strings.Contains(msg, tok) {
				t.Errorf("an error carries a ServiceAccount token: %v", err)
			}
		}
	}
	t.Logf("checked %d errors against the canary and %d issued tokens", len(errs), len(tokens))
}

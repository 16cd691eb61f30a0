package kubernetes_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/provider/kubernetes"
	"github.com/secretsync/secretsync/secretstore"
)

func TestValidateStore(t *testing.T) {
	valid := func() *secretstore.KubernetesProvider {
		return &secretstore.KubernetesProvider{
			RemoteNamespace: "source",
			Auth:            &secretstore.KubernetesAuth{ServiceAccount: &secretstore.ServiceAccountSelector{Name: "reader"}},
		}
	}
	other := "other"
	token := &secretstore.KubernetesTokenAuth{BearerToken: secretstore.SecretKeySelector{Name: "t", Key: "token"}}
	cert := &secretstore.KubernetesCertAuth{
		ClientCert: secretstore.SecretKeySelector{Name: "c", Key: "tls.crt"},
		ClientKey:  secretstore.SecretKeySelector{Name: "c", Key: "tls.key"},
	}
	authRef := &secretstore.SecretKeySelector{Name: "kc", Key: "config"}
	tests := map[string]struct {
		mod     func(*secretstore.KubernetesProvider)
		cluster bool
		want    string // in the error; empty when valid
	}{
		"a ServiceAccount":                    {},
		"the default remote namespace":        {mod: func(k *secretstore.KubernetesProvider) { k.RemoteNamespace = "" }},
		"the CRD's default server":            {mod: func(k *secretstore.KubernetesProvider) { k.Server.URL = "kubernetes.default" }},
		"the local cluster by its https name": {mod: func(k *secretstore.KubernetesProvider) { k.Server.URL = "https://kubernetes.default.svc:443/" }},
		"a remote https server":               {mod: func(k *secretstore.KubernetesProvider) { k.Server.URL = "https://10.0.0.1:6443" }},
		"a bearer token":                      {mod: func(k *secretstore.KubernetesProvider) { k.Auth = &secretstore.KubernetesAuth{Token: token} }},
		"a client certificate":                {mod: func(k *secretstore.KubernetesProvider) { k.Auth = &secretstore.KubernetesAuth{Cert: cert} }},
		"a kubeconfig":                        {mod: func(k *secretstore.KubernetesProvider) { k.Auth, k.AuthRef = nil, authRef }},
		"a kubeconfig, with the CRD's default server": {mod: func(k *secretstore.KubernetesProvider) {
			k.Auth, k.AuthRef, k.Server.URL = nil, authRef, "kubernetes.default"
		}},
		"a CA from kube-root-ca.crt": {mod: func(k *secretstore.KubernetesProvider) {
			k.Server.CAProvider = &secretstore.CAProvider{Type: secretstore.CAProviderTypeConfigMap, Name: "kube-root-ca.crt", Key: "ca.crt"}
		}},
		"a cluster store naming its ServiceAccount's namespace": {cluster: true, mod: func(k *secretstore.KubernetesProvider) {
			k.Auth.ServiceAccount.Namespace = &other
		}},

		"no auth":                               {mod: func(k *secretstore.KubernetesProvider) { k.Auth = nil }, want: "set one of auth.serviceAccount, auth.token, auth.cert and authRef"},
		"an empty auth":                         {mod: func(k *secretstore.KubernetesProvider) { k.Auth = &secretstore.KubernetesAuth{} }, want: "set one of"},
		"two auth methods":                      {mod: func(k *secretstore.KubernetesProvider) { k.Auth.Token = token }, want: "sets auth.token and auth.serviceAccount; set exactly one"},
		"auth and authRef":                      {mod: func(k *secretstore.KubernetesProvider) { k.AuthRef = authRef }, want: "set exactly one"},
		"a ServiceAccount with no name":         {mod: func(k *secretstore.KubernetesProvider) { k.Auth.ServiceAccount.Name = "" }, want: "auth.serviceAccount.name: required"},
		"another namespace's account":           {mod: func(k *secretstore.KubernetesProvider) { k.Auth.ServiceAccount.Namespace = &other }, want: `may only name namespace "team-a"`},
		"a cluster store without its namespace": {cluster: true, want: "must set namespace"},
		"a token without a key": {mod: func(k *secretstore.KubernetesProvider) {
			k.Auth = &secretstore.KubernetesAuth{Token: &secretstore.KubernetesTokenAuth{BearerToken: secretstore.SecretKeySelector{Name: "t"}}}
		}, want: "auth.token.bearerToken: needs name and key"},
		"a client key from another namespace": {mod: func(k *secretstore.KubernetesProvider) {
			c := *cert
			c.ClientKey.Namespace = &other
			k.Auth = &secretstore.KubernetesAuth{Cert: &c}
		}, want: "auth.cert.clientKey"},
		"a kubeconfig with a server": {mod: func(k *secretstore.KubernetesProvider) {
			k.Auth, k.AuthRef, k.Server.URL = nil, authRef, "https://10.0.0.1"
		}, want: "leave server unset"},
		"a plain http server":         {mod: func(k *secretstore.KubernetesProvider) { k.Server.URL = "http://10.0.0.1:8080" }, want: "server.url"},
		"a server without a scheme":   {mod: func(k *secretstore.KubernetesProvider) { k.Server.URL = "10.0.0.1:6443" }, want: "server.url"},
		"a CA bundle that is not PEM": {mod: func(k *secretstore.KubernetesProvider) { k.Server.CABundle = []byte("nope") }, want: "server.caBundle"},
		"a CA provider of no type": {mod: func(k *secretstore.KubernetesProvider) {
			k.Server.CAProvider = &secretstore.CAProvider{Name: "x", Key: "k"}
		}, want: "server.caProvider.type"},
		"a CA provider without a key": {mod: func(k *secretstore.KubernetesProvider) {
			k.Server.CAProvider = &secretstore.CAProvider{Type: "Secret", Name: "x"}
		}, want: "needs name and key"},
		"a remote namespace with caps": {mod: func(k *secretstore.KubernetesProvider) { k.RemoteNamespace = "Source" }, want: "remoteNamespace"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			k := valid()
			if tc.mod != nil {
				tc.mod(k)
			}
			spec := secretstore.Spec{Provider: &secretstore.Provider{Kubernetes: k}}
			var st secretstore.GenericStore = &secretstore.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "team-a"}, Spec: spec}
			if tc.cluster {
				st = &secretstore.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: spec}
			}
			err := kubernetes.New().ValidateStore(st)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("want valid, got %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("want an error containing %q, got none", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
	t.Run("another provider's store", func(t *testing.T) {
		st := &secretstore.SecretStore{Spec: secretstore.Spec{Provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{}}}}
		if err := kubernetes.New().ValidateStore(st); err == nil {
			t.Error("want an error")
		}
	})
}

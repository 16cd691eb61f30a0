package kubernetes_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/kubernetes"
	"github.com/secretsync/secretsync/secretstore"
)

// Every auth method reads with the credential it names, against the local
// cluster or a server named by URL, trusting the CA the store gives.
func TestAuthMethods(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	storeNS, remoteNS := s.reader(t)
	s.secret(t, remoteNS, "db", map[string]string{"password": canary}, nil, nil)

	readerToken, err := s.creds.ServiceAccountToken(ctx, storeNS, "reader", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	userCfg, err := s.env.UserConfig("cert-reader")
	if err != nil {
		t.Fatal(err)
	}
	s.grantRead(t, remoteNS, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "cert-reader"})
	ca := string(s.env.Config.CAData)
	s.secret(t, storeNS, "reader-token", map[string]string{"token": readerToken}, nil, nil)
	s.secret(t, storeNS, "client", map[string]string{"tls.crt": string(userCfg.CertData), "tls.key": string(userCfg.KeyData)}, nil, nil)
	s.secret(t, storeNS, "cluster-ca", map[string]string{"ca.crt": ca}, nil, nil)
	s.secret(t, storeNS, "kubeconfig", map[string]string{"config": kubeconfigFor(t, s.env.Config.Host, s.env.Config.CAData, func(u *clientcmdapi.AuthInfo) { u.Token = readerToken })}, nil, nil)
	if _, err := s.admin.CoreV1().ConfigMaps(storeNS).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt"}, Data: map[string]string{"ca.crt": ca},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	remote := secretstore.KubernetesServer{URL: s.env.Config.Host, CAProvider: &secretstore.CAProvider{Type: secretstore.CAProviderTypeSecret, Name: "cluster-ca", Key: "ca.crt"}}
	tests := map[string]struct {
		p    *kubernetes.Provider
		spec secretstore.KubernetesProvider
	}{
		"a bearer token from a Secret": {p: s.local(), spec: secretstore.KubernetesProvider{
			Auth: &secretstore.KubernetesAuth{Token: &secretstore.KubernetesTokenAuth{BearerToken: secretstore.SecretKeySelector{Name: "reader-token", Key: "token"}}},
		}},
		"a client certificate, from a server named by URL, with a CA from a Secret": {p: kubernetes.New(), spec: secretstore.KubernetesProvider{
			Server: remote,
			Auth: &secretstore.KubernetesAuth{Cert: &secretstore.KubernetesCertAuth{
				ClientCert: secretstore.SecretKeySelector{Name: "client", Key: "tls.crt"},
				ClientKey:  secretstore.SecretKeySelector{Name: "client", Key: "tls.key"},
			}},
		}},
		"a ServiceAccount, with the local cluster's CA from kube-root-ca.crt": {p: kubernetes.New(kubernetes.WithLocalCluster(anonymousWithoutCA(s))), spec: secretstore.KubernetesProvider{
			Server: secretstore.KubernetesServer{CAProvider: &secretstore.CAProvider{Type: secretstore.CAProviderTypeConfigMap, Name: "kube-root-ca.crt", Key: "ca.crt"}},
			Auth:   &secretstore.KubernetesAuth{ServiceAccount: &secretstore.ServiceAccountSelector{Name: "reader"}},
		}},
		"a ServiceAccount, from a server named by URL": {p: kubernetes.New(), spec: secretstore.KubernetesProvider{
			Server: remote,
			Auth:   &secretstore.KubernetesAuth{ServiceAccount: &secretstore.ServiceAccountSelector{Name: "reader"}},
		}},
		"a kubeconfig from a Secret": {p: kubernetes.New(), spec: secretstore.KubernetesProvider{
			AuthRef: &secretstore.SecretKeySelector{Name: "kubeconfig", Key: "config"},
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec := tc.spec
			spec.RemoteNamespace = remoteNS
			st := &secretstore.SecretStore{
				ObjectMeta: metav1.ObjectMeta{Namespace: storeNS, Name: "k8s"},
				Spec:       secretstore.Spec{Provider: &secretstore.Provider{Kubernetes: &spec}},
			}
			if err := tc.p.ValidateStore(st); err != nil {
				t.Fatalf("ValidateStore: %v", err)
			}
			c := s.client(t, tc.p, st)
			if err := c.(provider.Validator).Validate(ctx); err != nil {
				t.Errorf("Validate: %v", err)
			}
			got, err := read(ctx, c, provider.Ref{Key: "db"}, "password")
			if err != nil || string(got) != canary {
				t.Errorf("read: %v", err)
			}
		})
	}

	t.Run("a CA the server's certificate does not chain to", func(t *testing.T) {
		st := &secretstore.SecretStore{
			ObjectMeta: metav1.ObjectMeta{Namespace: storeNS, Name: "k8s"},
			Spec: secretstore.Spec{Provider: &secretstore.Provider{Kubernetes: &secretstore.KubernetesProvider{
				RemoteNamespace: remoteNS,
				Server:          secretstore.KubernetesServer{CABundle: otherCA(t)},
				Auth:            &secretstore.KubernetesAuth{Token: &secretstore.KubernetesTokenAuth{BearerToken: secretstore.SecretKeySelector{Name: "reader-token", Key: "token"}}},
			}}},
		}
		c := s.client(t, s.local(), st)
		err := c.(provider.Validator).Validate(ctx)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("Validate: want a certificate error, got %v", err)
		}
		_, err = c.GetSecret(ctx, provider.Ref{Key: "db"})
		if err == nil || errors.Is(err, provider.ErrNotFound) {
			t.Errorf("GetSecret: want an error that is not ErrNotFound, got %v", err)
		}
	})

	t.Run("a token the apiserver does not know", func(t *testing.T) {
		s.secret(t, storeNS, "bogus-token", map[string]string{"token": "bogus-" + canary}, nil, nil)
		st := &secretstore.SecretStore{
			ObjectMeta: metav1.ObjectMeta{Namespace: storeNS, Name: "k8s"},
			Spec: secretstore.Spec{Provider: &secretstore.Provider{Kubernetes: &secretstore.KubernetesProvider{
				RemoteNamespace: remoteNS,
				Auth:            &secretstore.KubernetesAuth{Token: &secretstore.KubernetesTokenAuth{BearerToken: secretstore.SecretKeySelector{Name: "bogus-token", Key: "token"}}},
			}}},
		}
		c := s.client(t, s.local(), st)
		_, err := c.GetSecret(ctx, provider.Ref{Key: "db"})
		if !errors.Is(err, kubernetes.ErrUnauthorized) || !strings.Contains(err.Error(), remoteNS+"/db") {
			t.Errorf("want ErrUnauthorized naming the Secret, got %v", err)
		}
		if err := c.(provider.Validator).Validate(ctx); !errors.Is(err, kubernetes.ErrUnauthorized) {
			t.Errorf("Validate: want ErrUnauthorized, got %v", err)
		}
	})
}

// A kubeconfig is used only for what it holds inline: one that would make
// the controller read its own files, run a program or skip TLS checks is
// refused when the client is built.
func TestKubeconfigRefusals(t *testing.T) {
	s := newSuite(t)
	storeNS := s.namespace(t, "app")
	host, ca := s.env.Config.Host, s.env.Config.CAData
	token := "token-" + canary
	tests := map[string]struct {
		kubeconfig string
		want       string
	}{
		"a token file":       {kubeconfigFor(t, host, ca, func(u *clientcmdapi.AuthInfo) { u.TokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token" }), "tokenFile names a file"},
		"a client cert file": {kubeconfigFor(t, host, ca, func(u *clientcmdapi.AuthInfo) { u.ClientCertificate, u.ClientKey = "/etc/tls.crt", "/etc/tls.key" }), "name files"},
		"an exec plugin": {kubeconfigFor(t, host, ca, func(u *clientcmdapi.AuthInfo) {
			u.Exec = &clientcmdapi.ExecConfig{Command: "cat", Args: []string{"/etc/passwd"}, APIVersion: "client.authentication.k8s.io/v1"}
		}), "exec plugins are not run"},
		"an auth provider":           {kubeconfigFor(t, host, ca, func(u *clientcmdapi.AuthInfo) { u.AuthProvider = &clientcmdapi.AuthProviderConfig{Name: "gcp"} }), "auth providers"},
		"no credential":              {kubeconfigFor(t, host, ca, func(*clientcmdapi.AuthInfo) {}), "has no token"},
		"a CA file":                  {kubeconfigFor(t, host, nil, func(u *clientcmdapi.AuthInfo) { u.Token = token }, func(c *clientcmdapi.Cluster) { c.CertificateAuthority = "/etc/ca.crt" }), "certificate-authority names a file"},
		"no TLS verification":        {kubeconfigFor(t, host, nil, func(u *clientcmdapi.AuthInfo) { u.Token = token }, func(c *clientcmdapi.Cluster) { c.InsecureSkipTLSVerify = true }), "insecure-skip-tls-verify"},
		"a plain http server":        {kubeconfigFor(t, "http://127.0.0.1:8080", ca, func(u *clientcmdapi.AuthInfo) { u.Token = token }), "not an https URL"},
		"no current context":         {"apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {token: " + token + "}\n", "no current context"},
		"something else than a YAML": {"token: [" + canary, "is not a kubeconfig"},
	}
	for name, kc := range tests {
		t.Run(name, func(t *testing.T) {
			secretName := strings.ToLower(strings.ReplaceAll(name, " ", "-"))
			s.secret(t, storeNS, secretName, map[string]string{"config": kc.kubeconfig}, nil, nil)
			st := &secretstore.SecretStore{
				ObjectMeta: metav1.ObjectMeta{Namespace: storeNS, Name: "k8s"},
				Spec: secretstore.Spec{Provider: &secretstore.Provider{Kubernetes: &secretstore.KubernetesProvider{
					AuthRef: &secretstore.SecretKeySelector{Name: secretName, Key: "config"},
				}}},
			}
			_, err := s.local().NewClient(context.Background(), st, s.creds)
			if err == nil || !strings.Contains(err.Error(), kc.want) {
				t.Fatalf("want an error containing %q, got %v", kc.want, err)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("the error shows the kubeconfig's token: %v", err)
			}
		})
	}
}

// kubeconfigFor returns a kubeconfig for server, trusting ca, whose user
// user sets.
func kubeconfigFor(t *testing.T, server string, ca []byte, user func(*clientcmdapi.AuthInfo), cluster ...func(*clientcmdapi.Cluster)) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	c := &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	for _, f := range cluster {
		f(c)
	}
	u := &clientcmdapi.AuthInfo{}
	user(u)
	kc.Clusters["remote"] = c
	kc.AuthInfos["reader"] = u
	kc.Contexts["remote"] = &clientcmdapi.Context{Cluster: "remote", AuthInfo: "reader", Namespace: "ignored"}
	kc.CurrentContext = "remote"
	b, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// anonymousWithoutCA is the local cluster's address alone, so that only a
// CA from the store lets a client trust it.
func anonymousWithoutCA(s *suite) *rest.Config {
	cfg := rest.CopyConfig(s.env.Config)
	cfg.CAData = nil
	return cfg
}

// otherCA returns the PEM certificate of a CA that signed nothing the
// apiserver presents.
func otherCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

package kubernetes

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// requestTimeout bounds each request, unless the local cluster's
// configuration sets a timeout, so that a server that hangs cannot hold a
// worker forever.
const requestTimeout = 30 * time.Second

// The rate a client sends requests at, unless the local cluster's
// configuration says otherwise.
const (
	defaultQPS   = 50
	defaultBurst = 100
)

// restConfig returns the configuration of a store's clients: the server,
// the CA to trust and the store's credentials, and nothing of the
// controller's. Every credential is read here, while the client is built,
// so that a host that watches what NewClient read notices when one
// changes.
func (p *Provider) restConfig(ctx context.Context, store secretstore.GenericStore, spec *secretstore.KubernetesProvider, creds provider.Credentials) (*rest.Config, error) {
	var (
		cfg *rest.Config
		err error
	)
	if spec.AuthRef != nil {
		cfg, err = kubeconfig(ctx, store, *spec.AuthRef, creds)
	} else {
		cfg, err = p.server(ctx, store, &spec.Server, creds)
		if err == nil {
			err = p.authenticate(ctx, store, spec.Auth, creds, cfg)
		}
	}
	if err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = requestTimeout
	}
	if cfg.QPS == 0 {
		// client-go's default of 5 would throttle a store that many
		// ExternalSecrets read at once.
		cfg.QPS, cfg.Burst = defaultQPS, defaultBurst
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "secretsync/" + Name
	}
	return cfg, nil
}

// server returns a configuration that reaches and trusts the store's
// server and carries no credentials.
func (p *Provider) server(ctx context.Context, store secretstore.GenericStore, s *secretstore.KubernetesServer, creds provider.Credentials) (*rest.Config, error) {
	var cfg *rest.Config
	if isLocal(s.URL) {
		if p.local == nil {
			return nil, fmt.Errorf("spec.provider.kubernetes.server.url %q means the local cluster, and this controller knows none: set an https URL", s.URL)
		}
		cfg = rest.CopyConfig(p.local)
	} else {
		cfg = &rest.Config{Host: s.URL}
	}
	ca, err := caBundle(ctx, store, s, creds)
	if err != nil {
		return nil, err
	}
	if ca != nil {
		cfg.CAData, cfg.CAFile = ca, ""
	}
	return cfg, nil
}

// caBundle returns the PEM bundle of server.caBundle and server.caProvider
// together, or nil when the store sets neither.
func caBundle(ctx context.Context, store secretstore.GenericStore, s *secretstore.KubernetesServer, creds provider.Credentials) ([]byte, error) {
	if len(s.CABundle) == 0 && s.CAProvider == nil {
		return nil, nil
	}
	bundle := append([]byte(nil), s.CABundle...)
	if cp := s.CAProvider; cp != nil {
		const field = "spec.provider.kubernetes.server.caProvider"
		ns, err := provider.CredentialNamespace(store, cp.Namespace)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		if creds == nil {
			return nil, fmt.Errorf("%s: no credentials reader to read %s %s/%s", field, cp.Type, ns, cp.Name)
		}
		var pem []byte
		switch cp.Type {
		case secretstore.CAProviderTypeSecret:
			pem, err = creds.SecretValue(ctx, ns, cp.Name, cp.Key)
		case secretstore.CAProviderTypeConfigMap:
			pem, err = creds.ConfigMapValue(ctx, ns, cp.Name, cp.Key)
		default:
			return nil, fmt.Errorf("%s: unknown type %q", field, cp.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: read key %q of %s %s/%s: %w", field, cp.Key, cp.Type, ns, cp.Name, err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: key %q of %s %s/%s holds no PEM certificate", field, cp.Key, cp.Type, ns, cp.Name)
		}
		if len(bundle) > 0 && bundle[len(bundle)-1] != '\n' {
			bundle = append(bundle, '\n')
		}
		bundle = append(bundle, pem...)
	}
	return bundle, nil
}

// authenticate adds to cfg the one credential auth names.
func (p *Provider) authenticate(ctx context.Context, store secretstore.GenericStore, a *secretstore.KubernetesAuth, creds provider.Credentials, cfg *rest.Config) error {
	switch {
	case a == nil:
		// kubeSpec refuses this; a store never falls back to anyone
		// else's credentials.
		return errors.New("spec.provider.kubernetes.auth: no credentials")
	case a.Token != nil:
		tok, err := provider.SecretKey(ctx, creds, store, a.Token.BearerToken)
		if err != nil {
			return fmt.Errorf("spec.provider.kubernetes.auth.token.bearerToken: %w", err)
		}
		if len(tok) == 0 {
			sel := a.Token.BearerToken
			ns, _ := provider.CredentialNamespace(store, sel.Namespace) // SecretKey has checked it
			return fmt.Errorf("spec.provider.kubernetes.auth.token.bearerToken: key %q of Secret %s/%s is empty", sel.Key, ns, sel.Name)
		}
		cfg.BearerToken = string(tok)
	case a.Cert != nil:
		const field = "spec.provider.kubernetes.auth.cert"
		certPEM, err := provider.SecretKey(ctx, creds, store, a.Cert.ClientCert)
		if err != nil {
			return fmt.Errorf("%s.clientCert: %w", field, err)
		}
		keyPEM, err := provider.SecretKey(ctx, creds, store, a.Cert.ClientKey)
		if err != nil {
			return fmt.Errorf("%s.clientKey: %w", field, err)
		}
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			// A message of our own is sure not to quote the key.
			return fmt.Errorf("%s: the certificate and private key do not form a valid PEM key pair", field)
		}
		cfg.CertData, cfg.KeyData = certPEM, keyPEM
	case a.ServiceAccount != nil:
		sel := *a.ServiceAccount
		src := &serviceAccountToken{
			request: func(ctx context.Context) (string, error) {
				return provider.ServiceAccountToken(ctx, creds, store, sel, nil, tokenExpiration)
			},
			now: p.now,
		}
		if _, err := src.token(ctx); err != nil {
			return fmt.Errorf("spec.provider.kubernetes.auth.serviceAccount: %w", err)
		}
		cfg.WrapTransport = src.wrap
	default:
		return errors.New("spec.provider.kubernetes.auth: no credentials")
	}
	return nil
}

// kubeconfig returns the configuration the kubeconfig in the Secret sel
// names describes, for authRef.
//
// Only what the kubeconfig holds inline is used. Paths would be read from
// the controller's file system, which holds the controller's own
// ServiceAccount token; exec plugins and auth providers would run or act
// as the controller. All are refused, as is a kubeconfig without a
// credential.
func kubeconfig(ctx context.Context, store secretstore.GenericStore, sel secretstore.SecretKeySelector, creds provider.Credentials) (*rest.Config, error) {
	const field = "spec.provider.kubernetes.authRef"
	raw, err := provider.SecretKey(ctx, creds, store, sel)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	ns, _ := provider.CredentialNamespace(store, sel.Namespace) // SecretKey has checked it
	where := fmt.Sprintf("%s: the kubeconfig in key %q of Secret %s/%s", field, sel.Key, ns, sel.Name)
	kc, err := clientcmd.Load(raw)
	if err != nil {
		// Parse errors can quote the document, which holds credentials.
		return nil, fmt.Errorf("%s is not a kubeconfig", where)
	}
	kctx, ok := kc.Contexts[kc.CurrentContext]
	if kc.CurrentContext == "" || !ok || kctx == nil {
		return nil, fmt.Errorf("%s has no current context", where)
	}
	cluster, ok := kc.Clusters[kctx.Cluster]
	if !ok || cluster == nil {
		return nil, fmt.Errorf("%s names cluster %q, which it does not define", where, kctx.Cluster)
	}
	user, ok := kc.AuthInfos[kctx.AuthInfo]
	if !ok || user == nil {
		return nil, fmt.Errorf("%s names user %q, which it does not define", where, kctx.AuthInfo)
	}

	u, err := url.Parse(cluster.Server)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%s: cluster %q: server is not an https URL", where, kctx.Cluster)
	}
	switch {
	case cluster.CertificateAuthority != "":
		return nil, fmt.Errorf("%s: cluster %q: certificate-authority names a file; use certificate-authority-data", where, kctx.Cluster)
	case cluster.InsecureSkipTLSVerify:
		return nil, fmt.Errorf("%s: cluster %q: insecure-skip-tls-verify would send the credentials to any server; use certificate-authority-data", where, kctx.Cluster)
	case user.ClientCertificate != "" || user.ClientKey != "":
		return nil, fmt.Errorf("%s: user %q: client-certificate and client-key name files; use client-certificate-data and client-key-data", where, kctx.AuthInfo)
	case user.TokenFile != "":
		return nil, fmt.Errorf("%s: user %q: tokenFile names a file; use token", where, kctx.AuthInfo)
	case user.Exec != nil:
		return nil, fmt.Errorf("%s: user %q: exec plugins are not run", where, kctx.AuthInfo)
	case user.AuthProvider != nil:
		return nil, fmt.Errorf("%s: user %q: auth providers are not supported; use token or client-certificate-data", where, kctx.AuthInfo)
	case user.Username != "" || user.Password != "":
		return nil, fmt.Errorf("%s: user %q: basic auth is not supported; use token or client-certificate-data", where, kctx.AuthInfo)
	}
	hasCert := len(user.ClientCertificateData) > 0 || len(user.ClientKeyData) > 0
	switch {
	case user.Token == "" && !hasCert:
		return nil, fmt.Errorf("%s: user %q has no token and no client-certificate-data", where, kctx.AuthInfo)
	case user.Token != "" && hasCert:
		return nil, fmt.Errorf("%s: user %q has both a token and client-certificate-data; keep one", where, kctx.AuthInfo)
	case hasCert:
		if _, err := tls.X509KeyPair(user.ClientCertificateData, user.ClientKeyData); err != nil {
			return nil, fmt.Errorf("%s: user %q: client-certificate-data and client-key-data do not form a valid PEM key pair", where, kctx.AuthInfo)
		}
	}
	if len(cluster.CertificateAuthorityData) > 0 && !x509.NewCertPool().AppendCertsFromPEM(cluster.CertificateAuthorityData) {
		return nil, fmt.Errorf("%s: cluster %q: certificate-authority-data holds no PEM certificate", where, kctx.Cluster)
	}

	cfg := &rest.Config{
		Host:        cluster.Server,
		BearerToken: user.Token,
		TLSClientConfig: rest.TLSClientConfig{
			ServerName: cluster.TLSServerName,
			CAData:     cluster.CertificateAuthorityData,
			CertData:   user.ClientCertificateData,
			KeyData:    user.ClientKeyData,
		},
		Impersonate: rest.ImpersonationConfig{
			UserName: user.Impersonate,
			UID:      user.ImpersonateUID,
			Groups:   user.ImpersonateGroups,
			Extra:    user.ImpersonateUserExtra,
		},
	}
	if cluster.ProxyURL != "" {
		proxy, err := url.Parse(cluster.ProxyURL)
		if err != nil {
			return nil, fmt.Errorf("%s: cluster %q: proxy-url is not a URL", where, kctx.Cluster)
		}
		cfg.Proxy = http.ProxyURL(proxy)
	}
	return cfg, nil
}

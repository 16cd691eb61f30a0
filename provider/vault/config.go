package vault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Keys read from a Secret when a selector leaves the key out, as ESO does.
const (
	tlsCertKey = "tls.crt"
	tlsKeyKey  = "tls.key"
)

// transport builds the HTTP client of a store: the CA bundle to trust and
// the client certificate to present, from spec.tls or, for cert auth, from
// spec.auth.cert. Every credential is read here, while the client is built,
// so a host that watches what NewClient read notices when one changes.
func transport(ctx context.Context, store secretstore.GenericStore, spec *secretstore.VaultProvider, creds provider.Credentials) (*http.Client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}

	pool, err := caPool(ctx, store, spec, creds)
	if err != nil {
		return nil, err
	}
	tlsConfig.RootCAs = pool

	// A cert auth login needs its certificate in the TLS handshake. When
	// spec.tls also names one, that one serves every other request, but
	// connections are pooled and either may be reused: present one
	// certificate, cert auth's, as ESO does.
	var cert *tls.Certificate
	if spec.Auth != nil && spec.Auth.Cert != nil {
		ca := spec.Auth.Cert
		if cert, err = keyPair(ctx, store, creds, ca.ClientCert, ca.SecretRef, "spec.provider.vault.auth.cert"); err != nil {
			return nil, err
		}
	} else if t := spec.ClientTLS; t.CertSecretRef != nil || t.KeySecretRef != nil {
		if t.CertSecretRef == nil || t.KeySecretRef == nil {
			return nil, fmt.Errorf("spec.provider.vault.tls: set both certSecretRef and keySecretRef")
		}
		certSel, keySel := *t.CertSecretRef, *t.KeySecretRef
		if certSel.Key == "" {
			certSel.Key = tlsCertKey
		}
		if keySel.Key == "" {
			keySel.Key = tlsKeyKey
		}
		if cert, err = keyPair(ctx, store, creds, certSel, keySel, "spec.provider.vault.tls"); err != nil {
			return nil, err
		}
	}
	if cert != nil {
		tlsConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return cert, nil
		}
	}

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConfig
	tr.TLSHandshakeTimeout = 10 * time.Second
	return &http.Client{
		Transport: tr,
		// The API client follows Vault's redirects itself.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// caPool returns the CA bundle of spec.caBundle and spec.caProvider, or nil
// for the system roots.
func caPool(ctx context.Context, store secretstore.GenericStore, spec *secretstore.VaultProvider, creds provider.Credentials) (*x509.CertPool, error) {
	if len(spec.CABundle) == 0 && spec.CAProvider == nil {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if len(spec.CABundle) > 0 && !pool.AppendCertsFromPEM(spec.CABundle) {
		return nil, fmt.Errorf("spec.provider.vault.caBundle holds no PEM certificate")
	}
	if cp := spec.CAProvider; cp != nil {
		ns, err := provider.CredentialNamespace(store, cp.Namespace)
		if err != nil {
			return nil, fmt.Errorf("spec.provider.vault.caProvider: %w", err)
		}
		if cp.Key == "" {
			return nil, fmt.Errorf("spec.provider.vault.caProvider: key is required")
		}
		if creds == nil {
			return nil, fmt.Errorf("spec.provider.vault.caProvider: no credentials reader")
		}
		var pem []byte
		switch cp.Type {
		case secretstore.CAProviderTypeSecret:
			pem, err = creds.SecretValue(ctx, ns, cp.Name, cp.Key)
		case secretstore.CAProviderTypeConfigMap:
			pem, err = creds.ConfigMapValue(ctx, ns, cp.Name, cp.Key)
		default:
			return nil, fmt.Errorf("spec.provider.vault.caProvider: unknown type %q", cp.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("spec.provider.vault.caProvider: read key %q of %s %s/%s: %w", cp.Key, cp.Type, ns, cp.Name, err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("spec.provider.vault.caProvider: key %q of %s %s/%s holds no PEM certificate", cp.Key, cp.Type, ns, cp.Name)
		}
	}
	return pool, nil
}

func keyPair(ctx context.Context, store secretstore.GenericStore, creds provider.Credentials, certSel, keySel secretstore.SecretKeySelector, field string) (*tls.Certificate, error) {
	certPEM, err := provider.SecretKey(ctx, creds, store, certSel)
	if err != nil {
		return nil, fmt.Errorf("%s: client certificate: %w", field, err)
	}
	keyPEM, err := provider.SecretKey(ctx, creds, store, keySel)
	if err != nil {
		return nil, fmt.Errorf("%s: private key: %w", field, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The error of X509KeyPair does not quote the key, but a
		// message of our own is sure not to.
		return nil, fmt.Errorf("%s: the certificate and private key do not form a valid PEM key pair", field)
	}
	return &cert, nil
}

// newAPI returns a Vault API client for spec that sends requests in
// namespace and carries no token.
//
// The API client reads VAULT_* environment variables, as the vault CLI
// does; a library serving many stores must not, so every setting the
// environment could change is set from the spec instead.
func newAPI(spec *secretstore.VaultProvider, retry *secretstore.RetrySettings, hc *http.Client, namespace string) (*api.Client, error) {
	cfg := api.DefaultConfig()
	cfg.Error = nil
	cfg.Address = spec.Server
	cfg.AgentAddress = ""
	cfg.HttpClient = hc
	cfg.Timeout = 60 * time.Second
	cfg.SRVLookup = false
	cfg.DisableRedirects = false
	cfg.Limiter = nil
	cfg.MinRetryWait = time.Second
	cfg.MaxRetryWait = 1500 * time.Millisecond
	cfg.MaxRetries = 2
	if retry != nil {
		// As in ESO: with retrySettings, retries are what it says, and
		// none unless it says so; the controller retries too.
		cfg.MaxRetries = 0
		if retry.MaxRetries != nil {
			cfg.MaxRetries = int(*retry.MaxRetries)
		}
		if retry.RetryInterval != nil {
			d, err := time.ParseDuration(*retry.RetryInterval)
			if err != nil {
				return nil, fmt.Errorf("spec.retrySettings.retryInterval: %w", err)
			}
			cfg.MinRetryWait, cfg.MaxRetryWait = d, d
		}
	}
	cfg.ReadYourWrites = spec.ReadYourWrites || spec.ForwardInconsistent

	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("spec.provider.vault: %w", err)
	}
	c.ClearToken()
	c.ClearNamespace()
	// Replace, not add to, whatever VAULT_HEADERS put there.
	h := c.Headers()
	for k := range h {
		if k != api.RequestHeaderName {
			h.Del(k)
		}
	}
	for k, v := range spec.Headers {
		h.Set(k, v)
	}
	if spec.ReadYourWrites && spec.ForwardInconsistent {
		h.Set(api.HeaderInconsistent, "forward-active-node")
	}
	c.SetHeaders(h)
	if namespace != "" {
		c.SetNamespace(namespace)
	}
	return c, nil
}

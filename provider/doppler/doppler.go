package doppler

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Name is the provider field Doppler stores use.
const Name = "doppler"

// DefaultBaseURL is Doppler's API.
const DefaultBaseURL = "https://api.doppler.com"

// SecretsFileKey is the one key of what a store with a format finds: the
// whole downloaded document, as in the External Secrets Operator.
const SecretsFileKey = "DOPPLER_SECRETS_FILE"

// Provider serves stores whose spec sets provider.doppler. A zero
// Provider is valid: it talks to [DefaultBaseURL] with its own HTTP
// client, and retries a rate-limited request as [WithRetry]'s defaults
// say.
type Provider struct {
	opts options
}

type options struct {
	baseURL     string
	httpClient  *http.Client
	maxAttempts int
	maxWait     time.Duration
}

// Option configures a [Provider].
type Option func(*options)

// New returns a Provider.
func New(opts ...Option) *Provider {
	p := &Provider{}
	for _, o := range opts {
		o(&p.opts)
	}
	return p
}

// WithBaseURL sends every request to url instead of [DefaultBaseURL], for
// emulators and tests.
func WithBaseURL(url string) Option { return func(o *options) { o.baseURL = url } }

// WithHTTPClient makes every request with c.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithRetry bounds how a request Doppler refuses with 429 Too Many
// Requests is retried: at most maxAttempts requests, the first included,
// and never a wait longer than maxWait. Between attempts the client
// waits what Retry-After asks, or, without it, 1s, then 2s, 4s and so on;
// a Retry-After beyond maxWait fails at once, saying when to retry. The
// defaults are 3 attempts and 30s.
func WithRetry(maxAttempts int, maxWait time.Duration) Option {
	return func(o *options) { o.maxAttempts, o.maxWait = maxAttempts, maxWait }
}

var (
	_ provider.Provider      = &Provider{}
	_ provider.SpecValidator = &Provider{}
)

// defaultClient is shared by Providers without WithHTTPClient, so that
// their clients share connections.
var defaultClient = &http.Client{Timeout: time.Minute}

// Name returns "doppler".
func (*Provider) Name() string { return Name }

// The name transformers and download formats the External Secrets
// Operator's schema allows.
var (
	nameTransformers = map[string]bool{"upper-camel": true, "camel": true, "lower-snake": true, "tf-var": true, "dotnet-env": true, "lower-kebab": true}
	formats          = map[string]bool{"json": true, "dotnet-json": true, "env": true, "yaml": true, "docker": true}
)

// ValidateStore checks a store spec without contacting Doppler.
func (*Provider) ValidateStore(store secretstore.GenericStore) error {
	_, err := dopplerSpec(store)
	return err
}

func dopplerSpec(store secretstore.GenericStore) (*secretstore.DopplerProvider, error) {
	ref := secretstore.Ref(store)
	spec := store.StoreSpec()
	if spec.Provider == nil || spec.Provider.Doppler == nil {
		return nil, fmt.Errorf("%s: spec.provider.doppler is not set", ref)
	}
	d := spec.Provider.Doppler
	if d.Auth == nil || (d.Auth.SecretRef == nil) == (d.Auth.OIDCConfig == nil) {
		return nil, fmt.Errorf("%s: spec.provider.doppler.auth: set exactly one of secretRef and oidcConfig", ref)
	}
	if d.Auth.SecretRef != nil {
		sel := d.Auth.SecretRef.DopplerToken
		if sel.Name == "" {
			return nil, fmt.Errorf("%s: spec.provider.doppler.auth.secretRef.dopplerToken.name is not set", ref)
		}
		if _, err := provider.CredentialNamespace(store, sel.Namespace); err != nil {
			return nil, err
		}
	}
	if o := d.Auth.OIDCConfig; o != nil {
		if o.Identity == "" {
			return nil, fmt.Errorf("%s: spec.provider.doppler.auth.oidcConfig.identity is not set", ref)
		}
		if o.ServiceAccountRef.Name == "" {
			return nil, fmt.Errorf("%s: spec.provider.doppler.auth.oidcConfig.serviceAccountRef.name is not set", ref)
		}
		if o.ExpirationSeconds != nil && *o.ExpirationSeconds < 600 {
			return nil, fmt.Errorf("%s: spec.provider.doppler.auth.oidcConfig.expirationSeconds must be at least 600, the shortest token the TokenRequest API issues", ref)
		}
		if _, err := provider.CredentialNamespace(store, o.ServiceAccountRef.Namespace); err != nil {
			return nil, err
		}
	}
	if (d.Project == "") != (d.Config == "") {
		return nil, fmt.Errorf("%s: spec.provider.doppler: set project and config together (for a personal or service account token), or neither (for a service token)", ref)
	}
	if d.NameTransformer != "" && !nameTransformers[d.NameTransformer] {
		return nil, fmt.Errorf("%s: spec.provider.doppler.nameTransformer %q is not one of upper-camel, camel, lower-snake, tf-var, dotnet-env, lower-kebab", ref, d.NameTransformer)
	}
	if d.Format != "" && !formats[d.Format] {
		return nil, fmt.Errorf("%s: spec.provider.doppler.format %q is not one of json, dotnet-json, env, yaml, docker", ref, d.Format)
	}
	return d, nil
}

// NewClient reads the Doppler token and returns a client for the store.
// It makes no request.
func (p *Provider) NewClient(ctx context.Context, store secretstore.GenericStore, creds provider.Credentials) (provider.Client, error) {
	spec, err := dopplerSpec(store)
	if err != nil {
		return nil, err
	}
	c := &client{
		store:       secretstore.Ref(store),
		base:        strings.TrimRight(p.opts.baseURL, "/"),
		project:     spec.Project,
		config:      spec.Config,
		transformer: spec.NameTransformer,
		format:      spec.Format,
		http:        p.opts.httpClient,
		maxAttempts: p.opts.maxAttempts,
		maxWait:     p.opts.maxWait,
		kept:        map[downloadKey]*document{},
		flights:     map[downloadKey]*flight{},
	}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.http == nil {
		c.http = defaultClient
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = 3
	}
	if c.maxWait <= 0 {
		c.maxWait = 30 * time.Second
	}
	if o := spec.Auth.OIDCConfig; o != nil {
		c.token = newOIDCToken(c, store, creds, o).get
		return c, nil
	}
	sel := spec.Auth.SecretRef.DopplerToken
	if sel.Key == "" {
		// ESO's default key, as kubectl create secret --from-literal
		// dopplerToken=... writes it.
		sel.Key = "dopplerToken"
	}
	tok, err := provider.SecretKey(ctx, creds, store, sel)
	if err != nil {
		return nil, fmt.Errorf("%s: Doppler token: %w", secretstore.Ref(store), err)
	}
	// A token pasted into a Secret often ends in a newline, which no
	// token contains.
	token := strings.TrimSpace(string(tok))
	if token == "" {
		return nil, fmt.Errorf("%s: the Doppler token in key %q of Secret %q is empty", secretstore.Ref(store), sel.Key, sel.Name)
	}
	c.token = func(context.Context) (string, error) { return token, nil }
	return c, nil
}

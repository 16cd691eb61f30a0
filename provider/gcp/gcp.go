package gcp

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"github.com/googleapis/gax-go/v2"
	"golang.org/x/oauth2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Name is the provider field Google Cloud Secret Manager stores use.
const Name = "gcpsm"

// Values of spec.provider.gcpsm.secretVersionSelectionPolicy.
const (
	// LatestOrFail reads the version "latest" and fails when it is
	// disabled or destroyed. It is the default.
	LatestOrFail = "LatestOrFail"
	// LatestOrFetch reads the newest ENABLED version when "latest" is
	// disabled or destroyed.
	LatestOrFetch = "LatestOrFetch"
)

// Default endpoints, as in Google's client libraries.
const (
	defaultTokenURL       = "https://oauth2.googleapis.com/token"
	defaultSTSURL         = "https://sts.googleapis.com/v1/token"
	defaultIAMCredentials = "https://iamcredentials.googleapis.com"
	// httpTimeout bounds each token request the provider makes itself.
	httpTimeout = 30 * time.Second
)

// Provider serves stores whose spec sets provider.gcpsm. A zero Provider
// is valid and talks to Google Cloud's own endpoints.
type Provider struct {
	opts options
}

type options struct {
	endpoint    string
	dial        []grpc.DialOption
	noAuth      bool
	httpClient  *http.Client
	tokenURL    string
	stsURL      string
	iamURL      string
	maxAttempts int
	maxBackoff  time.Duration
	observe     func(Call)
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

// WithEndpoint sends every Secret Manager call to addr, a host:port,
// instead of secretmanager.googleapis.com:443 or the regional endpoint
// of spec.location, for emulators and tests.
func WithEndpoint(addr string) Option { return func(o *options) { o.endpoint = addr } }

// WithGRPCDialOptions adds options to the gRPC connection, such as
// plaintext transport credentials for an emulator.
func WithGRPCDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dial = append(o.dial, opts...) }
}

// WithoutAuthentication makes the clients of stores that set no auth send
// no credentials, instead of Application Default Credentials. Stores with
// auth still authenticate.
func WithoutAuthentication() Option { return func(o *options) { o.noAuth = true } }

// WithHTTPClient makes the token requests (OAuth 2.0, STS, IAM
// Credentials) with c. The default has a 30-second timeout.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithTokenURL replaces https://oauth2.googleapis.com/token, where
// service-account keys are exchanged for access tokens.
func WithTokenURL(url string) Option { return func(o *options) { o.tokenURL = url } }

// WithSTSEndpoint replaces https://sts.googleapis.com/v1/token, where
// ServiceAccount tokens are exchanged for federated access tokens.
func WithSTSEndpoint(url string) Option { return func(o *options) { o.stsURL = url } }

// WithIAMCredentialsEndpoint replaces https://iamcredentials.googleapis.com,
// whose generateAccessToken impersonates the Google service account a
// ServiceAccount is annotated with.
func WithIAMCredentialsEndpoint(url string) Option { return func(o *options) { o.iamURL = url } }

// WithRetry bounds the attempts of each Secret Manager call, the first
// included, and the longest wait between two. Unavailable and
// ResourceExhausted are retried, after a random wait up to a second that
// doubles each time up to maxBackoff. Without it, the client library's
// defaults apply: retries for up to a minute, waits from 2 to 60 seconds.
func WithRetry(maxAttempts int, maxBackoff time.Duration) Option {
	return func(o *options) { o.maxAttempts, o.maxBackoff = maxAttempts, maxBackoff }
}

// WithCallObserver calls fn after every Google Cloud operation the
// provider makes, for metrics: each Secret Manager call once its retries
// end (each page of a listing is a call), and each token request to the
// OAuth 2.0 token endpoint, STS and IAM Credentials. fn must be safe for
// concurrent use.
func WithCallObserver(fn func(Call)) Option { return func(o *options) { o.observe = fn } }

var (
	_ provider.Provider      = &Provider{}
	_ provider.SpecValidator = &Provider{}
)

// Name returns "gcpsm".
func (*Provider) Name() string { return Name }

var (
	// projectPattern accepts project IDs, legacy domain-scoped IDs
	// (example.com:project) and project numbers.
	projectPattern = regexp.MustCompile(`^([a-z0-9.-]+:)?[a-z0-9][a-z0-9-]{0,62}$`)
	// regionPattern accepts regions such as us-central1; zonePattern
	// also zones such as us-central1-a, where zonal clusters live.
	regionPattern  = regexp.MustCompile(`^[a-z]+(-[a-z]+)*[0-9]+$`)
	zonePattern    = regexp.MustCompile(`^[a-z]+(-[a-z]+)*[0-9]+(-[a-z])?$`)
	clusterPattern = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$`)
)

// ValidateStore checks a store spec without contacting Google Cloud.
func (*Provider) ValidateStore(store secretstore.GenericStore) error {
	_, err := gcpSpec(store)
	return err
}

func gcpSpec(store secretstore.GenericStore) (*secretstore.GCPSMProvider, error) {
	ref := secretstore.Ref(store)
	spec := store.StoreSpec()
	if spec.Provider == nil || spec.Provider.GCPSM == nil {
		return nil, fmt.Errorf("%s: spec.provider.gcpsm is not set", ref)
	}
	g := spec.Provider.GCPSM
	if !projectPattern.MatchString(g.ProjectID) {
		return nil, fmt.Errorf("%s: spec.provider.gcpsm.projectID %q is not a project ID, such as my-project", ref, g.ProjectID)
	}
	if g.Location != "" && !regionPattern.MatchString(g.Location) {
		return nil, fmt.Errorf("%s: spec.provider.gcpsm.location %q is not a region, such as us-central1", ref, g.Location)
	}
	switch g.SecretVersionSelectionPolicy {
	case "", LatestOrFail, LatestOrFetch:
	default:
		return nil, fmt.Errorf("%s: spec.provider.gcpsm.secretVersionSelectionPolicy must be %s or %s, not %q", ref, LatestOrFail, LatestOrFetch, g.SecretVersionSelectionPolicy)
	}
	auth := g.Auth
	n := 0
	for _, set := range []bool{auth.SecretRef != nil, auth.WorkloadIdentity != nil, auth.WorkloadIdentityFederation != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, fmt.Errorf("%s: spec.provider.gcpsm.auth: set one of secretRef, workloadIdentity and workloadIdentityFederation", ref)
	}
	if f := auth.WorkloadIdentityFederation; f != nil {
		if err := validateFederation(f); err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
	}
	if auth.SecretRef != nil {
		sel := auth.SecretRef.SecretAccessKey
		if sel.Name == "" || sel.Key == "" {
			return nil, fmt.Errorf("%s: spec.provider.gcpsm.auth.secretRef.secretAccessKeySecretRef needs name and key", ref)
		}
		if _, err := provider.CredentialNamespace(store, sel.Namespace); err != nil {
			return nil, err
		}
	}
	if wi := auth.WorkloadIdentity; wi != nil {
		if wi.ServiceAccountRef.Name == "" {
			return nil, fmt.Errorf("%s: spec.provider.gcpsm.auth.workloadIdentity.serviceAccountRef.name is not set", ref)
		}
		if _, err := provider.CredentialNamespace(store, wi.ServiceAccountRef.Namespace); err != nil {
			return nil, err
		}
		for field, check := range map[string]struct {
			value string
			ok    *regexp.Regexp
		}{
			"clusterProjectID": {wi.ClusterProjectID, projectPattern},
			"clusterLocation":  {wi.ClusterLocation, zonePattern},
			"clusterName":      {wi.ClusterName, clusterPattern},
		} {
			if check.value != "" && !check.ok.MatchString(check.value) {
				return nil, fmt.Errorf("%s: spec.provider.gcpsm.auth.workloadIdentity.%s %q is not valid", ref, field, check.value)
			}
		}
	}
	return g, nil
}

// NewClient returns a client for the store. It reads the store's
// credentials and opens one gRPC connection; access tokens are fetched
// when first needed, cached, and refreshed before they expire.
func (p *Provider) NewClient(ctx context.Context, store secretstore.GenericStore, creds provider.Credentials) (provider.Client, error) {
	spec, err := gcpSpec(store)
	if err != nil {
		return nil, err
	}
	ts, err := p.tokenSource(ctx, store, spec, creds)
	if err != nil {
		return nil, err
	}
	opts := []option.ClientOption{option.WithUserAgent("secretsync")}
	switch {
	case p.opts.endpoint != "":
		opts = append(opts, option.WithEndpoint(p.opts.endpoint))
	case spec.Location != "":
		opts = append(opts, option.WithEndpoint(regionalEndpoint(spec.Location)))
	}
	if ts != nil {
		opts = append(opts, option.WithTokenSource(ts))
	} else {
		opts = append(opts, option.WithoutAuthentication())
	}
	for _, d := range p.opts.dial {
		opts = append(opts, option.WithGRPCDialOption(d))
	}
	if p.opts.observe != nil {
		opts = append(opts, option.WithGRPCDialOption(grpc.WithChainUnaryInterceptor(countAttempts)))
	}
	sm, err := secretmanager.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: create Secret Manager client: %w", secretstore.Ref(store), err)
	}
	if p.opts.maxAttempts > 0 {
		retry := p.retry()
		for _, call := range []*[]gax.CallOption{
			&sm.CallOptions.AccessSecretVersion, &sm.CallOptions.ListSecrets,
			&sm.CallOptions.ListSecretVersions, &sm.CallOptions.GetSecret,
		} {
			*call = append(*call, retry)
		}
	}
	parent := "projects/" + spec.ProjectID
	if spec.Location != "" {
		parent += "/locations/" + spec.Location
	}
	return &client{
		store:       secretstore.Ref(store),
		parent:      parent,
		location:    spec.Location,
		fetchLatest: spec.SecretVersionSelectionPolicy == LatestOrFetch,
		sm:          sm,
		ts:          ts,
		observer:    p.opts.observe,
	}, nil
}

// regionalEndpoint is where regional secrets of location live.
func regionalEndpoint(location string) string {
	return "secretmanager." + location + ".rep.googleapis.com:443"
}

func (p *Provider) retry() gax.CallOption {
	initial := min(time.Second, p.opts.maxBackoff)
	return gax.WithRetry(func() gax.Retryer {
		return &retryer{left: p.opts.maxAttempts, backoff: gax.Backoff{Initial: initial, Max: p.opts.maxBackoff, Multiplier: 2}}
	})
}

// retryer retries Unavailable and ResourceExhausted until the attempts
// run out.
type retryer struct {
	left    int
	backoff gax.Backoff
}

func (r *retryer) Retry(err error) (time.Duration, bool) {
	r.left--
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted:
		if r.left > 0 {
			return r.backoff.Pause(), true
		}
	}
	return 0, false
}

// httpClient is the client of token requests, which it reports when the
// provider has an observer.
func (p *Provider) httpClient() *http.Client {
	c := p.opts.httpClient
	if c == nil {
		c = &http.Client{Timeout: httpTimeout}
	}
	if p.opts.observe == nil {
		return c
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	observed := *c
	observed.Transport = &observedTransport{
		base:     base,
		observe:  p.opts.observe,
		tokenURL: endpointURL(orDefault(p.opts.tokenURL, defaultTokenURL)),
		stsURL:   endpointURL(orDefault(p.opts.stsURL, defaultSTSURL)),
	}
	return &observed
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// client reads one store. Its Secret Manager client and token source are
// safe for concurrent use.
type client struct {
	store       string
	parent      string // projects/P or projects/P/locations/L
	location    string // L of a regional store, or empty
	fetchLatest bool
	sm          *secretmanager.Client
	ts          oauth2.TokenSource // nil without authentication
	observer    func(Call)         // nil without WithCallObserver
}

var (
	_ provider.Finder    = &client{}
	_ provider.Validator = &client{}
	_ provider.Closer    = &client{}
	_ provider.Pusher    = &client{}
)

// Validate checks that the store's credentials yield an access token: the
// key is valid, or the ServiceAccount token is accepted by STS and may
// impersonate its Google service account. It calls no Secret Manager
// method, since a store's identity rightly may be granted only
// secretmanager.versions.access, which lists nothing. The token is
// cached for the reads that follow.
func (c *client) Validate(ctx context.Context) error {
	if c.ts == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: check credentials: %w", c.store, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.ts.Token()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: check credentials: %w", c.store, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: check credentials: %w", c.store, ctx.Err())
	}
}

// Close closes the gRPC connection.
func (c *client) Close(context.Context) error {
	if err := c.sm.Close(); err != nil {
		return fmt.Errorf("%s: close Secret Manager client: %w", c.store, err)
	}
	return nil
}

package onepassword

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Name is the provider field 1Password stores use.
const Name = "onepassword"

// Provider serves stores whose spec sets provider.onepassword. A zero
// Provider is valid and uses its own HTTP client with a one-minute
// timeout per request.
type Provider struct {
	opts options
}

type options struct {
	httpClient *http.Client
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

// WithHTTPClient makes every Connect request with c, for a Connect
// server behind a private CA or for tests.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

var (
	_ provider.Provider      = &Provider{}
	_ provider.SpecValidator = &Provider{}
)

// defaultClient is shared by Providers without WithHTTPClient, so that
// their clients share connections.
var defaultClient = &http.Client{Timeout: time.Minute}

// Name returns "onepassword".
func (*Provider) Name() string { return Name }

// ValidateStore checks a store spec without contacting Connect.
func (*Provider) ValidateStore(store secretstore.GenericStore) error {
	_, err := onePasswordSpec(store)
	return err
}

func onePasswordSpec(store secretstore.GenericStore) (*secretstore.OnePasswordProvider, error) {
	ref := secretstore.Ref(store)
	spec := store.StoreSpec()
	if spec.Provider == nil || spec.Provider.OnePassword == nil {
		return nil, fmt.Errorf("%s: spec.provider.onepassword is not set", ref)
	}
	op := spec.Provider.OnePassword
	u, err := url.Parse(op.ConnectHost)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: spec.provider.onepassword.connectHost %q is not an http or https URL, such as http://onepassword-connect:8080", ref, op.ConnectHost)
	}
	if len(op.Vaults) == 0 {
		return nil, fmt.Errorf("%s: spec.provider.onepassword.vaults must name at least one vault", ref)
	}
	seen := map[int]string{}
	for name, prio := range op.Vaults {
		if name == "" {
			return nil, fmt.Errorf("%s: spec.provider.onepassword.vaults has an empty vault name", ref)
		}
		if other, ok := seen[prio]; ok {
			a, b := min(name, other), max(name, other)
			return nil, fmt.Errorf("%s: spec.provider.onepassword.vaults %q and %q have the same priority %d; priorities must be unique", ref, a, b, prio)
		}
		seen[prio] = name
	}
	if op.Auth == nil || op.Auth.SecretRef == nil {
		return nil, fmt.Errorf("%s: spec.provider.onepassword.auth.secretRef.connectTokenSecretRef is not set", ref)
	}
	sel := op.Auth.SecretRef.ConnectToken
	if sel.Name == "" || sel.Key == "" {
		return nil, fmt.Errorf("%s: spec.provider.onepassword.auth.secretRef.connectTokenSecretRef needs name and key", ref)
	}
	if _, err := provider.CredentialNamespace(store, sel.Namespace); err != nil {
		return nil, err
	}
	return op, nil
}

// byPriority returns the vault names, lowest priority number first.
func byPriority(vaults map[string]int) []string {
	names := make([]string, 0, len(vaults))
	for n := range vaults {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return vaults[names[i]] < vaults[names[j]] })
	return names
}

// NewClient reads the Connect token and returns a client for the store.
// It makes no request: vault names are resolved to IDs when first needed,
// once per client.
func (p *Provider) NewClient(ctx context.Context, store secretstore.GenericStore, creds provider.Credentials) (provider.Client, error) {
	spec, err := onePasswordSpec(store)
	if err != nil {
		return nil, err
	}
	tok, err := provider.SecretKey(ctx, creds, store, spec.Auth.SecretRef.ConnectToken)
	if err != nil {
		return nil, fmt.Errorf("%s: Connect token: %w", secretstore.Ref(store), err)
	}
	// A token pasted into a Secret often ends in a newline, which no
	// token contains.
	token := strings.TrimSpace(string(tok))
	if token == "" {
		return nil, fmt.Errorf("%s: the Connect token in key %q of Secret %q is empty", secretstore.Ref(store), spec.Auth.SecretRef.ConnectToken.Key, spec.Auth.SecretRef.ConnectToken.Name)
	}
	hc := p.opts.httpClient
	if hc == nil {
		hc = defaultClient
	}
	return &client{
		store:  secretstore.Ref(store),
		host:   strings.TrimRight(spec.ConnectHost, "/"),
		token:  token,
		vaults: byPriority(spec.Vaults),
		http:   hc,
		ids:    map[string]*vaultLookup{},
	}, nil
}

package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Name is the provider field Azure Key Vault stores use.
const Name = "azurekv"

// The retry defaults. Throttled and failed requests are retried after
// Key Vault's Retry-After or, without one, an exponential backoff from
// defaultRetryDelay; a Retry-After longer than defaultMaxRetryDelay is
// not waited for, so that one read does not hold a worker for minutes:
// the error says how long Key Vault asked to wait, and the caller
// retries later.
const (
	defaultAttempts      = 4
	defaultRetryDelay    = time.Second
	defaultMaxRetryDelay = 15 * time.Second
	// tryTimeout bounds each attempt, so a stalled connection is retried.
	tryTimeout = 30 * time.Second
)

// Provider serves stores whose spec sets provider.azurekv. A zero Provider
// is valid: it talks to Azure with azcore's HTTP client and the retry
// defaults above.
type Provider struct {
	opts options
}

type options struct {
	httpClient *http.Client
	attempts   int
	retryDelay time.Duration
	maxDelay   time.Duration
	observe    func(Call)
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

// WithHTTPClient makes every request, to Key Vault, Microsoft Entra ID and
// the Instance Metadata Service, with c, such as the client of an
// emulator that resolves Azure's names to itself.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithRetry bounds the attempts of each Key Vault request, the first
// included, the first backoff, and the longest wait between two attempts.
// Throttled (429) and failed (408, 5xx) requests are retried after the
// Retry-After Key Vault sends or, without one, after a jittered
// exponential backoff from delay; a Retry-After longer than maxDelay ends
// the retries at once. Zero values keep the defaults: 4 attempts, 1s, 15s.
func WithRetry(maxAttempts int, delay, maxDelay time.Duration) Option {
	return func(o *options) { o.attempts, o.retryDelay, o.maxDelay = maxAttempts, delay, maxDelay }
}

// WithCallObserver calls fn after every Key Vault operation and every
// token request the provider makes, retries included, for metrics. fn
// must be safe for concurrent use.
func WithCallObserver(fn func(Call)) Option { return func(o *options) { o.observe = fn } }

// Call is one Azure operation, observed by [WithCallObserver].
//
// Service is "Key Vault"; "Entra ID" for the token requests of
// ServicePrincipal and WorkloadIdentity stores, sent to Microsoft Entra
// ID's token endpoint; or "Managed Identity" for those of ManagedIdentity
// stores, sent to the machine's managed identity endpoint, such as the
// Instance Metadata Service, rather than to Entra ID.
//
// Operation is the API name: "GetSecret", "GetCertificate", "GetKey",
// "ListSecretProperties" (one Call a page), for PushSecret "SetSecret",
// "UpdateSecretProperties", "DeleteSecret", "GetDeletedSecret" and
// "RecoverDeletedSecret", or "Token". A token served from
// the credential's cache is no Call; nor are the authority metadata
// requests MSAL makes once before its first token request.
//
// Attempts leaves out the unauthenticated request with which each Key
// Vault SDK client learns, from the 401 challenge it answers, where to get
// a token: that happens once a client, and belongs to authentication,
// which is reported as a Token Call. It is zero when no request was sent,
// as when no token could be had. Throttled counts 429 Too Many Requests.
//
// Err is the provider's message, which names the object but never a
// value, and which wraps [provider.ErrNotFound] when the object does not
// exist. It does not wrap the SDK's error, whose response holds the
// request and so its token.
type Call = provider.Call

func (o *options) retry() policy.RetryOptions {
	r := policy.RetryOptions{
		MaxRetries:    defaultAttempts - 1,
		RetryDelay:    defaultRetryDelay,
		MaxRetryDelay: defaultMaxRetryDelay,
		TryTimeout:    tryTimeout,
	}
	if o.attempts > 0 {
		r.MaxRetries = int32(o.attempts - 1)
		if o.attempts == 1 {
			// azcore reads zero as its default of three retries.
			r.MaxRetries = -1
		}
	}
	if o.retryDelay > 0 {
		r.RetryDelay = o.retryDelay
	}
	if o.maxDelay > 0 {
		r.MaxRetryDelay = o.maxDelay
	}
	return r
}

var (
	_ provider.Provider      = &Provider{}
	_ provider.SpecValidator = &Provider{}
)

// Name returns "azurekv".
func (*Provider) Name() string { return Name }

// The environmentType values of the store spec.
const (
	PublicCloud       secretstore.AzureEnvironmentType = "PublicCloud"
	USGovernmentCloud secretstore.AzureEnvironmentType = "USGovernmentCloud"
	ChinaCloud        secretstore.AzureEnvironmentType = "ChinaCloud"
	GermanCloud       secretstore.AzureEnvironmentType = "GermanCloud"
	AzureStackCloud   secretstore.AzureEnvironmentType = "AzureStackCloud"
)

// environment is an Azure cloud: where tokens come from, and the resource
// Key Vault tokens are for.
type environment struct {
	cloud    cloud.Configuration
	resource string
}

var environments = map[secretstore.AzureEnvironmentType]environment{
	"":                {cloud.AzurePublic, "https://vault.azure.net"},
	PublicCloud:       {cloud.AzurePublic, "https://vault.azure.net"},
	USGovernmentCloud: {cloud.AzureGovernment, "https://vault.usgovcloudapi.net"},
	ChinaCloud:        {cloud.AzureChina, "https://vault.azure.cn"},
}

// ValidateStore checks a store spec without contacting Azure.
func (*Provider) ValidateStore(store secretstore.GenericStore) error {
	_, _, err := azureSpec(store)
	return err
}

func authType(a *secretstore.AzureKVProvider) secretstore.AzureAuthType {
	if a.AuthType == nil || *a.AuthType == "" {
		return secretstore.AzureServicePrincipal
	}
	return *a.AuthType
}

func azureSpec(store secretstore.GenericStore) (*secretstore.AzureKVProvider, environment, error) {
	ref := secretstore.Ref(store)
	spec := store.StoreSpec()
	if spec.Provider == nil || spec.Provider.AzureKV == nil {
		return nil, environment{}, fmt.Errorf("%s: spec.provider.azurekv is not set", ref)
	}
	a := spec.Provider.AzureKV
	if a.VaultURL == nil || *a.VaultURL == "" {
		return nil, environment{}, fmt.Errorf("%s: spec.provider.azurekv.vaultUrl is not set", ref)
	}
	if u, err := url.Parse(*a.VaultURL); err != nil || u.Scheme != "https" || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
		return nil, environment{}, fmt.Errorf("%s: spec.provider.azurekv.vaultUrl %q is not the https URL of a vault, such as https://my-vault.vault.azure.net", ref, *a.VaultURL)
	}
	env, ok := environments[a.EnvironmentType]
	switch {
	case a.CustomCloudConfig != nil:
		var err error
		if env, err = customEnvironment(a, env); err != nil {
			return nil, environment{}, fmt.Errorf("%s: %w", ref, err)
		}
	case a.EnvironmentType == GermanCloud:
		return nil, environment{}, fmt.Errorf("%s: spec.provider.azurekv.environmentType GermanCloud: Microsoft Cloud Deutschland closed in 2021; use PublicCloud", ref)
	case a.EnvironmentType == AzureStackCloud:
		return nil, environment{}, fmt.Errorf("%s: spec.provider.azurekv.environmentType AzureStackCloud needs spec.provider.azurekv.customCloudConfig, with useAzureSDK: true", ref)
	case !ok:
		return nil, environment{}, fmt.Errorf("%s: spec.provider.azurekv.environmentType must be PublicCloud, USGovernmentCloud, ChinaCloud or, with customCloudConfig, AzureStackCloud, not %q", ref, a.EnvironmentType)
	}
	if a.TenantID != nil && !validTenantID(*a.TenantID) {
		return nil, environment{}, fmt.Errorf("%s: spec.provider.azurekv.tenantId %q is not a tenant ID: letters, digits, dots and dashes", ref, *a.TenantID)
	}
	checkSel := func(field string, sel *secretstore.SecretKeySelector) error {
		if sel == nil {
			return nil
		}
		if sel.Name == "" || sel.Key == "" {
			return fmt.Errorf("%s: spec.provider.azurekv.authSecretRef.%s needs name and key", ref, field)
		}
		_, err := provider.CredentialNamespace(store, sel.Namespace)
		return err
	}
	if auth := a.AuthSecretRef; auth != nil {
		for _, f := range []struct {
			field string
			sel   *secretstore.SecretKeySelector
		}{{"clientId", auth.ClientID}, {"tenantId", auth.TenantID}, {"clientSecret", auth.ClientSecret}, {"clientCertificate", auth.ClientCertificate}} {
			if err := checkSel(f.field, f.sel); err != nil {
				return nil, environment{}, err
			}
		}
	}
	switch authType(a) {
	case secretstore.AzureServicePrincipal:
		auth := a.AuthSecretRef
		if auth == nil || auth.ClientID == nil {
			return nil, environment{}, fmt.Errorf("%s: authType ServicePrincipal needs spec.provider.azurekv.authSecretRef.clientId", ref)
		}
		if (auth.ClientSecret == nil) == (auth.ClientCertificate == nil) {
			return nil, environment{}, fmt.Errorf("%s: authType ServicePrincipal needs one of authSecretRef.clientSecret and authSecretRef.clientCertificate", ref)
		}
		if a.TenantID == nil && auth.TenantID == nil {
			return nil, environment{}, fmt.Errorf("%s: authType ServicePrincipal needs spec.provider.azurekv.tenantId or authSecretRef.tenantId", ref)
		}
	case secretstore.AzureManagedIdentity:
	case secretstore.AzureWorkloadIdentity:
		if sa := a.ServiceAccountRef; sa != nil {
			if sa.Name == "" {
				return nil, environment{}, fmt.Errorf("%s: spec.provider.azurekv.serviceAccountRef.name is not set", ref)
			}
			if _, err := provider.CredentialNamespace(store, sa.Namespace); err != nil {
				return nil, environment{}, err
			}
		}
	default:
		return nil, environment{}, fmt.Errorf("%s: spec.provider.azurekv.authType must be ServicePrincipal, ManagedIdentity or WorkloadIdentity, not %q", ref, authType(a))
	}
	return a, env, nil
}

// customEnvironment applies spec.customCloudConfig to the cloud of
// environmentType, as ESO's azcore-based client does: the Entra ID
// authority, the Key Vault resource tokens are requested for (from
// keyVaultEndpoint, or the cloud's own), and the DNS suffix vaultUrl must
// end in. ESO accepts it only with useAzureSDK, its azcore-based client;
// secretsync has only that client, and asks for the same flag so that a
// manifest means the same to both.
func customEnvironment(a *secretstore.AzureKVProvider, base environment) (environment, error) {
	cc := a.CustomCloudConfig
	if a.UseAzureSDK == nil || !*a.UseAzureSDK {
		return environment{}, errors.New("spec.provider.azurekv.customCloudConfig requires useAzureSDK: true, as in ESO")
	}
	ad, err := httpsURL(cc.ActiveDirectoryEndpoint)
	if err != nil {
		return environment{}, fmt.Errorf("spec.provider.azurekv.customCloudConfig.activeDirectoryEndpoint %w", err)
	}
	env := environment{cloud: cloud.Configuration{
		ActiveDirectoryAuthorityHost: ad,
		Services:                     map[cloud.ServiceName]cloud.ServiceConfiguration{},
	}, resource: base.resource}
	for k, v := range base.cloud.Services {
		env.cloud.Services[k] = v
	}
	if kv := cc.KeyVaultEndpoint; kv != nil && *kv != "" {
		u, err := httpsURL(*kv)
		if err != nil {
			return environment{}, fmt.Errorf("spec.provider.azurekv.customCloudConfig.keyVaultEndpoint %w", err)
		}
		env.resource = strings.TrimRight(u, "/")
	}
	if suffix := cc.KeyVaultDNSSuffix; suffix != nil && *suffix != "" {
		u, _ := url.Parse(*a.VaultURL)
		if !strings.HasSuffix(u.Hostname(), "."+strings.TrimPrefix(*suffix, ".")) {
			return environment{}, fmt.Errorf("spec.provider.azurekv.vaultUrl %q is not in customCloudConfig.keyVaultDNSSuffix %q", *a.VaultURL, *suffix)
		}
		if env.resource == "" {
			env.resource = "https://vault." + strings.TrimPrefix(*suffix, ".")
		}
	}
	if rm := cc.ResourceManagerEndpoint; rm != nil && *rm != "" {
		u, err := httpsURL(*rm)
		if err != nil {
			return environment{}, fmt.Errorf("spec.provider.azurekv.customCloudConfig.resourceManagerEndpoint %w", err)
		}
		// No Key Vault read goes to Resource Manager; it is set for the
		// credential's cloud configuration, as ESO sets it.
		env.cloud.Services[cloud.ResourceManager] = cloud.ServiceConfiguration{Endpoint: u, Audience: u}
	}
	if env.resource == "" {
		return environment{}, fmt.Errorf("spec.provider.azurekv.customCloudConfig: environmentType %s has no Key Vault endpoint of its own; set keyVaultEndpoint or keyVaultDNSSuffix", a.EnvironmentType)
	}
	return env, nil
}

func httpsURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return "", fmt.Errorf("%q is not an https URL", raw)
	}
	return raw, nil
}

// validTenantID is azidentity's rule, checked here so that a typo is
// reported by ValidateStore rather than on first use.
func validTenantID(t string) bool {
	if t == "" {
		return false
	}
	for _, r := range t {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// NewClient returns a client for the store. It reads the store's
// credentials and builds the credential and the Key Vault clients once;
// the credential fetches a token when first needed, caches it, and
// refreshes it before it expires. Nothing is sent to Azure here.
func (p *Provider) NewClient(ctx context.Context, store secretstore.GenericStore, creds provider.Credentials) (provider.Client, error) {
	spec, env, err := azureSpec(store)
	if err != nil {
		return nil, err
	}
	base := azcore.ClientOptions{
		Cloud:     env.cloud,
		Retry:     p.opts.retry(),
		Telemetry: policy.TelemetryOptions{ApplicationID: "secretsync"},
	}
	if p.opts.httpClient != nil {
		base.Transport = p.opts.httpClient
	}
	credOpts := base
	if p.opts.observe != nil {
		credOpts.PerRetryPolicies = []policy.Policy{tokenAttemptCounter{}}
	}
	cred, err := credential(ctx, store, spec, creds, credOpts)
	if err != nil {
		return nil, err
	}
	if p.opts.observe != nil {
		service := "Entra ID"
		if authType(spec) == secretstore.AzureManagedIdentity {
			service = "Managed Identity"
		}
		cred = &observedCredential{cred: cred, service: service, observe: p.opts.observe, retry: base.Retry}
	}
	vault := base
	vault.PerRetryPolicies = []policy.Policy{attemptCounter{}}
	c := &client{store: secretstore.Ref(store), cred: cred, scope: env.resource + "/.default", retry: vault.Retry, observe: p.opts.observe}
	vaultURL := *spec.VaultURL
	if c.secrets, err = azsecrets.NewClient(vaultURL, cred, &azsecrets.ClientOptions{ClientOptions: vault}); err != nil {
		return nil, fmt.Errorf("%s: %w", c.store, err)
	}
	if c.certs, err = azcertificates.NewClient(vaultURL, cred, &azcertificates.ClientOptions{ClientOptions: vault}); err != nil {
		return nil, fmt.Errorf("%s: %w", c.store, err)
	}
	if c.keys, err = azkeys.NewClient(vaultURL, cred, &azkeys.ClientOptions{ClientOptions: vault}); err != nil {
		return nil, fmt.Errorf("%s: %w", c.store, err)
	}
	return c, nil
}

// client reads one vault. Its SDK clients share one credential, and so
// one token cache.
type client struct {
	store   string
	cred    azcore.TokenCredential
	scope   string
	retry   policy.RetryOptions
	observe func(Call)
	secrets *azsecrets.Client
	certs   *azcertificates.Client
	keys    *azkeys.Client
}

var (
	_ provider.Finder    = &client{}
	_ provider.Validator = &client{}
)

// Validate checks that the store's credential gets a Key Vault token
// from Microsoft Entra ID (or the Instance Metadata Service). It reads no
// secret and needs no permission on the vault, so stores whose identity
// may only get secrets pass; the token is cached for the reads that
// follow.
func (c *client) Validate(ctx context.Context) error {
	// The SDK clients ask for tokens enabled for continuous access
	// evaluation; asking alike shares their cache.
	if _, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.scope}, EnableCAE: true}); err != nil {
		return fmt.Errorf("%s: check credentials: %w", c.store, describe("", err, nil, c.retry))
	}
	return nil
}

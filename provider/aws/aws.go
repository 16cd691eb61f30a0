package aws

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Name is the provider field AWS stores use.
const Name = "aws"

// Provider serves stores whose spec sets provider.aws. A zero Provider is
// valid and uses the SDK's endpoints, HTTP client and retry limits.
type Provider struct {
	opts options
}

type options struct {
	endpoint    string
	httpClient  *http.Client
	maxAttempts int
	maxBackoff  time.Duration
	observe     func(Call)
	noBatch     bool
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

// WithEndpoint sends every AWS request (Secrets Manager, SSM, STS, and the
// generators' ECR and ECR Public) to url instead of the regional AWS
// endpoints, for emulators and tests. Without it the SDK honours
// AWS_ENDPOINT_URL and the service-specific
// AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_SSM,
// AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_ECR and
// AWS_ENDPOINT_URL_ECR_PUBLIC.
func WithEndpoint(url string) Option { return func(o *options) { o.endpoint = url } }

// WithHTTPClient makes every AWS request with c. AWS_CA_BUNDLE does not
// apply to it.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithRetry bounds the attempts of each AWS request, the first included,
// and the longest wait between two. Throttling and transient errors are
// retried by the SDK's standard retryer: before attempt n+1 it waits a
// random time up to 2^n seconds (full jitter), or maxBackoff once that
// exceeds it, and its retry quota stops retrying when most calls of a
// client fail. The defaults are the SDK's: 3 attempts, 20s.
func WithRetry(maxAttempts int, maxBackoff time.Duration) Option {
	return func(o *options) { o.maxAttempts, o.maxBackoff = maxAttempts, maxBackoff }
}

// WithCallObserver calls fn after every AWS operation the provider makes,
// retries included, for metrics. fn must be safe for concurrent use.
func WithCallObserver(fn func(Call)) Option { return func(o *options) { o.observe = fn } }

// WithoutBatching turns off the merging of concurrent reads into
// BatchGetSecretValue and GetParameters calls, so that IAM policies need
// grant only secretsmanager:GetSecretValue or ssm:GetParameter.
func WithoutBatching() Option { return func(o *options) { o.noBatch = true } }

// Call is one AWS operation, observed by [WithCallObserver]. Service is
// "Secrets Manager", "SSM", "STS", "ECR" or "ECR Public"; Operation the
// API name, such as "GetSecretValue"; Throttled counts the attempts AWS
// refused as throttled.
type Call = provider.Call

var (
	_ provider.Provider      = &Provider{}
	_ provider.SpecValidator = &Provider{}
)

// Name returns "aws".
func (*Provider) Name() string { return Name }

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// ValidateStore checks a store spec without contacting AWS.
func (*Provider) ValidateStore(store secretstore.GenericStore) error {
	_, err := awsSpec(store)
	return err
}

func awsSpec(store secretstore.GenericStore) (*secretstore.AWSProvider, error) {
	ref := secretstore.Ref(store)
	spec := store.StoreSpec()
	if spec.Provider == nil || spec.Provider.AWS == nil {
		return nil, fmt.Errorf("%s: spec.provider.aws is not set", ref)
	}
	a := spec.Provider.AWS
	switch a.Service {
	case secretstore.AWSServiceSecretsManager, secretstore.AWSServiceParameterStore:
	default:
		return nil, fmt.Errorf("%s: spec.provider.aws.service must be SecretsManager or ParameterStore, not %q", ref, a.Service)
	}
	if !regionPattern.MatchString(a.Region) {
		return nil, fmt.Errorf("%s: spec.provider.aws.region %q is not an AWS region, such as us-east-1", ref, a.Region)
	}
	auth := a.Auth
	if auth.SecretRef != nil && auth.JWTAuth != nil {
		return nil, fmt.Errorf("%s: spec.provider.aws.auth: set secretRef or jwt, not both", ref)
	}
	if auth.SecretRef != nil {
		for field, sel := range map[string]secretstore.SecretKeySelector{
			"accessKeyIDSecretRef":     auth.SecretRef.AccessKeyID,
			"secretAccessKeySecretRef": auth.SecretRef.SecretAccessKey,
		} {
			if sel.Name == "" || sel.Key == "" {
				return nil, fmt.Errorf("%s: spec.provider.aws.auth.secretRef.%s needs name and key", ref, field)
			}
			if _, err := provider.CredentialNamespace(store, sel.Namespace); err != nil {
				return nil, err
			}
		}
	}
	if auth.JWTAuth != nil {
		sa := auth.JWTAuth.ServiceAccountRef
		if sa == nil || sa.Name == "" {
			return nil, fmt.Errorf("%s: spec.provider.aws.auth.jwt.serviceAccountRef.name is not set", ref)
		}
		if _, err := provider.CredentialNamespace(store, sa.Namespace); err != nil {
			return nil, err
		}
	}
	for i, role := range append([]string{a.Role}, a.AdditionalRoles...) {
		if (i == 0 && role == "") || strings.HasPrefix(role, "arn:") {
			continue
		}
		return nil, fmt.Errorf("%s: role %q is not an ARN, such as arn:aws:iam::123456789012:role/name", ref, role)
	}
	tagKeys := map[string]bool{}
	for i, t := range a.SessionTags {
		if t == nil || t.Key == "" {
			return nil, fmt.Errorf("%s: spec.provider.aws.sessionTags[%d] has no key", ref, i)
		}
		tagKeys[t.Key] = true
	}
	switch a.SessionTagsPolicy {
	case "", secretstore.AWSSessionTagsPolicyNone:
	case secretstore.AWSSessionTagsPolicySimple, secretstore.AWSSessionTagsPolicyCustom:
		if a.Role == "" {
			return nil, fmt.Errorf("%s: spec.provider.aws.sessionTagsPolicy %s tags the session of spec.provider.aws.role, which is not set", ref, a.SessionTagsPolicy)
		}
		if store.Kind() == secretstore.KindClusterSecretStore {
			// ESO tags each ExternalSecret's session with that
			// ExternalSecret's namespace; secretsync keeps one session per
			// store, shared by every namespace, so it could only lie.
			return nil, fmt.Errorf("%s: spec.provider.aws.sessionTagsPolicy %s is not supported on a ClusterSecretStore: its esoNamespace tag names each ExternalSecret's namespace, and secretsync keeps one AWS session per store; use a SecretStore per namespace, or sessionTags", ref, a.SessionTagsPolicy)
		}
		for _, k := range []string{tagNamespace, tagStoreName, tagStoreKind} {
			if tagKeys[k] {
				return nil, fmt.Errorf("%s: spec.provider.aws.sessionTags sets %s, which sessionTagsPolicy %s sets", ref, k, a.SessionTagsPolicy)
			}
			tagKeys[k] = true
		}
	default:
		return nil, fmt.Errorf("%s: spec.provider.aws.sessionTagsPolicy must be None, Simple or Custom, not %q", ref, a.SessionTagsPolicy)
	}
	if len(a.CustomSessionTags) > 0 && a.SessionTagsPolicy != secretstore.AWSSessionTagsPolicyCustom {
		return nil, fmt.Errorf("%s: spec.provider.aws.customSessionTags are added only with sessionTagsPolicy Custom, not %q", ref, a.SessionTagsPolicy)
	}
	for k := range a.CustomSessionTags {
		if k == "" || tagKeys[k] {
			return nil, fmt.Errorf("%s: spec.provider.aws.customSessionTags: key %q is empty or set twice", ref, k)
		}
		tagKeys[k] = true
	}
	for _, k := range a.TransitiveTagKeys {
		if k == nil || !tagKeys[*k] {
			return nil, fmt.Errorf("%s: spec.provider.aws.transitiveTagKeys must name session tags", ref)
		}
	}
	if sm := a.SecretsManager; sm != nil {
		if sm.ForceDeleteWithoutRecovery && sm.RecoveryWindowInDays != 0 {
			return nil, fmt.Errorf("%s: spec.provider.aws.secretsManager: set forceDeleteWithoutRecovery or recoveryWindowInDays, not both", ref)
		}
		if d := sm.RecoveryWindowInDays; d != 0 && (d < 7 || d > 30) {
			return nil, fmt.Errorf("%s: spec.provider.aws.secretsManager.recoveryWindowInDays must be from 7 to 30, not %d", ref, d)
		}
	}
	return a, nil
}

// NewClient returns a client for the store. It builds the SDK clients and
// the credential chain once; credentials are fetched when first needed,
// cached, and refreshed before they expire.
func (p *Provider) NewClient(ctx context.Context, store secretstore.GenericStore, creds provider.Credentials) (provider.Client, error) {
	spec, err := awsSpec(store)
	if err != nil {
		return nil, err
	}
	cfg, err := p.config(ctx, storeScope(store), spec, creds)
	if err != nil {
		return nil, err
	}
	b := base{
		store:  secretstore.Ref(store),
		prefix: spec.Prefix,
		sts:    sts.NewFromConfig(cfg, p.stsOptions),
	}
	if spec.Service == secretstore.AWSServiceParameterStore {
		c := &parameterStore{base: b, api: ssm.NewFromConfig(cfg, func(o *ssm.Options) {
			if p.opts.endpoint != "" {
				o.BaseEndpoint = &p.opts.endpoint
			}
			o.APIOptions = append(o.APIOptions, p.observer("SSM"))
		})}
		if !p.opts.noBatch {
			c.batch = newCoalescer(maxGetParameters, c.getOne, c.getMany)
		}
		return c, nil
	}
	c := &secretsManager{base: b, api: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if p.opts.endpoint != "" {
			o.BaseEndpoint = &p.opts.endpoint
		}
		o.APIOptions = append(o.APIOptions, p.observer("Secrets Manager"))
	}), creds: creds}
	if spec.SecretsManager != nil {
		d := *spec.SecretsManager
		c.deletion = &d
	}
	if store.Kind() != secretstore.KindClusterSecretStore {
		c.namespace = store.GetNamespace()
	}
	if !p.opts.noBatch {
		c.batch = newCoalescer(maxBatchGetSecretValue, c.getOne, c.getMany)
	}
	return c, nil
}

// config loads the SDK configuration: region, retries, endpoints from the
// options or the environment, and the credential chain of spec's region,
// auth and roles.
func (p *Provider) config(ctx context.Context, sc scope, spec *secretstore.AWSProvider, creds provider.Credentials) (sdkaws.Config, error) {
	load := []func(*config.LoadOptions) error{
		config.WithRegion(spec.Region),
		config.WithAppID("secretsync"),
		config.WithRetryer(func() sdkaws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				if p.opts.maxAttempts > 0 {
					o.MaxAttempts = p.opts.maxAttempts
				}
				if p.opts.maxBackoff > 0 {
					o.MaxBackoff = p.opts.maxBackoff
				}
			})
		}),
	}
	if p.opts.endpoint != "" {
		load = append(load, config.WithBaseEndpoint(p.opts.endpoint))
	}
	if spec.Auth.SecretRef != nil {
		static, err := staticCredentials(ctx, sc, spec.Auth.SecretRef, creds)
		if err != nil {
			return sdkaws.Config{}, err
		}
		load = append(load, config.WithCredentialsProvider(static))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return sdkaws.Config{}, sc.errorf("load AWS configuration: %w", err)
	}
	if p.opts.httpClient != nil {
		// Set after loading: the loader would refuse a plain http.Client
		// when AWS_CA_BUNDLE asks it to add a CA to the client's transport.
		cfg.HTTPClient = p.opts.httpClient
	}
	cfg.HTTPClient = bodyWithoutWriterTo{cfg.HTTPClient}
	if cfg.Credentials, err = p.credentialChain(ctx, cfg, sc, spec, creds); err != nil {
		return sdkaws.Config{}, err
	}
	return cfg, nil
}

func (p *Provider) stsOptions(o *sts.Options) {
	if p.opts.endpoint != "" {
		o.BaseEndpoint = &p.opts.endpoint
	}
	o.APIOptions = append(o.APIOptions, p.observer("STS"))
}

// observer reports each operation to the WithCallObserver function. It
// sits at the start of the stack, so it sees the retry loop's result.
func (p *Provider) observer(service string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		if p.opts.observe == nil {
			return nil
		}
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("secretsync.observe",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				call := Call{Service: service, Operation: middleware.GetOperationName(ctx), Err: err}
				if res, ok := retry.GetAttemptResults(md); ok {
					call.Attempts = len(res.Results)
					for _, r := range res.Results {
						if r.Err != nil && retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(r.Err) == sdkaws.TrueTernary {
							call.Throttled++
						}
					}
				}
				p.opts.observe(call)
				return out, md, err
			}), middleware.Before)
	}
}

// base is what the Secrets Manager and Parameter Store clients share.
type base struct {
	store  string
	prefix string
	sts    *sts.Client
}

// Validate checks that the credential chain works with
// sts:GetCallerIdentity. It needs no IAM permission and reads no secret,
// yet exercises every step of the chain (keys, web identity, assumed
// roles) and the region; a secretsmanager:ListSecrets probe would fail
// stores whose policy rightly grants only GetSecretValue.
func (b *base) Validate(ctx context.Context) error {
	if _, err := b.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		return fmt.Errorf("%s: check credentials: %w", b.store, describe(err))
	}
	return nil
}

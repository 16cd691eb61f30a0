package aws

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

const (
	// Audience is the audience of the ServiceAccount tokens exchanged for
	// credentials, as EKS expects.
	Audience = "sts.amazonaws.com"
	// RoleAnnotation is the ServiceAccount annotation naming the role of
	// IRSA, as on EKS.
	RoleAnnotation = "eks.amazonaws.com/role-arn"
	// AudienceAnnotation is the ServiceAccount annotation that replaces
	// [Audience], as on EKS.
	AudienceAnnotation = "eks.amazonaws.com/audience"

	sessionName = "secretsync"
	// tokenLifetime is the shortest the TokenRequest API issues; the
	// token is exchanged at once.
	tokenLifetime = 10 * time.Minute
	// expiryWindow refreshes credentials this long before they expire,
	// so that no request is signed with credentials about to lapse.
	expiryWindow = time.Minute
)

// scope is whose AWS credentials are read: a store, or a generator
// resource, whose references resolve as a SecretStore's of the namespace
// it generates for.
type scope struct {
	// store applies the namespace rules of provider.SecretKey, and names
	// the session tags of sessionTagsPolicy.
	store secretstore.GenericStore
	// ref names the resource in errors, such as SecretStore/ns/name;
	// empty when the caller names it.
	ref string
	// path is where the AWS settings sit in the resource's spec, for
	// errors: spec.provider.aws in a store, spec in a generator.
	path string
}

func storeScope(store secretstore.GenericStore) scope {
	return scope{store: store, ref: secretstore.Ref(store), path: "spec.provider.aws"}
}

// errorf is fmt.Errorf with the resource named first.
func (sc scope) errorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	if sc.ref == "" {
		return err
	}
	return fmt.Errorf("%s: %w", sc.ref, err)
}

// credentialError reports a credential that could not be read. It does not
// unwrap: a missing credential is not a missing remote secret, and must
// not read as provider.ErrNotFound, which deletion policies act on.
func (sc scope) credentialError(what string, err error) error {
	return sc.errorf("%s: %v", what, err)
}

func staticCredentials(ctx context.Context, sc scope, ref *secretstore.AWSAuthSecretRef, creds provider.Credentials) (sdkaws.CredentialsProvider, error) {
	id, err := provider.SecretKey(ctx, creds, sc.store, ref.AccessKeyID)
	if err != nil {
		return nil, sc.credentialError("access key ID", err)
	}
	secret, err := provider.SecretKey(ctx, creds, sc.store, ref.SecretAccessKey)
	if err != nil {
		return nil, sc.credentialError("secret access key", err)
	}
	var token []byte
	if ref.SessionToken != nil {
		if token, err = provider.SecretKey(ctx, creds, sc.store, *ref.SessionToken); err != nil {
			return nil, sc.credentialError("session token", err)
		}
	}
	return credentials.NewStaticCredentialsProvider(string(id), string(secret), string(token)), nil
}

// credentialChain returns the store's credentials: the base credentials
// (static keys, a web identity, or the SDK's default chain), then each of
// spec.additionalRoles assumed in turn, then spec.role, as the External
// Secrets Operator does. Each step is cached and refreshed on its own.
func (p *Provider) credentialChain(ctx context.Context, cfg sdkaws.Config, sc scope, spec *secretstore.AWSProvider, creds provider.Credentials) (sdkaws.CredentialsProvider, error) {
	stsWith := func(c sdkaws.CredentialsProvider) *sts.Client {
		return sts.NewFromConfig(cfg, p.stsOptions, func(o *sts.Options) { o.Credentials = c })
	}
	chain := cfg.Credentials
	role := spec.Role
	if jwt := spec.Auth.JWTAuth; jwt != nil {
		web, err := webIdentityRole(ctx, sc, spec, creds)
		if err != nil {
			return nil, err
		}
		if web.role == spec.Role {
			// spec.role is the web identity role; assuming it again
			// would be a wasted call.
			role = ""
			if spec.ExternalID != "" || len(spec.SessionTags) > 0 || len(sessionTags(sc.store, spec)) > 0 {
				return nil, sc.errorf("%s.role is the web identity role here, and AssumeRoleWithWebIdentity takes no externalID, sessionTags or sessionTagsPolicy tags: annotate the ServiceAccount with %s instead", sc.path, RoleAnnotation)
			}
		}
		web.sts = stsWith(sdkaws.AnonymousCredentials{})
		web.scope, web.creds = sc, creds
		web.scope.store = sc.store.Copy()
		web.sa = *jwt.ServiceAccountRef.DeepCopy()
		chain = cache(web)
	}
	for _, r := range spec.AdditionalRoles {
		chain = cache(stscreds.NewAssumeRoleProvider(stsWith(chain), r, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = sessionName
		}))
	}
	if role != "" {
		chain = cache(stscreds.NewAssumeRoleProvider(stsWith(chain), role, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = sessionName
			if spec.ExternalID != "" {
				o.ExternalID = sdkaws.String(spec.ExternalID)
			}
			for _, t := range spec.SessionTags {
				o.Tags = append(o.Tags, ststypes.Tag{Key: sdkaws.String(t.Key), Value: sdkaws.String(t.Value)})
			}
			o.Tags = append(o.Tags, sessionTags(sc.store, spec)...)
			for _, k := range spec.TransitiveTagKeys {
				o.TransitiveTagKeys = append(o.TransitiveTagKeys, *k)
			}
		}))
	}
	return chain, nil
}

// The session tags of sessionTagsPolicy Simple and Custom, as ESO names
// them.
const (
	tagNamespace = "esoNamespace"
	tagStoreName = "esoStoreName"
	tagStoreKind = "esoStoreKind"
)

// sessionTags returns the tags spec.sessionTagsPolicy adds when assuming
// spec.role, sorted by key. The namespace is the store's: the policy is
// refused on a ClusterSecretStore, whose ExternalSecrets' namespaces one
// shared session cannot name.
func sessionTags(store secretstore.GenericStore, spec *secretstore.AWSProvider) []ststypes.Tag {
	var tags map[string]string
	switch spec.SessionTagsPolicy {
	case secretstore.AWSSessionTagsPolicySimple:
		tags = map[string]string{}
	case secretstore.AWSSessionTagsPolicyCustom:
		tags = maps.Clone(spec.CustomSessionTags)
		if tags == nil {
			tags = map[string]string{}
		}
	default:
		return nil
	}
	tags[tagNamespace] = store.GetNamespace()
	tags[tagStoreName] = store.GetName()
	tags[tagStoreKind] = store.Kind()
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]ststypes.Tag, 0, len(tags))
	for _, k := range keys {
		out = append(out, ststypes.Tag{Key: sdkaws.String(k), Value: sdkaws.String(tags[k])})
	}
	return out
}

func cache(p sdkaws.CredentialsProvider) sdkaws.CredentialsProvider {
	return sdkaws.NewCredentialsCache(p, func(o *sdkaws.CredentialsCacheOptions) {
		o.ExpiryWindow = expiryWindow
	})
}

// webIdentity exchanges a ServiceAccount token for credentials with
// AssumeRoleWithWebIdentity: IRSA without the projected token file.
type webIdentity struct {
	role     string
	audience string
	sts      *sts.Client
	scope    scope
	creds    provider.Credentials
	sa       secretstore.ServiceAccountSelector
}

func webIdentityRole(ctx context.Context, sc scope, spec *secretstore.AWSProvider, creds provider.Credentials) (*webIdentity, error) {
	w := &webIdentity{role: spec.Role, audience: Audience}
	// With a host that reads ServiceAccount annotations, IRSA takes the role
	// from eks.amazonaws.com/role-arn, as the External Secrets Operator and
	// EKS do, and spec.role is assumed after it. Without one, spec.role is
	// the role the ServiceAccount token is exchanged for.
	if reader, ok := creds.(provider.ServiceAccountAnnotations); ok {
		sa := spec.Auth.JWTAuth.ServiceAccountRef
		ns, err := provider.CredentialNamespace(sc.store, sa.Namespace)
		if err != nil {
			return nil, err
		}
		ann, err := reader.ServiceAccountAnnotations(ctx, ns, sa.Name)
		if err != nil {
			return nil, sc.credentialError("read ServiceAccount "+ns+"/"+sa.Name, err)
		}
		if r := ann[RoleAnnotation]; r != "" {
			w.role = r
		}
		if a := ann[AudienceAnnotation]; a != "" {
			w.audience = a
		}
	}
	if w.role == "" {
		return nil, sc.errorf("%[1]s.auth.jwt needs a role: set %[1]s.role or annotate the ServiceAccount with %[2]s", sc.path, RoleAnnotation)
	}
	return w, nil
}

// Retrieve requests a fresh token on every call: the cache around it calls
// only when the previous credentials are about to expire.
func (w *webIdentity) Retrieve(ctx context.Context) (sdkaws.Credentials, error) {
	token, err := provider.ServiceAccountToken(ctx, w.creds, w.scope.store, w.sa, []string{w.audience}, tokenLifetime)
	if err != nil {
		return sdkaws.Credentials{}, w.scope.credentialError("web identity", err)
	}
	out, err := w.sts.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          &w.role,
		RoleSessionName:  sdkaws.String(sessionName),
		WebIdentityToken: &token,
	})
	if err != nil {
		return sdkaws.Credentials{}, err
	}
	c := out.Credentials
	return sdkaws.Credentials{
		AccessKeyID:     sdkaws.ToString(c.AccessKeyId),
		SecretAccessKey: sdkaws.ToString(c.SecretAccessKey),
		SessionToken:    sdkaws.ToString(c.SessionToken),
		Source:          "secretsync web identity",
		CanExpire:       true,
		Expires:         sdkaws.ToTime(c.Expiration),
	}, nil
}

package aws

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecrpublic"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// ECRGenerator serves ECRAuthorizationToken generators: a docker login
// for Amazon ECR from GetAuthorizationToken, or, with spec.scope public,
// for ECR Public (public.ecr.aws), whose API AWS serves in us-east-1
// only. It makes the keys username, password and expires_at (Unix
// seconds), and proxy_endpoint, the registry URL, for private registries,
// as the External Secrets Operator does. The TTL is the token's: 12
// hours on AWS. ECR tokens cannot be revoked, so it is no
// [generator.Revoker] and its results have no State.
//
// Credentials are those of an aws store: spec.auth.secretRef or
// spec.auth.jwt, read in the namespace the engine generates for, or the
// SDK's default chain; spec.role is assumed on top. A zero ECRGenerator
// is valid and uses the SDK's endpoints, HTTP client and retry limits.
type ECRGenerator struct{ p Provider }

// STSGenerator serves STSSessionToken generators: temporary credentials
// of an IAM user from STS GetSessionToken, with spec.requestParameters'
// sessionDuration (900 to 129600 seconds; 12 hours when unset) and MFA
// serialNumber and tokenCode. It makes the keys access_key_id,
// secret_access_key, session_token and expiration (Unix seconds), as the
// External Secrets Operator does; the TTL is the credentials' lifetime.
// Session tokens cannot be revoked, so it is no [generator.Revoker] and
// its results have no State.
//
// AWS refuses GetSessionToken to session credentials, so the only
// credentials that can work are an IAM user's long-term keys, from
// spec.auth.secretRef or the SDK's default chain: spec.auth.jwt,
// spec.role and a secretRef's sessionTokenSecretRef are refused before
// any call. An MFA code is accepted once, and lives 30 seconds: a
// generator with spec.requestParameters.tokenCode makes its credentials
// once, and fails to renew them. A zero STSGenerator is valid and uses
// the SDK's endpoints, HTTP client and retry limits.
type STSGenerator struct{ p Provider }

var (
	_ generator.Generator = &ECRGenerator{}
	_ generator.Generator = &STSGenerator{}
)

// NewECRGenerator returns an ECRGenerator. It takes the options of [New]:
// [WithEndpoint] sends ECR, ECR Public and STS requests to an emulator,
// [WithCallObserver] sees them as services "ECR", "ECR Public" and "STS".
func NewECRGenerator(opts ...Option) *ECRGenerator {
	return &ECRGenerator{p: *New(opts...)}
}

// NewSTSGenerator returns an STSGenerator. It takes the options of [New].
func NewSTSGenerator(opts ...Option) *STSGenerator {
	return &STSGenerator{p: *New(opts...)}
}

// Kind returns "ECRAuthorizationToken".
func (*ECRGenerator) Kind() string { return generators.KindECRAuthorizationToken }

// Kind returns "STSSessionToken".
func (*STSGenerator) Kind() string { return generators.KindSTSSessionToken }

// ECR authorization token scopes.
const (
	scopePrivate = "private"
	scopePublic  = "public"
)

// Generate gets an authorization token. obj is an
// *generators.ECRAuthorizationToken.
func (g *ECRGenerator) Generate(ctx context.Context, obj runtime.Object, creds provider.Credentials, namespace string) (generator.Result, error) {
	res, ok := obj.(*generators.ECRAuthorizationToken)
	if !ok || res == nil {
		return generator.Result{}, fmt.Errorf("the %s generator takes a *generators.ECRAuthorizationToken, not %T", generators.KindECRAuthorizationToken, obj)
	}
	spec := res.Spec
	if spec.Scope != "" && spec.Scope != scopePrivate && spec.Scope != scopePublic {
		return generator.Result{}, fmt.Errorf("spec.scope must be private or public, not %q", spec.Scope)
	}
	cfg, err := g.p.generatorConfig(ctx, res.ObjectMeta, namespace, spec.Region, spec.Auth, spec.Role, creds)
	if err != nil {
		return generator.Result{}, err
	}

	var (
		token, proxy string
		expires      *time.Time
	)
	if spec.Scope == scopePublic {
		out, err := ecrpublic.NewFromConfig(cfg, func(o *ecrpublic.Options) {
			if g.p.opts.endpoint != "" {
				o.BaseEndpoint = &g.p.opts.endpoint
			}
			o.APIOptions = append(o.APIOptions, g.p.observer("ECR Public"))
		}).GetAuthorizationToken(ctx, &ecrpublic.GetAuthorizationTokenInput{})
		if err != nil {
			return generator.Result{}, describe(err)
		}
		if out.AuthorizationData == nil {
			return generator.Result{}, errors.New("ECR PUBLIC GetAuthorizationToken returned no authorizationData")
		}
		token, expires = sdkaws.ToString(out.AuthorizationData.AuthorizationToken), out.AuthorizationData.ExpiresAt
	} else {
		out, err := ecr.NewFromConfig(cfg, func(o *ecr.Options) {
			if g.p.opts.endpoint != "" {
				o.BaseEndpoint = &g.p.opts.endpoint
			}
			o.APIOptions = append(o.APIOptions, g.p.observer("ECR"))
		}).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
		if err != nil {
			return generator.Result{}, describe(err)
		}
		if len(out.AuthorizationData) != 1 {
			return generator.Result{}, fmt.Errorf("ECR GetAuthorizationToken returned %d authorizationData, want 1", len(out.AuthorizationData))
		}
		d := out.AuthorizationData[0]
		token, proxy, expires = sdkaws.ToString(d.AuthorizationToken), sdkaws.ToString(d.ProxyEndpoint), d.ExpiresAt
		if proxy == "" {
			return generator.Result{}, errors.New("ECR GetAuthorizationToken returned no proxyEndpoint")
		}
	}

	op := "ECR GetAuthorizationToken"
	if spec.Scope == scopePublic {
		op = "ECR PUBLIC GetAuthorizationToken"
	}
	// The token is a credential: errors describe it, never quote it.
	decoded, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return generator.Result{}, fmt.Errorf("%s returned an authorizationToken that is not base64", op)
	}
	user, password, ok := strings.Cut(string(decoded), ":")
	if !ok || user == "" || password == "" {
		return generator.Result{}, fmt.Errorf("%s returned an authorizationToken that is not user:password", op)
	}
	ttl, err := lifetime(op, "expiresAt", expires)
	if err != nil {
		return generator.Result{}, err
	}
	values := map[string][]byte{
		"username":   []byte(user),
		"password":   []byte(password),
		"expires_at": []byte(strconv.FormatInt(expires.Unix(), 10)),
	}
	if proxy != "" {
		values["proxy_endpoint"] = []byte(proxy)
	}
	return generator.Result{Values: values, TTL: ttl}, nil
}

// The bounds of GetSessionToken's DurationSeconds for an IAM user.
const (
	minSessionDuration = 900
	maxSessionDuration = 129600
)

// Generate gets a session token. obj is an *generators.STSSessionToken.
func (g *STSGenerator) Generate(ctx context.Context, obj runtime.Object, creds provider.Credentials, namespace string) (generator.Result, error) {
	res, ok := obj.(*generators.STSSessionToken)
	if !ok || res == nil {
		return generator.Result{}, fmt.Errorf("the %s generator takes a *generators.STSSessionToken, not %T", generators.KindSTSSessionToken, obj)
	}
	spec := res.Spec
	const sessionCreds = "AWS refuses GetSessionToken to session credentials: use an IAM user's access keys in spec.auth.secretRef"
	switch {
	case spec.Auth.JWTAuth != nil:
		return generator.Result{}, fmt.Errorf("spec.auth.jwt makes session credentials, and %s", sessionCreds)
	case spec.Role != "":
		return generator.Result{}, fmt.Errorf("spec.role makes session credentials, and %s", sessionCreds)
	case spec.Auth.SecretRef != nil && spec.Auth.SecretRef.SessionToken != nil:
		return generator.Result{}, fmt.Errorf("spec.auth.secretRef.sessionTokenSecretRef names session credentials, and %s", sessionCreds)
	}
	in := &sts.GetSessionTokenInput{}
	if rp := spec.RequestParameters; rp != nil {
		if d := rp.SessionDuration; d != nil {
			if *d < minSessionDuration || *d > maxSessionDuration {
				return generator.Result{}, fmt.Errorf("spec.requestParameters.sessionDuration must be from %d to %d seconds, not %d", minSessionDuration, maxSessionDuration, *d)
			}
			in.DurationSeconds = sdkaws.Int32(int32(*d))
		}
		// The token code is a credential, if a short-lived one: errors
		// name the field, never its value.
		if (rp.SerialNumber == nil) != (rp.TokenCode == nil) {
			return generator.Result{}, errors.New("spec.requestParameters: set serialNumber and tokenCode together, or neither")
		}
		in.SerialNumber, in.TokenCode = rp.SerialNumber, rp.TokenCode
	}
	cfg, err := g.p.generatorConfig(ctx, res.ObjectMeta, namespace, spec.Region, spec.Auth, "", creds)
	if err != nil {
		return generator.Result{}, err
	}
	out, err := sts.NewFromConfig(cfg, g.p.stsOptions).GetSessionToken(ctx, in)
	if err != nil {
		return generator.Result{}, describe(err)
	}
	c := out.Credentials
	if c == nil || sdkaws.ToString(c.AccessKeyId) == "" || sdkaws.ToString(c.SecretAccessKey) == "" || sdkaws.ToString(c.SessionToken) == "" {
		return generator.Result{}, errors.New("STS GetSessionToken returned incomplete credentials")
	}
	ttl, err := lifetime("STS GetSessionToken", "Expiration", c.Expiration)
	if err != nil {
		return generator.Result{}, err
	}
	return generator.Result{
		Values: map[string][]byte{
			"access_key_id":     []byte(*c.AccessKeyId),
			"secret_access_key": []byte(*c.SecretAccessKey),
			"session_token":     []byte(*c.SessionToken),
			"expiration":        []byte(strconv.FormatInt(c.Expiration.Unix(), 10)),
		},
		TTL: ttl,
	}, nil
}

// lifetime is how long what op returned is good for, until expires.
func lifetime(op, field string, expires *time.Time) (time.Duration, error) {
	if expires == nil || expires.IsZero() {
		return 0, fmt.Errorf("%s returned no %s", op, field)
	}
	ttl := time.Until(*expires)
	if ttl <= 0 {
		return 0, fmt.Errorf("%s returned a %s in the past, %s: check this host's clock", op, field, expires.UTC().Format(time.RFC3339))
	}
	return ttl, nil
}

// generatorConfig loads the SDK configuration of a generator's region,
// auth and role with the credential chain of stores. Its references
// resolve in namespace, the one it generates for, as a SecretStore's
// there do: a reference may name that namespace or none.
func (p *Provider) generatorConfig(ctx context.Context, meta metav1.ObjectMeta, namespace, region string, auth secretstore.AWSAuth, role string, creds provider.Credentials) (sdkaws.Config, error) {
	if !regionPattern.MatchString(region) {
		return sdkaws.Config{}, fmt.Errorf("spec.region %q is not an AWS region, such as us-east-1", region)
	}
	if role != "" && !strings.HasPrefix(role, "arn:") {
		return sdkaws.Config{}, fmt.Errorf("spec.role %q is not an ARN, such as arn:aws:iam::123456789012:role/name", role)
	}
	if err := checkGeneratorAuth(auth, namespace); err != nil {
		return sdkaws.Config{}, err
	}
	spec := &secretstore.AWSProvider{Region: region, Auth: *auth.DeepCopy(), Role: role}
	store := &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: meta.Name, Namespace: namespace},
		Spec:       secretstore.Spec{Provider: &secretstore.Provider{AWS: spec}},
	}
	// The engine names the generator in its errors; these need not.
	return p.config(ctx, scope{store: store, path: "spec"}, spec, creds)
}

// checkGeneratorAuth checks spec.auth of a generator, with the field
// paths of a generator, before the store code reads it.
func checkGeneratorAuth(auth secretstore.AWSAuth, namespace string) error {
	if auth.SecretRef != nil && auth.JWTAuth != nil {
		return errors.New("spec.auth: set secretRef or jwt, not both")
	}
	inNamespace := func(field string, ns *string) error {
		if namespace == "" {
			return fmt.Errorf("%s: no namespace to read credentials in", field)
		}
		if ns != nil && *ns != "" && *ns != namespace {
			return fmt.Errorf("%s.namespace: a generator reads credentials in namespace %q only, not %q", field, namespace, *ns)
		}
		return nil
	}
	if ref := auth.SecretRef; ref != nil {
		sels := []struct {
			field string
			sel   *secretstore.SecretKeySelector
		}{
			{"spec.auth.secretRef.accessKeyIDSecretRef", &ref.AccessKeyID},
			{"spec.auth.secretRef.secretAccessKeySecretRef", &ref.SecretAccessKey},
			{"spec.auth.secretRef.sessionTokenSecretRef", ref.SessionToken},
		}
		for _, s := range sels {
			if s.sel == nil {
				continue
			}
			if s.sel.Name == "" || s.sel.Key == "" {
				return fmt.Errorf("%s needs name and key", s.field)
			}
			if err := inNamespace(s.field, s.sel.Namespace); err != nil {
				return err
			}
		}
	}
	if jwt := auth.JWTAuth; jwt != nil {
		sa := jwt.ServiceAccountRef
		if sa == nil || sa.Name == "" {
			return errors.New("spec.auth.jwt.serviceAccountRef.name is not set")
		}
		if err := inNamespace("spec.auth.jwt.serviceAccountRef", sa.Namespace); err != nil {
			return err
		}
	}
	return nil
}

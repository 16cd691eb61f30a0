package vault

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Vault's AWS auth method, IAM type: the client signs an
// sts:GetCallerIdentity request and Vault sends it to STS to learn who
// signed it. The request is signed here, with Signature Version 4, rather
// than with the AWS SDK, so that importing this package links no AWS SDK.

const (
	iamDefaultRegion  = "us-east-1"
	iamRoleAnnotation = "eks.amazonaws.com/role-arn"
	iamAudience       = "sts.amazonaws.com"
	iamSessionName    = "secretsync"
	iamServerIDHeader = "X-Vault-AWS-IAM-Server-ID"
	// iamCallerIdentityBody is the form body of sts:GetCallerIdentity.
	iamCallerIdentityBody = "Action=GetCallerIdentity&Version=2011-06-15"
)

var iamRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// optInRegions are the regions AWS opened after March 2019, which the
// global STS endpoint does not serve.
var optInRegions = map[string]bool{
	"af-south-1": true, "ap-east-1": true, "ap-east-2": true, "ap-south-2": true, "ap-southeast-3": true,
	"ap-southeast-4": true, "ap-southeast-5": true, "ap-southeast-6": true, "ap-southeast-7": true,
	"ca-west-1": true, "eu-central-2": true, "eu-south-1": true, "eu-south-2": true, "il-central-1": true,
	"me-central-1": true, "me-south-1": true, "mx-central-1": true,
}

func validateIam(i *secretstore.VaultIamAuth) error {
	if strings.TrimSpace(i.Role) == "" {
		return errors.New("auth.iam.vaultRole: required")
	}
	if i.Region != "" && !iamRegion.MatchString(i.Region) {
		return fmt.Errorf("auth.iam.region: %q is not an AWS region, such as us-east-1", i.Region)
	}
	if i.SecretRef != nil && i.JWTAuth != nil {
		return errors.New("auth.iam: set at most one of secretRef and jwt")
	}
	if r := i.SecretRef; r != nil && (r.AccessKeyID.Name == "" || r.AccessKeyID.Key == "" || r.SecretAccessKey.Name == "" || r.SecretAccessKey.Key == "") {
		return errors.New("auth.iam.secretRef: accessKeyIDSecretRef and secretAccessKeySecretRef need name and key")
	}
	if j := i.JWTAuth; j != nil && (j.ServiceAccountRef == nil || j.ServiceAccountRef.Name == "") {
		return errors.New("auth.iam.jwt.serviceAccountRef.name: required")
	}
	if i.AWSIAMRole != "" && !strings.HasPrefix(i.AWSIAMRole, "arn:") {
		return fmt.Errorf("auth.iam.role: %q is not an ARN, such as arn:aws:iam::123456789012:role/name", i.AWSIAMRole)
	}
	switch i.STSEndpointPolicy {
	case "", secretstore.VaultIAMSTSEndpointPolicyLegacy, secretstore.VaultIAMSTSEndpointPolicyRegional:
	default:
		return fmt.Errorf("auth.iam.stsEndpointPolicy: %q is neither Legacy nor Regional", i.STSEndpointPolicy)
	}
	return nil
}

// awsCreds are AWS credentials; expires is zero for long-lived keys.
type awsCreds struct {
	id, secret, token string
	expires           time.Time
}

// iamAuth logs in to Vault's AWS auth method. Credentials that expire are
// fetched again at the login after they do.
type iamAuth struct {
	spec     secretstore.VaultIamAuth
	store    secretstore.GenericStore
	creds    provider.Credentials
	http     *http.Client
	endpoint string // the STS endpoint requests are sent to and signed for
	region   string // the region of the signature's scope
	now      func() time.Time
	// base returns the credentials before spec.role is assumed.
	base func(ctx context.Context) (awsCreds, error)
}

func iamLogin(ctx context.Context, store secretstore.GenericStore, spec *secretstore.VaultIamAuth, creds provider.Credentials) (func(context.Context, *api.Client) (*api.Secret, error), error) {
	a := &iamAuth{spec: *spec.DeepCopy(), store: store.Copy(), creds: creds, http: &http.Client{Timeout: 30 * time.Second}, now: time.Now}
	a.endpoint, a.region = stsEndpoint(spec, stsEndpointOverride())
	switch {
	case spec.SecretRef != nil:
		read := func(field string, sel secretstore.SecretKeySelector) (string, error) {
			v, err := provider.SecretKey(ctx, creds, store, sel)
			if err != nil {
				return "", fmt.Errorf("spec.provider.vault.auth.iam.secretRef.%s: %w", field, err)
			}
			return strings.TrimSpace(string(v)), nil
		}
		var c awsCreds
		var err error
		if c.id, err = read("accessKeyIDSecretRef", spec.SecretRef.AccessKeyID); err != nil {
			return nil, err
		}
		if c.secret, err = read("secretAccessKeySecretRef", spec.SecretRef.SecretAccessKey); err != nil {
			return nil, err
		}
		if spec.SecretRef.SessionToken != nil {
			if c.token, err = read("sessionTokenSecretRef", *spec.SecretRef.SessionToken); err != nil {
				return nil, err
			}
		}
		a.base = func(context.Context) (awsCreds, error) { return c, nil }
	case spec.JWTAuth != nil:
		a.base = a.webIdentityFromServiceAccount
	default:
		a.base = a.fromEnvironment
	}
	path := loginPath(spec.Path, "aws")
	return func(ctx context.Context, c *api.Client) (*api.Secret, error) {
		body, err := a.loginData(ctx)
		if err != nil {
			return nil, fmt.Errorf("log in at %s: %w", path, err)
		}
		return write(path, body)(ctx, c)
	}, nil
}

// stsEndpoint returns the STS endpoint a login is signed for and sent
// to, and the region of the signature's scope.
func stsEndpoint(spec *secretstore.VaultIamAuth, override string) (endpoint, region string) {
	region = spec.Region
	if region == "" {
		region = iamDefaultRegion
	}
	switch {
	case override != "":
		// An emulator or a VPC endpoint: signed for the region given.
		return override, region
	case spec.STSEndpointPolicy == secretstore.VaultIAMSTSEndpointPolicyRegional, optInRegions[region]:
		// The global endpoint does not serve regions AWS opened after
		// 2019, which must be enabled per account: their logins are
		// signed regionally under either policy, as ESO signs them.
		return "https://sts." + region + ".amazonaws.com", region
	}
	// Legacy: the global endpoint, whose signatures are scoped to
	// us-east-1, as Vault's default mount expects.
	return "https://sts.amazonaws.com", iamDefaultRegion
}

// stsEndpointOverride returns the STS endpoint the environment names:
// ESO's AWS_STS_ENDPOINT, or the AWS SDKs' AWS_ENDPOINT_URL_STS and
// AWS_ENDPOINT_URL.
func stsEndpointOverride() string {
	for _, env := range []string{"AWS_STS_ENDPOINT", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"} {
		if v := os.Getenv(env); v != "" {
			return strings.TrimRight(v, "/")
		}
	}
	return ""
}

// loginData returns the body of a login: the signed request, which Vault
// replays to STS, and the Vault role.
func (a *iamAuth) loginData(ctx context.Context) (map[string]any, error) {
	c, err := a.base(ctx)
	if err != nil {
		return nil, err
	}
	if a.spec.AWSIAMRole != "" {
		if c, err = a.assumeRole(ctx, c); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequest(http.MethodPost, a.endpoint+"/", strings.NewReader(iamCallerIdentityBody))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if id := a.spec.VaultAWSIAMServerID; id != "" {
		req.Header.Set(iamServerIDHeader, id)
	}
	signV4(req, []byte(iamCallerIdentityBody), c, a.region, "sts", a.now())
	headers, err := json.Marshal(req.Header)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"role":                    strings.TrimSpace(a.spec.Role),
		"iam_http_request_method": http.MethodPost,
		"iam_request_url":         base64.StdEncoding.EncodeToString([]byte(req.URL.String())),
		"iam_request_body":        base64.StdEncoding.EncodeToString([]byte(iamCallerIdentityBody)),
		"iam_request_headers":     base64.StdEncoding.EncodeToString(headers),
	}, nil
}

// fromEnvironment returns the controller's own credentials: static keys
// from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or IRSA's projected
// token from AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN. EKS Pod
// Identity's container credentials endpoint is not read.
func (a *iamAuth) fromEnvironment(ctx context.Context) (awsCreds, error) {
	if id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		return awsCreds{id: id, secret: secret, token: os.Getenv("AWS_SESSION_TOKEN")}, nil
	}
	file, role := os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE"), os.Getenv("AWS_ROLE_ARN")
	if file != "" && role != "" {
		tok, err := os.ReadFile(file)
		if err != nil {
			return awsCreds{}, fmt.Errorf("spec.provider.vault.auth.iam: read AWS_WEB_IDENTITY_TOKEN_FILE: %w", err)
		}
		return a.assumeRoleWithWebIdentity(ctx, role, strings.TrimSpace(string(tok)))
	}
	return awsCreds{}, errors.New("spec.provider.vault.auth.iam sets neither secretRef nor jwt, and the controller's environment has no AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN)")
}

// webIdentityFromServiceAccount exchanges a token of jwt.serviceAccountRef
// for credentials of the role its eks.amazonaws.com/role-arn annotation
// names, as IRSA does.
func (a *iamAuth) webIdentityFromServiceAccount(ctx context.Context) (awsCreds, error) {
	sa := *a.spec.JWTAuth.ServiceAccountRef
	reader, ok := a.creds.(provider.ServiceAccountAnnotations)
	if !ok {
		return awsCreds{}, errors.New("spec.provider.vault.auth.iam.jwt: the host cannot read ServiceAccount annotations, so the role of " + iamRoleAnnotation + " is unknown")
	}
	ns, err := provider.CredentialNamespace(a.store, sa.Namespace)
	if err != nil {
		return awsCreds{}, err
	}
	ann, err := reader.ServiceAccountAnnotations(ctx, ns, sa.Name)
	if err != nil {
		return awsCreds{}, fmt.Errorf("spec.provider.vault.auth.iam.jwt: read ServiceAccount %s/%s: %v", ns, sa.Name, err)
	}
	role := ann[iamRoleAnnotation]
	if role == "" {
		return awsCreds{}, fmt.Errorf("spec.provider.vault.auth.iam.jwt: ServiceAccount %s/%s has no %s annotation", ns, sa.Name, iamRoleAnnotation)
	}
	tok, err := provider.ServiceAccountToken(ctx, a.creds, a.store, sa, []string{iamAudience}, serviceAccountTokenExpiry)
	if err != nil {
		return awsCreds{}, fmt.Errorf("spec.provider.vault.auth.iam.jwt: %w", err)
	}
	return a.assumeRoleWithWebIdentity(ctx, role, tok)
}

type stsCredentials struct {
	AccessKeyID     string    `xml:"AccessKeyId"`
	SecretAccessKey string    `xml:"SecretAccessKey"`
	SessionToken    string    `xml:"SessionToken"`
	Expiration      time.Time `xml:"Expiration"`
}

func (a *iamAuth) assumeRoleWithWebIdentity(ctx context.Context, role, token string) (awsCreds, error) {
	form := url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
		"RoleArn": {role}, "RoleSessionName": {iamSessionName}, "WebIdentityToken": {token},
	}
	var out struct {
		Credentials stsCredentials `xml:"AssumeRoleWithWebIdentityResult>Credentials"`
	}
	if err := a.sts(ctx, "AssumeRoleWithWebIdentity", form, nil, &out); err != nil {
		return awsCreds{}, err
	}
	c := out.Credentials
	return awsCreds{id: c.AccessKeyID, secret: c.SecretAccessKey, token: c.SessionToken, expires: c.Expiration}, nil
}

func (a *iamAuth) assumeRole(ctx context.Context, base awsCreds) (awsCreds, error) {
	form := url.Values{
		"Action": {"AssumeRole"}, "Version": {"2011-06-15"},
		"RoleArn": {a.spec.AWSIAMRole}, "RoleSessionName": {iamSessionName},
	}
	if a.spec.ExternalID != "" {
		form.Set("ExternalId", a.spec.ExternalID)
	}
	var out struct {
		Credentials stsCredentials `xml:"AssumeRoleResult>Credentials"`
	}
	if err := a.sts(ctx, "AssumeRole", form, &base, &out); err != nil {
		return awsCreds{}, err
	}
	c := out.Credentials
	return awsCreds{id: c.AccessKeyID, secret: c.SecretAccessKey, token: c.SessionToken, expires: c.Expiration}, nil
}

// sts calls an STS action, signed with signer unless it is nil, and
// decodes the XML answer into out. Errors carry STS's code and message,
// which hold no credential.
func (a *iamAuth) sts(ctx context.Context, action string, form url.Values, signer *awsCreds, out any) error {
	body := []byte(form.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.endpoint+"/", strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if signer != nil {
		signV4(req, body, *signer, a.region, "sts", a.now())
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("spec.provider.vault.auth.iam: STS %s: %w", action, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("spec.provider.vault.auth.iam: STS %s: %w", action, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Code    string `xml:"Error>Code"`
			Message string `xml:"Error>Message"`
		}
		_ = xml.Unmarshal(raw, &e)
		return fmt.Errorf("spec.provider.vault.auth.iam: STS %s: HTTP %d %s: %s", action, resp.StatusCode, e.Code, e.Message)
	}
	if err := xml.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("spec.provider.vault.auth.iam: STS %s: decode the answer: %w", action, err)
	}
	return nil
}

// signV4 signs req with AWS Signature Version 4, over the host, the
// X-Amz-Date and every header already set.
func signV4(req *http.Request, body []byte, c awsCreds, region, service string, now time.Time) {
	amzDate := now.UTC().Format("20060102T150405Z")
	date := amzDate[:8]
	req.Header.Set("X-Amz-Date", amzDate)
	if c.token != "" {
		req.Header.Set("X-Amz-Security-Token", c.token)
	}
	if req.Header.Get("Host") == "" {
		req.Header.Set("Host", req.URL.Host)
	}
	names := make([]string, 0, len(req.Header))
	values := map[string]string{}
	for k, vs := range req.Header {
		n := strings.ToLower(k)
		names = append(names, n)
		trimmed := make([]string, len(vs))
		for i, v := range vs {
			trimmed[i] = strings.Join(strings.Fields(v), " ")
		}
		values[n] = strings.Join(trimmed, ",")
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, n := range names {
		canonHeaders.WriteString(n + ":" + values[n] + "\n")
	}
	signed := strings.Join(names, ";")
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	bodyHash := sha256.Sum256(body)
	canonical := strings.Join([]string{req.Method, path, req.URL.RawQuery, canonHeaders.String(), signed, hex.EncodeToString(bodyHash[:])}, "\n")
	scope := date + "/" + region + "/" + service + "/aws4_request"
	canonHash := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(canonHash[:])
	k := hmacSHA256([]byte("AWS4"+c.secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+c.id+"/"+scope+", SignedHeaders="+signed+", Signature="+hex.EncodeToString(hmacSHA256(k, toSign)))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

package gcp

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/google/externalaccount"
	"golang.org/x/oauth2/jwt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

const (
	// Scope of the access tokens the provider requests.
	Scope = "https://www.googleapis.com/auth/cloud-platform"
	// ServiceAccountAnnotation is the ServiceAccount annotation naming the
	// Google service account to impersonate, as on GKE.
	ServiceAccountAnnotation = "iam.gke.io/gcp-service-account"

	// tokenLifetime is the shortest the TokenRequest API issues; the
	// token is exchanged at once.
	tokenLifetime = 10 * time.Minute
)

var emailPattern = regexp.MustCompile(`^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+$`)

// credentialError reports a credential that could not be read. It does not
// unwrap: a missing credential is not a missing remote secret, and must
// not read as provider.ErrNotFound, which deletion policies act on.
func credentialError(store secretstore.GenericStore, what string, err error) error {
	return fmt.Errorf("%s: %s: %v", secretstore.Ref(store), what, err)
}

// tokenSource returns the store's credentials: a service-account key, a
// ServiceAccount token exchanged at STS, or Application Default
// Credentials. It returns nil when the store sets no auth and the
// provider was built [WithoutAuthentication].
func (p *Provider) tokenSource(ctx context.Context, store secretstore.GenericStore, spec *secretstore.GCPSMProvider, creds provider.Credentials) (oauth2.TokenSource, error) {
	// Tokens are refreshed long after NewClient returns: the requests
	// must not inherit its cancellation.
	long := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, p.httpClient())
	var (
		ts  oauth2.TokenSource
		err error
	)
	switch {
	case spec.Auth.SecretRef != nil:
		ts, err = p.serviceAccountKey(ctx, long, store, spec.Auth.SecretRef.SecretAccessKey, creds)
	case spec.Auth.WorkloadIdentity != nil:
		ts, err = p.workloadIdentity(ctx, long, store, spec.Auth.WorkloadIdentity, creds)
	case spec.Auth.WorkloadIdentityFederation != nil:
		ts, err = p.workloadIdentityFederation(ctx, long, store, spec.Auth.WorkloadIdentityFederation, creds)
	case p.opts.noAuth:
		return nil, nil
	default:
		var def *google.Credentials
		def, err = google.FindDefaultCredentials(long, Scope)
		if err != nil {
			return nil, fmt.Errorf("%s: no auth is set and Application Default Credentials are not available: %v", secretstore.Ref(store), err)
		}
		ts = def.TokenSource
	}
	if err != nil {
		return nil, err
	}
	// Each of these sources caches its token and refreshes it shortly
	// before it expires.
	return tokenErrors{ts}, nil
}

// tokenErrors reports failures to get a token as Unauthenticated. gRPC
// would report them as Unavailable, which the client library retries for
// a minute.
type tokenErrors struct{ ts oauth2.TokenSource }

func (t tokenErrors) Token() (*oauth2.Token, error) {
	tok, err := t.ts.Token()
	if err != nil {
		return nil, &tokenError{msg: "get an access token: " + tokenMessage(err)}
	}
	return tok, nil
}

// tokenMessage puts an OAuth 2.0 error on one line: its status, code and
// description, without the response headers.
func tokenMessage(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		body := struct {
			Code        string `json:"error"`
			Description string `json:"error_description"`
		}{re.ErrorCode, re.ErrorDescription}
		if body.Code == "" {
			json.Unmarshal(re.Body, &body)
		}
		msg := "token endpoint answered " + re.Response.Status
		for _, part := range []string{body.Code, body.Description} {
			if part != "" {
				msg += ": " + strings.Join(strings.Fields(part), " ")
			}
		}
		return msg
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// tokenError does not unwrap: the client library would turn an
// oauth2.RetrieveError inside it into an error of its own, without the
// gRPC status.
type tokenError struct{ msg string }

func (e *tokenError) Error() string              { return e.msg }
func (e *tokenError) GRPCStatus() *status.Status { return status.New(codes.Unauthenticated, e.msg) }

// knownCredentialTypes are the other types of Google credential files.
var knownCredentialTypes = map[string]bool{
	"authorized_user":                  true,
	"external_account":                 true,
	"external_account_authorized_user": true,
	"impersonated_service_account":     true,
	"gdch_service_account":             true,
}

// keyFile is the part of a service-account JSON key the provider reads.
type keyFile struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
}

// serviceAccountKey signs JWT assertions with the key and exchanges them
// at the OAuth 2.0 token endpoint. The key's own token_uri is not used:
// a key can name any URL, and the controller would post to it and report
// its answer. Only keys of type service_account are accepted; other
// credential files can make their reader fetch local files or URLs.
func (p *Provider) serviceAccountKey(ctx, long context.Context, store secretstore.GenericStore, sel secretstore.SecretKeySelector, creds provider.Credentials) (oauth2.TokenSource, error) {
	raw, err := provider.SecretKey(ctx, creds, store, sel)
	if err != nil {
		return nil, credentialError(store, "service-account key", err)
	}
	var f keyFile
	// encoding/json errors can quote the input, a credential.
	if json.Unmarshal(raw, &f) != nil {
		return nil, fmt.Errorf("%s: the service-account key in key %q of Secret %s is not JSON", secretstore.Ref(store), sel.Key, sel.Name)
	}
	if f.Type != "service_account" {
		kind := "of an unknown type"
		if knownCredentialTypes[f.Type] {
			// Only a known type is quoted: the field is part of a
			// credential.
			kind = fmt.Sprintf("of type %q", f.Type)
		}
		return nil, fmt.Errorf("%s: the credentials in key %q of Secret %s are %s; only a service-account key (type service_account) is accepted", secretstore.Ref(store), sel.Key, sel.Name, kind)
	}
	if f.ClientEmail == "" || !validPrivateKey(f.PrivateKey) {
		return nil, fmt.Errorf("%s: the service-account key in key %q of Secret %s needs client_email and a PEM private_key", secretstore.Ref(store), sel.Key, sel.Name)
	}
	cfg := &jwt.Config{
		Email:        f.ClientEmail,
		PrivateKey:   []byte(f.PrivateKey),
		PrivateKeyID: f.PrivateKeyID,
		Scopes:       []string{Scope},
		TokenURL:     orDefault(p.opts.tokenURL, defaultTokenURL),
	}
	return cfg.TokenSource(long), nil
}

func validPrivateKey(s string) bool {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return false
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return true
	}
	_, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	return err == nil
}

// workloadIdentity is GKE workload identity without the metadata server:
// a token for the ServiceAccount from the TokenRequest API, with the
// cluster's workload pool as its audience, is exchanged at STS for a
// federated token, as the External Secrets Operator does. When the
// ServiceAccount is annotated with iam.gke.io/gcp-service-account, the
// federated token then impersonates that Google service account with
// IAM Credentials' generateAccessToken; otherwise it is used as it is,
// for IAM bindings on the principal serviceAccount:POOL[NAMESPACE/NAME].
//
// The cluster's project, location and name come from the spec or, where
// it leaves them out, from the GCE metadata server, as on GKE nodes.
func (p *Provider) workloadIdentity(ctx, long context.Context, store secretstore.GenericStore, wi *secretstore.GCPWorkloadIdentity, creds provider.Credentials) (oauth2.TokenSource, error) {
	sa := wi.ServiceAccountRef
	ns, err := provider.CredentialNamespace(store, sa.Namespace)
	if err != nil {
		return nil, err
	}
	project, location, cluster, err := clusterIdentity(ctx, wi)
	if err != nil {
		return nil, fmt.Errorf("%s: workload identity: %w", secretstore.Ref(store), err)
	}
	pool := project + ".svc.id.goog"
	idProvider := fmt.Sprintf("https://container.googleapis.com/v1/projects/%s/locations/%s/clusters/%s", project, location, cluster)

	conf := externalaccount.Config{
		Audience:         "identitynamespace:" + pool + ":" + idProvider,
		SubjectTokenType: "urn:ietf:params:oauth:token-type:jwt",
		TokenURL:         orDefault(p.opts.stsURL, defaultSTSURL),
		Scopes:           []string{Scope},
		SubjectTokenSupplier: &serviceAccountToken{
			store: store.Copy(), creds: creds, sa: *sa.DeepCopy(), audience: pool,
		},
	}
	if reader, ok := creds.(provider.ServiceAccountAnnotations); ok {
		ann, err := reader.ServiceAccountAnnotations(ctx, ns, sa.Name)
		if err != nil {
			return nil, credentialError(store, "read ServiceAccount "+ns+"/"+sa.Name, err)
		}
		if gsa := ann[ServiceAccountAnnotation]; gsa != "" {
			if !emailPattern.MatchString(gsa) {
				return nil, fmt.Errorf("%s: annotation %s of ServiceAccount %s/%s is not a service account's email: %q", secretstore.Ref(store), ServiceAccountAnnotation, ns, sa.Name, gsa)
			}
			conf.ServiceAccountImpersonationURL = orDefault(p.opts.iamURL, defaultIAMCredentials) + "/v1/projects/-/serviceAccounts/" + gsa + ":generateAccessToken"
		}
	}
	ts, err := externalaccount.NewTokenSource(long, conf)
	if err != nil {
		return nil, fmt.Errorf("%s: workload identity: %w", secretstore.Ref(store), err)
	}
	return ts, nil
}

// clusterIdentity returns the cluster's project, location and name.
func clusterIdentity(ctx context.Context, wi *secretstore.GCPWorkloadIdentity) (project, location, cluster string, err error) {
	project, location, cluster = wi.ClusterProjectID, wi.ClusterLocation, wi.ClusterName
	if project != "" && location != "" && cluster != "" {
		return project, location, cluster, nil
	}
	md := metadata.NewClient(nil)
	for _, f := range []struct {
		value *string
		field string
		path  string
		ok    *regexp.Regexp
	}{
		{&project, "clusterProjectID", "project/project-id", projectPattern},
		{&location, "clusterLocation", "instance/attributes/cluster-location", zonePattern},
		{&cluster, "clusterName", "instance/attributes/cluster-name", clusterPattern},
	} {
		if *f.value != "" {
			continue
		}
		v, err := md.GetWithContext(ctx, f.path)
		if err != nil {
			return "", "", "", fmt.Errorf("%s is not set and the GCE metadata server did not tell it: %v", f.field, err)
		}
		if !f.ok.MatchString(v) {
			return "", "", "", fmt.Errorf("%s is not set and the GCE metadata server's %q is not valid", f.field, v)
		}
		*f.value = v
	}
	return project, location, cluster, nil
}

// serviceAccountToken requests a ServiceAccount token for each exchange:
// the token source around it exchanges only when its access token is
// about to expire.
type serviceAccountToken struct {
	store    secretstore.GenericStore
	creds    provider.Credentials
	sa       secretstore.ServiceAccountSelector
	audience string
}

func (s *serviceAccountToken) SubjectToken(ctx context.Context, _ externalaccount.SupplierOptions) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	tok, err := provider.ServiceAccountToken(ctx, s.creds, s.store, s.sa, []string{s.audience}, tokenLifetime)
	if err != nil {
		return "", credentialError(s.store, "workload identity", err)
	}
	return tok, nil
}

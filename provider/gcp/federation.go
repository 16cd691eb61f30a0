package gcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google/externalaccount"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Subject token types of workload identity federation.
const (
	subjectTokenJWT = "urn:ietf:params:oauth:token-type:jwt"
	subjectTokenAWS = "urn:ietf:params:aws:token-type:aws4_request"
)

// credConfig is an external account credential configuration, the JSON
// `gcloud iam workload-identity-pools create-cred-config` writes.
type credConfig struct {
	Type                           string                            `json:"type"`
	Audience                       string                            `json:"audience"`
	SubjectTokenType               string                            `json:"subject_token_type"`
	TokenURL                       string                            `json:"token_url"`
	ServiceAccountImpersonationURL string                            `json:"service_account_impersonation_url"`
	CredentialSource               *externalaccount.CredentialSource `json:"credential_source"`
}

func validateFederation(f *secretstore.GCPWorkloadIdentityFederation) error {
	n := 0
	for _, set := range []bool{f.CredConfig != nil, f.ServiceAccountRef != nil, f.AwsSecurityCredentials != nil} {
		if set {
			n++
		}
	}
	if n == 0 {
		return errors.New("spec.provider.gcpsm.auth.workloadIdentityFederation: set credConfig, serviceAccountRef or awsSecurityCredentials")
	}
	if f.ServiceAccountRef != nil && f.AwsSecurityCredentials != nil {
		return errors.New("spec.provider.gcpsm.auth.workloadIdentityFederation: set serviceAccountRef or awsSecurityCredentials, not both")
	}
	if f.CredConfig == nil && f.Audience == "" {
		return errors.New("spec.provider.gcpsm.auth.workloadIdentityFederation.audience is required with serviceAccountRef or awsSecurityCredentials")
	}
	if f.ServiceAccountRef != nil && f.ServiceAccountRef.Name == "" {
		return errors.New("spec.provider.gcpsm.auth.workloadIdentityFederation.serviceAccountRef.name is not set")
	}
	if a := f.AwsSecurityCredentials; a != nil && (a.Region == "" || a.AwsCredentialsSecretRef == nil || a.AwsCredentialsSecretRef.Name == "") {
		return errors.New("spec.provider.gcpsm.auth.workloadIdentityFederation.awsSecurityCredentials needs region and awsCredentialsSecretRef.name")
	}
	return nil
}

// workloadIdentityFederation exchanges a token of another identity
// provider at Google's STS, as ESO's workloadIdentityFederation does: a
// token of serviceAccountRef, a signed AWS request made with the keys of
// awsSecurityCredentials, or what the credential configuration of
// credConfig names. A configuration that reads a file or runs a program
// on the controller is refused: a store's author must not reach the
// controller's own files.
func (p *Provider) workloadIdentityFederation(ctx, long context.Context, store secretstore.GenericStore, f *secretstore.GCPWorkloadIdentityFederation, creds provider.Credentials) (oauth2.TokenSource, error) {
	ref := secretstore.Ref(store)
	if err := validateFederation(f); err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	conf := externalaccount.Config{
		Audience: f.Audience,
		TokenURL: orDefault(p.opts.stsURL, defaultSTSURL),
		Scopes:   []string{Scope},
	}
	if cc := f.CredConfig; cc != nil {
		ns, err := provider.CredentialNamespace(store, optional(cc.Namespace))
		if err != nil {
			return nil, err
		}
		if creds == nil {
			return nil, fmt.Errorf("%s: no credentials reader to read ConfigMap %s/%s", ref, ns, cc.Name)
		}
		raw, err := creds.ConfigMapValue(ctx, ns, cc.Name, cc.Key)
		if err != nil {
			return nil, credentialError(store, fmt.Sprintf("read key %q of ConfigMap %s/%s", cc.Key, ns, cc.Name), err)
		}
		var c credConfig
		if err := json.Unmarshal(raw, &c); err != nil || c.Type != "external_account" {
			return nil, fmt.Errorf("%s: spec.provider.gcpsm.auth.workloadIdentityFederation.credConfig: key %q of ConfigMap %s/%s is not an external_account credential configuration", ref, cc.Key, ns, cc.Name)
		}
		if conf.Audience == "" {
			conf.Audience = c.Audience
		}
		if c.TokenURL != "" {
			if err := httpsOrLocal(c.TokenURL); err != nil {
				return nil, fmt.Errorf("%s: spec.provider.gcpsm.auth.workloadIdentityFederation.credConfig: token_url %w", ref, err)
			}
			conf.TokenURL = c.TokenURL
		}
		conf.ServiceAccountImpersonationURL = c.ServiceAccountImpersonationURL
		conf.SubjectTokenType = c.SubjectTokenType
		if f.ServiceAccountRef == nil && f.AwsSecurityCredentials == nil {
			src := c.CredentialSource
			switch {
			case src == nil:
				return nil, fmt.Errorf("%s: spec.provider.gcpsm.auth.workloadIdentityFederation.credConfig has no credential_source: set serviceAccountRef or awsSecurityCredentials", ref)
			case src.File != "":
				return nil, fmt.Errorf("%s: spec.provider.gcpsm.auth.workloadIdentityFederation.credConfig: credential_source.file reads the controller's files and is refused; use serviceAccountRef for a Kubernetes token", ref)
			case src.Executable != nil:
				return nil, fmt.Errorf("%s: spec.provider.gcpsm.auth.workloadIdentityFederation.credConfig: credential_source.executable runs a program on the controller and is refused", ref)
			case src.URL != "":
				if f.ExternalTokenEndpoint != "" && src.URL != f.ExternalTokenEndpoint {
					return nil, fmt.Errorf("%s: spec.provider.gcpsm.auth.workloadIdentityFederation: credConfig's credential_source.url %q is not externalTokenEndpoint %q", ref, src.URL, f.ExternalTokenEndpoint)
				}
			}
			conf.CredentialSource = src
		}
	}
	if conf.Audience == "" {
		return nil, fmt.Errorf("%s: spec.provider.gcpsm.auth.workloadIdentityFederation: no audience, in the spec or in credConfig", ref)
	}
	switch {
	case f.ServiceAccountRef != nil:
		sa := *f.ServiceAccountRef.DeepCopy()
		if _, err := provider.CredentialNamespace(store, sa.Namespace); err != nil {
			return nil, err
		}
		conf.SubjectTokenType = subjectTokenJWT
		conf.SubjectTokenSupplier = &serviceAccountToken{store: store.Copy(), creds: creds, sa: sa, audience: conf.Audience}
		if conf.ServiceAccountImpersonationURL == "" {
			url, err := p.impersonation(ctx, store, sa, creds)
			if err != nil {
				return nil, err
			}
			conf.ServiceAccountImpersonationURL = url
		}
	case f.AwsSecurityCredentials != nil:
		a := f.AwsSecurityCredentials
		ns, err := provider.CredentialNamespace(store, optional(a.AwsCredentialsSecretRef.Namespace))
		if err != nil {
			return nil, err
		}
		conf.SubjectTokenType = subjectTokenAWS
		conf.AwsSecurityCredentialsSupplier = &awsKeys{store: store.Copy(), creds: creds, namespace: ns, name: a.AwsCredentialsSecretRef.Name, region: a.Region}
	}
	ts, err := externalaccount.NewTokenSource(long, conf)
	if err != nil {
		return nil, fmt.Errorf("%s: workload identity federation: %w", ref, err)
	}
	return ts, nil
}

// impersonation returns the generateAccessToken URL of the Google service
// account sa's iam.gke.io/gcp-service-account annotation names, or "" to
// use the federated token itself.
func (p *Provider) impersonation(ctx context.Context, store secretstore.GenericStore, sa secretstore.ServiceAccountSelector, creds provider.Credentials) (string, error) {
	reader, ok := creds.(provider.ServiceAccountAnnotations)
	if !ok {
		return "", nil
	}
	ns, err := provider.CredentialNamespace(store, sa.Namespace)
	if err != nil {
		return "", err
	}
	ann, err := reader.ServiceAccountAnnotations(ctx, ns, sa.Name)
	if err != nil {
		return "", credentialError(store, "read ServiceAccount "+ns+"/"+sa.Name, err)
	}
	gsa := ann[ServiceAccountAnnotation]
	if gsa == "" {
		return "", nil
	}
	if !emailPattern.MatchString(gsa) {
		return "", fmt.Errorf("%s: annotation %s of ServiceAccount %s/%s is not a service account's email: %q", secretstore.Ref(store), ServiceAccountAnnotation, ns, sa.Name, gsa)
	}
	return orDefault(p.opts.iamURL, defaultIAMCredentials) + "/v1/projects/-/serviceAccounts/" + gsa + ":generateAccessToken", nil
}

// awsKeys supplies the AWS keys of a Secret, with ESO's key names, read at
// each exchange so that a rotation is picked up.
type awsKeys struct {
	store           secretstore.GenericStore
	creds           provider.Credentials
	namespace, name string
	region          string
}

func (a *awsKeys) AwsRegion(context.Context, externalaccount.SupplierOptions) (string, error) {
	return a.region, nil
}

func (a *awsKeys) AwsSecurityCredentials(ctx context.Context, _ externalaccount.SupplierOptions) (*externalaccount.AwsSecurityCredentials, error) {
	if a.creds == nil {
		return nil, credentialError(a.store, "awsSecurityCredentials", errors.New("no credentials reader"))
	}
	read := func(key string, required bool) (string, error) {
		v, err := a.creds.SecretValue(ctx, a.namespace, a.name, key)
		if err != nil {
			if !required && errors.Is(err, provider.ErrNotFound) {
				return "", nil
			}
			return "", credentialError(a.store, fmt.Sprintf("read key %q of Secret %s/%s", key, a.namespace, a.name), err)
		}
		return strings.TrimSpace(string(v)), nil
	}
	id, err := read("aws_access_key_id", true)
	if err != nil {
		return nil, err
	}
	secret, err := read("aws_secret_access_key", true)
	if err != nil {
		return nil, err
	}
	token, err := read("aws_session_token", false)
	if err != nil {
		return nil, err
	}
	return &externalaccount.AwsSecurityCredentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// httpsOrLocal refuses a token URL that would send a subject token in the
// clear, except to this host, where emulators listen.
func httpsOrLocal(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL", raw)
	}
	if u.Scheme == "https" || (u.Scheme == "http" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost" || u.Hostname() == "::1")) {
		return nil
	}
	return fmt.Errorf("%q is not an https URL", raw)
}

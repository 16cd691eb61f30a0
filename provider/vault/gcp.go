package vault

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Vault's GCP auth method, IAM type: the client presents a JWT that a GCP
// service account signed, with the audience vault/ROLE, and Vault checks
// the signature against the account's public keys at Google. With
// secretRef the JWT is signed here with the account's key; with
// workloadIdentity, by IAM Credentials' signJwt, called with the access
// token a GKE workload identity gets for the ServiceAccount. Both with
// plain HTTP, so that importing this package links no Google SDK.

// gcpJWTLifetime is how long the login JWT is valid; Vault's roles accept
// up to 15 minutes by default (max_jwt_exp).
const gcpJWTLifetime = 10 * time.Minute

func validateGCP(g *secretstore.VaultGCPAuth) error {
	if strings.TrimSpace(g.Role) == "" {
		return errors.New("auth.gcp.role: required")
	}
	switch {
	case g.SecretRef != nil && g.WorkloadIdentity != nil:
		return errors.New("auth.gcp: set secretRef or workloadIdentity, not both")
	case g.ServiceAccountRef != nil:
		return errors.New("auth.gcp.serviceAccountRef: not supported by secretsync; use workloadIdentity or a service account key (auth.gcp.secretRef)")
	case g.WorkloadIdentity != nil:
		if g.WorkloadIdentity.ServiceAccountRef.Name == "" {
			return errors.New("auth.gcp.workloadIdentity.serviceAccountRef.name: required")
		}
		return nil
	case g.SecretRef == nil:
		return errors.New("auth.gcp: the controller's own GCP identity is not supported by secretsync; use workloadIdentity or a service account key (auth.gcp.secretRef)")
	}
	if s := g.SecretRef.SecretAccessKey; s.Name == "" || s.Key == "" {
		return errors.New("auth.gcp.secretRef.secretAccessKeySecretRef: needs name and key")
	}
	return nil
}

// serviceAccountKey is the part of a service account's JSON key that
// signs.
type serviceAccountKey struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
}

func gcpLogin(ctx context.Context, store secretstore.GenericStore, spec *secretstore.VaultGCPAuth, creds provider.Credentials, google googleEndpoints) (func(context.Context, *api.Client) (*api.Secret, error), error) {
	if err := validateGCP(spec); err != nil {
		return nil, fmt.Errorf("spec.provider.vault.%w", err)
	}
	role := strings.TrimSpace(spec.Role)
	path := loginPath(spec.Path, "gcp")
	if wi := spec.WorkloadIdentity; wi != nil {
		signer, err := newGKESigner(ctx, store, spec, creds, google)
		if err != nil {
			return nil, fmt.Errorf("spec.provider.vault.auth.gcp.workloadIdentity: %w", err)
		}
		return func(ctx context.Context, c *api.Client) (*api.Secret, error) {
			jwt, err := signer.sign(ctx, role, time.Now())
			if err != nil {
				return nil, fmt.Errorf("log in at %s: %w", path, err)
			}
			return write(path, map[string]any{"role": role, "jwt": jwt})(ctx, c)
		}, nil
	}
	raw, err := provider.SecretKey(ctx, creds, store, spec.SecretRef.SecretAccessKey)
	if err != nil {
		return nil, fmt.Errorf("spec.provider.vault.auth.gcp.secretRef.secretAccessKeySecretRef: %w", err)
	}
	key, email, kid, err := parseServiceAccountKey(raw)
	if err != nil {
		// The key's content never reaches the message.
		return nil, fmt.Errorf("spec.provider.vault.auth.gcp.secretRef.secretAccessKeySecretRef: %w", err)
	}
	return func(ctx context.Context, c *api.Client) (*api.Secret, error) {
		jwt, err := signGCPLoginJWT(key, kid, email, role, time.Now())
		if err != nil {
			return nil, fmt.Errorf("log in at %s: %w", path, err)
		}
		return write(path, map[string]any{"role": role, "jwt": jwt})(ctx, c)
	}, nil
}

func parseServiceAccountKey(raw []byte) (*rsa.PrivateKey, string, string, error) {
	var k serviceAccountKey
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, "", "", errors.New("not a service account JSON key")
	}
	if k.Type != "service_account" || k.ClientEmail == "" || k.PrivateKey == "" {
		return nil, "", "", errors.New("not a service account JSON key: type, client_email or private_key is missing")
	}
	block, _ := pem.Decode([]byte(k.PrivateKey))
	if block == nil {
		return nil, "", "", errors.New("private_key holds no PEM block")
	}
	var key any
	var err error
	if key, err = x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		if key, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			return nil, "", "", errors.New("private_key is neither a PKCS #8 nor a PKCS #1 key")
		}
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, "", "", errors.New("private_key is not an RSA key")
	}
	return rsaKey, k.ClientEmail, k.PrivateKeyID, nil
}

// signGCPLoginJWT returns the JWT of a login as role: subject the service
// account, audience vault/ROLE, as Vault's GCP auth method expects.
func signGCPLoginJWT(key *rsa.PrivateKey, kid, email, role string, now time.Time) (string, error) {
	enc := func(v any) (string, error) {
		b, err := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b), err
	}
	header := map[string]string{"alg": "RS256", "typ": "JWT"}
	if kid != "" {
		header["kid"] = kid
	}
	h, err := enc(header)
	if err != nil {
		return "", err
	}
	c, err := enc(map[string]any{
		"iss": email, "sub": email, "aud": "vault/" + role,
		"iat": now.Unix(), "exp": now.Add(gcpJWTLifetime).Unix(),
	})
	if err != nil {
		return "", err
	}
	digest := sha256.Sum256([]byte(h + "." + c))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("sign the login JWT: %w", err)
	}
	return h + "." + c + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// googleEndpoints are where workload identity's requests go; empty fields
// mean Google's production endpoints.
type googleEndpoints struct{ sts, iam string }

func (g googleEndpoints) stsURL() string {
	if g.sts != "" {
		return g.sts
	}
	return "https://sts.googleapis.com/v1/token"
}

func (g googleEndpoints) iamURL() string {
	if g.iam != "" {
		return strings.TrimRight(g.iam, "/")
	}
	return "https://iamcredentials.googleapis.com"
}

const gkeServiceAccountAnnotation = "iam.gke.io/gcp-service-account"

// gkeSigner has IAM Credentials sign login JWTs as the Google service
// account a ServiceAccount's iam.gke.io/gcp-service-account annotation
// names, with the access token GKE workload identity gives that
// ServiceAccount: its token, for the audience PROJECT.svc.id.goog, is
// exchanged at STS, as the External Secrets Operator does without the
// metadata server.
type gkeSigner struct {
	store    secretstore.GenericStore
	creds    provider.Credentials
	sa       secretstore.ServiceAccountSelector
	gsa      string
	pool     string
	audience string
	google   googleEndpoints
	http     *http.Client
}

func newGKESigner(ctx context.Context, store secretstore.GenericStore, spec *secretstore.VaultGCPAuth, creds provider.Credentials, google googleEndpoints) (*gkeSigner, error) {
	wi := spec.WorkloadIdentity
	hc := &http.Client{Timeout: 30 * time.Second}
	project, location, cluster := wi.ClusterProjectID, wi.ClusterLocation, wi.ClusterName
	if project == "" {
		project = spec.ProjectID
	}
	for _, f := range []struct {
		value       *string
		field, path string
	}{
		{&project, "clusterProjectID", "project/project-id"},
		{&location, "clusterLocation", "instance/attributes/cluster-location"},
		{&cluster, "clusterName", "instance/attributes/cluster-name"},
	} {
		if *f.value != "" {
			continue
		}
		v, err := metadataValue(ctx, hc, f.path)
		if err != nil {
			return nil, fmt.Errorf("%s is not set and the GCE metadata server did not tell it: %v", f.field, err)
		}
		*f.value = v
	}
	sa := *wi.ServiceAccountRef.DeepCopy()
	ns, err := provider.CredentialNamespace(store, sa.Namespace)
	if err != nil {
		return nil, err
	}
	reader, ok := creds.(provider.ServiceAccountAnnotations)
	if !ok {
		return nil, errors.New("the host cannot read ServiceAccount annotations, so the Google service account of " + gkeServiceAccountAnnotation + " is unknown")
	}
	ann, err := reader.ServiceAccountAnnotations(ctx, ns, sa.Name)
	if err != nil {
		return nil, fmt.Errorf("read ServiceAccount %s/%s: %v", ns, sa.Name, err)
	}
	gsa := ann[gkeServiceAccountAnnotation]
	if gsa == "" || strings.ContainsAny(gsa, "/?#: ") || !strings.Contains(gsa, "@") {
		return nil, fmt.Errorf("ServiceAccount %s/%s has no %s annotation naming a Google service account, which Vault's GCP login signs as", ns, sa.Name, gkeServiceAccountAnnotation)
	}
	pool := project + ".svc.id.goog"
	return &gkeSigner{
		store: store.Copy(), creds: creds, sa: sa, gsa: gsa, pool: pool,
		audience: "identitynamespace:" + pool + ":https://container.googleapis.com/v1/projects/" + project + "/locations/" + location + "/clusters/" + cluster,
		google:   google, http: hc,
	}, nil
}

// sign returns a login JWT for role, signed by IAM Credentials.
func (g *gkeSigner) sign(ctx context.Context, role string, now time.Time) (string, error) {
	sat, err := provider.ServiceAccountToken(ctx, g.creds, g.store, g.sa, []string{g.pool}, serviceAccountTokenExpiry)
	if err != nil {
		return "", err
	}
	form := url.Values{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"audience":             {g.audience},
		"scope":                {"https://www.googleapis.com/auth/cloud-platform"},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"subject_token":        {sat},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:jwt"},
	}
	var exchanged struct {
		AccessToken string `json:"access_token"`
	}
	if err := g.post(ctx, "STS token exchange", g.google.stsURL(), "application/x-www-form-urlencoded", []byte(form.Encode()), "", &exchanged); err != nil {
		return "", err
	}
	payload, _ := json.Marshal(map[string]any{
		"sub": g.gsa, "aud": "vault/" + role,
		"iat": now.Unix(), "exp": now.Add(gcpJWTLifetime).Unix(),
	})
	body, _ := json.Marshal(map[string]string{"payload": string(payload)})
	var signed struct {
		SignedJwt string `json:"signedJwt"`
	}
	u := g.google.iamURL() + "/v1/projects/-/serviceAccounts/" + url.PathEscape(g.gsa) + ":signJwt"
	if err := g.post(ctx, "IAM Credentials signJwt", u, "application/json", body, exchanged.AccessToken, &signed); err != nil {
		return "", err
	}
	return signed.SignedJwt, nil
}

// post sends a request and decodes a JSON answer. Errors carry Google's
// error text, which holds no token.
func (g *gkeSigner) post(ctx context.Context, what, u, contentType string, body []byte, bearer string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := g.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error            json.RawMessage `json:"error"`
			ErrorDescription string          `json:"error_description"`
		}
		_ = json.Unmarshal(raw, &e)
		return fmt.Errorf("%s: HTTP %d %s %s", what, resp.StatusCode, e.Error, e.ErrorDescription)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: decode the answer: %w", what, err)
	}
	return nil
}

// metadataValue reads the GCE metadata server, at GCE_METADATA_HOST when
// set, as Google's libraries do.
func metadataValue(ctx context.Context, hc *http.Client, path string) (string, error) {
	host := os.Getenv("GCE_METADATA_HOST")
	if host == "" {
		host = "metadata.google.internal"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/computeMetadata/v1/"+path, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Metadata-Flavor", "Google")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
	}
	return strings.TrimSpace(string(raw)), nil
}

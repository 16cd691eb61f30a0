package gcpemu

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/secretsync/secretsync/internal/jwtcheck"
)

// Token exchange parameters of RFC 8693, as Google's STS takes them.
const (
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeJWT           = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeIDToken       = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"

	grantTypeJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"
)

// WorkloadPool is a GKE workload identity pool: a cluster's ServiceAccount
// tokens, exchanged at STS with the audience
// "identitynamespace:POOL:PROVIDER", become federated tokens of the
// principal serviceAccount:POOL[NAMESPACE/NAME].
type WorkloadPool struct {
	// Pool is PROJECT.svc.id.goog. The ServiceAccount token's audience
	// must include it.
	Pool string
	// Provider is the cluster's URL,
	// https://container.googleapis.com/v1/projects/P/locations/L/clusters/C.
	Provider string
	// Issuer is the iss of the cluster's tokens; its key must be trusted
	// with [Server.TrustIssuer].
	Issuer string
}

// AddWorkloadPool makes STS accept the tokens of a cluster.
func (s *Server) AddWorkloadPool(p WorkloadPool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pools["identitynamespace:"+p.Pool+":"+p.Provider] = p
}

// FederationProvider is a workload identity pool provider of workload
// identity federation that trusts an OIDC issuer, such as a Kubernetes
// cluster outside GKE: its tokens, exchanged at STS with the audience
// Name, become federated tokens of the principal
// principal://iam.googleapis.com/POOL/subject/SUBJECT.
type FederationProvider struct {
	// Name is the provider's resource name with a leading "//", such as
	// //iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X.
	Name string
	// Issuer is the iss of the tokens; its key must be trusted with
	// [Server.TrustIssuer].
	Issuer string
	// AllowedAudiences are the audiences a token may carry; empty allows
	// Google's default, "https:" followed by Name.
	AllowedAudiences []string
}

// AddFederationProvider makes STS accept the tokens of an issuer through
// a workload identity federation provider.
func (s *Server) AddFederationProvider(p FederationProvider) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.federations[p.Name] = p
}

// TrustIssuer makes STS accept tokens from issuer signed by key, an
// *rsa.PublicKey.
func (s *Server) TrustIssuer(issuer string, key crypto.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issuers[issuer] = key
}

// TrustIssuerPEM is [Server.TrustIssuer] with a PEM "PUBLIC KEY", such as
// a kube-apiserver's --service-account-key-file.
func (s *Server) TrustIssuerPEM(issuer string, pemKey []byte) error {
	key, err := jwtcheck.ParsePublicKeyPEM(pemKey)
	if err != nil {
		return fmt.Errorf("gcpemu: %w", err)
	}
	s.TrustIssuer(issuer, key)
	return nil
}

// AllowImpersonation lets member, a principal such as
// serviceAccount:POOL[NAMESPACE/NAME], generate access tokens for the
// Google service account email: the binding of
// roles/iam.workloadIdentityUser.
func (s *Server) AllowImpersonation(email, member string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.impersonators[email] = append(s.impersonators[email], member)
}

// SetMetadata makes the metadata server answer GET
// /computeMetadata/v1/PATH with value, such as "project/project-id" or
// "instance/attributes/cluster-name".
func (s *Server) SetMetadata(path, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.metadata[path] = value
}

// MetadataHost is the host:port of the metadata server, for the
// GCE_METADATA_HOST environment variable.
func (s *Server) MetadataHost() string { return strings.TrimPrefix(s.URL, "http://") }

type serviceAccountKey struct {
	email string
	key   *rsa.PublicKey
}

// NewServiceAccountKey returns a new JSON key of the service account
// email, as the IAM console downloads it, whose token_uri is this
// server's OAuth 2.0 token endpoint.
func (s *Server) NewServiceAccountKey(email string) ([]byte, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 20)
	rand.Read(id)
	kid := hex.EncodeToString(id)
	s.mu.Lock()
	s.keys[kid] = &serviceAccountKey{email: email, key: &priv.PublicKey}
	s.mu.Unlock()
	project := s.project
	if at := strings.LastIndex(email, "@"); at >= 0 {
		project, _, _ = strings.Cut(email[at+1:], ".")
	}
	return json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  project,
		"private_key_id":              kid,
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                email,
		"client_id":                   "1" + strings.Repeat("0", 20),
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   s.TokenURL(),
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
}

// DeleteServiceAccountKey makes the key of a JSON key file unusable, as
// deleting it in IAM does.
func (s *Server) DeleteServiceAccountKey(jsonKey []byte) {
	var f struct {
		ID string `json:"private_key_id"`
	}
	json.Unmarshal(jsonKey, &f)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, f.ID)
}

// TokenURL is the OAuth 2.0 token endpoint of service-account keys.
func (s *Server) TokenURL() string { return s.URL + "/token" }

// STSURL is the token exchange endpoint.
func (s *Server) STSURL() string { return s.URL + "/v1/token" }

// oauthError writes an OAuth 2.0 error response, as Google's token
// endpoints do.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

// params reads a form or a JSON object with snake_case or camelCase keys:
// Google's STS takes all of these.
func params(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&m); err != nil {
			return nil, err
		}
		for k, v := range m {
			if str, ok := v.(string); ok {
				out[snake(k)] = str
			}
		}
		return out, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	for k := range r.PostForm {
		out[snake(k)] = r.PostForm.Get(k)
	}
	return out, nil
}

var upper = regexp.MustCompile(`[A-Z]`)

func snake(k string) string {
	return upper.ReplaceAllStringFunc(k, func(c string) string { return "_" + strings.ToLower(c) })
}

// stsToken exchanges a ServiceAccount token for a federated access token,
// as https://sts.googleapis.com/v1/token does for GKE workload identity.
func (s *Server) stsToken(w http.ResponseWriter, r *http.Request) {
	s.count("sts.token")
	p, err := params(r)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request body could not be parsed.")
		return
	}
	if p["grant_type"] != GrantTypeTokenExchange {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("Invalid value for \"grant_type\": %q is not supported.", p["grant_type"]))
		return
	}
	if t := p["subject_token_type"]; t != TokenTypeJWT && t != TokenTypeIDToken {
		oauthError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("Invalid value for \"subject_token_type\": %q.", t))
		return
	}
	if t := p["requested_token_type"]; t != "" && t != TokenTypeAccessToken {
		oauthError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("Invalid value for \"requested_token_type\": %q.", t))
		return
	}
	s.mu.Lock()
	pool, ok := s.pools[p["audience"]]
	fed, federated := s.federations[p["audience"]]
	s.mu.Unlock()
	if federated {
		s.federatedToken(w, p["subject_token"], fed)
		return
	}
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_target", "The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.")
		return
	}
	claims, err := s.verifyJWT(p["subject_token"], func(t *jwtcheck.Token) (crypto.PublicKey, error) {
		c := &t.Claims
		if c.Issuer != pool.Issuer {
			return nil, fmt.Errorf("The issuer in ID Token %s does not match the expected ones.", c.Issuer)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		key, ok := s.issuers[c.Issuer]
		if !ok {
			return nil, errors.New("The identity provider has no trusted keys.")
		}
		return key, nil
	})
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", err.Error())
		return
	}
	if !contains(claims.Audience, pool.Pool) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The audience in ID Token does not match the expected audience.")
		return
	}
	principal := "principal://" + pool.Pool + "/subject/" + claims.Subject
	if rest, ok := strings.CutPrefix(claims.Subject, "system:serviceaccount:"); ok {
		if ns, name, ok := strings.Cut(rest, ":"); ok {
			principal = "serviceAccount:" + pool.Pool + "[" + ns + "/" + name + "]"
		}
	}
	s.mu.Lock()
	tok, life := s.issue("fed.", principal)
	s.mu.Unlock()
	writeJSON(w, map[string]any{
		"access_token":      tok,
		"issued_token_type": TokenTypeAccessToken,
		"token_type":        "Bearer",
		"expires_in":        int(life / time.Second),
	})
}

// federatedToken answers an exchange through a federation provider.
func (s *Server) federatedToken(w http.ResponseWriter, subjectToken string, fed FederationProvider) {
	claims, err := s.verifyJWT(subjectToken, func(t *jwtcheck.Token) (crypto.PublicKey, error) {
		if t.Claims.Issuer != fed.Issuer {
			return nil, fmt.Errorf("The issuer in ID Token %s does not match the expected ones.", t.Claims.Issuer)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		key, ok := s.issuers[t.Claims.Issuer]
		if !ok {
			return nil, errors.New("The identity provider has no trusted keys.")
		}
		return key, nil
	})
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", err.Error())
		return
	}
	allowed := fed.AllowedAudiences
	if len(allowed) == 0 {
		allowed = []string{"https:" + fed.Name}
	}
	match := false
	for _, a := range allowed {
		match = match || contains(claims.Audience, a)
	}
	if !match {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The audience in ID Token does not match the expected audience.")
		return
	}
	poolName, _, _ := strings.Cut(strings.TrimPrefix(fed.Name, "//"), "/providers/")
	s.mu.Lock()
	tok, life := s.issue("fed.", "principal://"+poolName+"/subject/"+claims.Subject)
	s.mu.Unlock()
	writeJSON(w, map[string]any{
		"access_token":      tok,
		"issued_token_type": TokenTypeAccessToken,
		"token_type":        "Bearer",
		"expires_in":        int(life / time.Second),
	})
}

// oauthToken grants access tokens for signed JWT assertions of
// service-account keys, as https://oauth2.googleapis.com/token does.
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) {
	s.count("oauth2.token")
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request body could not be parsed.")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != grantTypeJWTBearer {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+g)
		return
	}
	var email string
	claims, err := s.verifyJWT(r.PostForm.Get("assertion"), func(t *jwtcheck.Token) (crypto.PublicKey, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		k, ok := s.keys[t.KeyID]
		if !ok || k.email != t.Claims.Issuer {
			return nil, errors.New("Invalid JWT Signature.")
		}
		email = k.email
		return k.key, nil
	})
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", err.Error())
		return
	}
	if !contains(claims.Audience, s.TokenURL()) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: Failed audience check.")
		return
	}
	if claims.Scope == "" {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
		return
	}
	s.mu.Lock()
	tok, life := s.issue("ya29.", "serviceAccount:"+email)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(life / time.Second)})
}

// googleError writes an error in the shape of Google's JSON APIs.
func googleError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

// generateAccessToken is IAM Credentials'
// projects/-/serviceAccounts/EMAIL:generateAccessToken.
func (s *Server) generateAccessToken(w http.ResponseWriter, r *http.Request) {
	if email, ok := strings.CutSuffix(r.PathValue("call"), ":signJwt"); ok && r.PathValue("project") == "-" {
		s.signJWT(w, r, email)
		return
	}
	s.count("iamcredentials.generateAccessToken")
	email, ok := strings.CutSuffix(r.PathValue("call"), ":generateAccessToken")
	if !ok || r.PathValue("project") != "-" {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
		return
	}
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var body struct {
		Scope    []string `json:"scope"`
		Lifetime string   `json:"lifetime"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil || len(body.Scope) == 0 {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Request contains an invalid argument.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.tokens[bearer]
	if at == nil || !s.now().Before(at.expires) {
		googleError(w, http.StatusUnauthorized, "UNAUTHENTICATED", unauthenticated)
		return
	}
	if !contains(s.impersonators[email], at.principal) {
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
		return
	}
	tok, life := s.issue("ya29.", "serviceAccount:"+email)
	writeJSON(w, map[string]any{"accessToken": tok, "expireTime": s.now().Add(life).UTC().Format(time.RFC3339)})
}

// SystemKey returns the ID and public half of the Google-managed key with
// which IAM Credentials' signJwt signs for the service account email,
// creating it on first use, as Google publishes it at
// www.googleapis.com/service_accounts/v1/metadata/x509/EMAIL.
func (s *Server) SystemKey(email string) (string, crypto.PublicKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.systemKeyLocked(email)
	if err != nil {
		return "", nil, err
	}
	return k.id, &k.key.PublicKey, nil
}

type systemKey struct {
	id  string
	key *rsa.PrivateKey
}

func (s *Server) systemKeyLocked(email string) (*systemKey, error) {
	if k := s.systemKeys[email]; k != nil {
		return k, nil
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 20)
	rand.Read(id)
	k := &systemKey{id: hex.EncodeToString(id), key: priv}
	s.systemKeys[email] = k
	return k, nil
}

// signJWT answers IAM Credentials' signJwt: the payload, a JSON claim set,
// signed RS256 with the service account's Google-managed key, for callers
// allowed to impersonate it.
func (s *Server) signJWT(w http.ResponseWriter, r *http.Request, email string) {
	s.count("iamcredentials.signJwt")
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var body struct {
		Payload string `json:"payload"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil || !json.Valid([]byte(body.Payload)) {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Request contains an invalid argument.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.tokens[bearer]
	if at == nil || !s.now().Before(at.expires) {
		googleError(w, http.StatusUnauthorized, "UNAUTHENTICATED", unauthenticated)
		return
	}
	if !contains(s.impersonators[email], at.principal) {
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.signJwt' denied on resource (or it may not exist).")
		return
	}
	k, err := s.systemKeyLocked(email)
	if err != nil {
		googleError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return
	}
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": k.id})
	signed := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString([]byte(body.Payload))
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.key, crypto.SHA256, digest[:])
	if err != nil {
		googleError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return
	}
	writeJSON(w, map[string]any{"keyId": k.id, "signedJwt": signed + "." + base64.RawURLEncoding.EncodeToString(sig)})
}

// metadataValue serves the GCE metadata server's values.
func (s *Server) metadataValue(w http.ResponseWriter, r *http.Request) {
	s.count("metadata")
	if r.Header.Get("Metadata-Flavor") != "Google" {
		http.Error(w, "Missing Metadata-Flavor:Google header.", http.StatusForbidden)
		return
	}
	s.mu.Lock()
	v, ok := s.metadata[r.PathValue("path")]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Metadata-Flavor", "Google")
	w.Header().Set("Content-Type", "application/text")
	fmt.Fprint(w, v)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// verifyJWT checks a compact RS256 JWT: its signature against the key
// keyFor returns, and its validity period. Its errors never quote the
// token.
func (s *Server) verifyJWT(token string, keyFor func(*jwtcheck.Token) (crypto.PublicKey, error)) (*jwtcheck.Claims, error) {
	t, err := jwtcheck.Parse(token)
	if err != nil {
		return nil, errors.New("Unable to parse the ID Token.")
	}
	if t.Alg != "RS256" {
		return nil, fmt.Errorf("Unsupported signing algorithm %q.", t.Alg)
	}
	key, err := keyFor(t)
	if err != nil {
		return nil, err
	}
	if !t.Verify(key) {
		return nil, errors.New("Invalid JWT signature.")
	}
	c := &t.Claims
	now := s.now()
	if c.Expiry == nil || !now.Before(time.Unix(*c.Expiry, 0)) {
		return nil, errors.New("The token has expired.")
	}
	if c.NotBefore != nil && now.Before(time.Unix(*c.NotBefore, 0).Add(-time.Minute)) {
		return nil, errors.New("The token is not valid yet.")
	}
	return c, nil
}

package azureemu

import (
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/secretsync/secretsync/internal/jwtcheck"
)

// FederatedAudience is the audience Microsoft Entra ID expects in the
// tokens of a federated identity credential, such as a Kubernetes
// ServiceAccount token of workload identity.
const FederatedAudience = "api://AzureADTokenExchange"

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// App is an application registration (service principal) in the tenant.
type App struct {
	// ClientID is the application (client) ID.
	ClientID string
	// Secrets are the client secrets it may authenticate with.
	Secrets []string
	// Certificates may sign client assertions (RS256 or PS256), for
	// certificate credentials.
	Certificates []*x509.Certificate
	// Federated are its federated identity credentials.
	Federated []FederatedCredential
}

// FederatedCredential lets the tokens of an external issuer authenticate
// as an application, as workload identity does with Kubernetes
// ServiceAccount tokens.
type FederatedCredential struct {
	// Issuer is the token's iss; its key must be trusted with
	// [Server.TrustIssuer].
	Issuer string
	// Subject must equal the token's sub, such as
	// system:serviceaccount:ns:name.
	Subject string
	// Audience must be in the token's aud; [FederatedAudience] if empty.
	Audience string
}

// ManagedIdentity is a managed identity assigned to the machine the
// Instance Metadata Service serves.
type ManagedIdentity struct {
	ClientID string
	// ResourceID, such as /subscriptions/.../userAssignedIdentities/name,
	// selects it as client_id does.
	ResourceID string
}

// Grant is one access token the server issued.
type Grant struct {
	// ClientID of the application or managed identity.
	ClientID string
	// Method is "client_secret", "client_certificate", "federated" or
	// "managed_identity".
	Method string
	// Resource is the audience, such as https://vault.azure.net.
	Resource string
	// Subject and Issuer are those of a federated token.
	Subject, Issuer string
	Expires         time.Time
}

// accessToken is what the server remembers of a token it issued.
type accessToken struct {
	principal string
	objectID  string
	tenant    string
	resource  string
	expires   time.Time
}

// AddApp registers an application, replacing one with the same client ID.
func (s *Server) AddApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[a.ClientID] = &a
}

// AddManagedIdentity assigns a user-assigned managed identity to the
// machine.
func (s *Server) AddManagedIdentity(mi ManagedIdentity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identities = append(s.identities, mi)
}

// SetSystemAssignedIdentity gives the machine a system-assigned managed
// identity with clientID, which requests naming no identity get.
func (s *Server) SetSystemAssignedIdentity(clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.system = clientID
}

// TrustIssuer makes tokens from issuer acceptable in federated credentials
// when signed by key, an *rsa.PublicKey, as Microsoft Entra ID does after
// fetching the issuer's OpenID configuration and keys.
func (s *Server) TrustIssuer(issuer string, key crypto.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issuers[issuer] = key
}

// TrustIssuerPEM is [Server.TrustIssuer] with a PEM "PUBLIC KEY", such as a
// kube-apiserver's --service-account-key-file.
func (s *Server) TrustIssuerPEM(issuer string, pemKey []byte) error {
	key, err := jwtcheck.ParsePublicKeyPEM(pemKey)
	if err != nil {
		return fmt.Errorf("azureemu: %w", err)
	}
	s.TrustIssuer(issuer, key)
	return nil
}

// Grants returns the access tokens the server issued, oldest first.
func (s *Server) Grants() []Grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Grant(nil), s.grants...)
}

// issue makes an access token. The caller holds s.mu.
func (s *Server) issue(g Grant) (string, time.Duration) {
	token := "emu-" + randomHex(48)
	g.Expires = time.Now().Add(s.tokenLifetime)
	s.tokens[token] = &accessToken{principal: g.ClientID, objectID: newUUID(), tenant: TenantID, resource: g.Resource, expires: g.Expires}
	s.grants = append(s.grants, g)
	return token, s.tokenLifetime
}

// checkToken returns the token's record, or the message Key Vault rejects
// it with.
func (s *Server) checkToken(token string, c cloud) (*accessToken, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.tokens[token]
	switch {
	case at == nil:
		return nil, "AKV10001: The token was not issued by Microsoft Entra ID for this tenant."
	case !time.Now().Before(at.expires):
		return nil, "[TokenExpired] Error validating token: 'S2S12086'."
	case at.resource != c.resource:
		return nil, fmt.Sprintf("AKV10022: Invalid audience. Expected %s, found: %s.", c.resource, at.resource)
	case at.tenant != TenantID:
		return nil, fmt.Sprintf("AKV10032: Invalid issuer. Expected one of https://sts.windows.net/%s/, found: https://sts.windows.net/%s/.", TenantID, at.tenant)
	}
	return at, ""
}

// entraError is an error of the token endpoint, in Microsoft Entra ID's
// shape: an OAuth error and a description that starts with an AADSTS code
// and ends with lines that change on every request.
type entraError struct {
	status int
	code   string // the OAuth error, such as invalid_client
	aadsts int
	msg    string
}

func (e *entraError) write(w http.ResponseWriter) {
	trace, corr := newUUID(), newUUID()
	now := time.Now().UTC()
	writeJSON(w, e.status, map[string]any{
		"error": e.code,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			e.aadsts, e.msg, trace, corr, now.Format("2006-01-02 15:04:05Z")),
		"error_codes":    []int{e.aadsts},
		"timestamp":      now.Format("2006-01-02 15:04:05Z"),
		"trace_id":       trace,
		"correlation_id": corr,
	})
}

func tenantNotFound(tenant string) *entraError {
	return &entraError{http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)}
}

func (s *Server) serveOpenIDConfiguration(w http.ResponseWriter, r *http.Request, tenant string) {
	s.count("openid-configuration")
	if tenant != TenantID && tenant != "common" && tenant != "organizations" {
		tenantNotFound(tenant).write(w)
		return
	}
	base := "https://" + r.Host + "/" + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"issuer":                                base + "/v2.0",
		"jwks_uri":                              "https://" + r.Host + "/" + tenant + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"tenant_region_scope":                   "EU",
	})
}

// serveInstanceDiscovery answers the metadata request MSAL makes before
// using an authority host it does not know.
func (s *Server) serveInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	s.count("instance-discovery")
	auth := r.URL.Query().Get("authorization_endpoint")
	host := r.Host
	if i := strings.Index(strings.TrimPrefix(auth, "https://"), "/"); strings.HasPrefix(auth, "https://") && i > 0 {
		host = strings.TrimPrefix(auth, "https://")[:i]
	}
	tenant := TenantID
	if parts := strings.Split(strings.TrimPrefix(auth, "https://"+host+"/"), "/"); len(parts) > 0 && parts[0] != "" {
		tenant = parts[0]
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": "https://" + host + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata":                  []map[string]any{{"preferred_network": host, "preferred_cache": host, "aliases": []string{host}}},
	})
}

// serveToken is the token endpoint of Microsoft Entra ID for the client
// credentials grant, with a client secret, a certificate-signed client
// assertion, or a federated token as the assertion.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, c cloud, tenant string) {
	s.count("token")
	if r.Method != http.MethodPost {
		(&entraError{http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests."}).write(w)
		return
	}
	if tenant != TenantID {
		tenantNotFound(tenant).write(w)
		return
	}
	if err := r.ParseForm(); err != nil {
		(&entraError{http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."}).write(w)
		return
	}
	if retryAfter, ok := s.takeThrottle("token"); ok {
		writeTooManyRequests(w, retryAfter, map[string]any{"error": "temporarily_unavailable", "error_description": "AADSTS50196: The server terminated an operation because it encountered a client request loop."})
		return
	}
	f := r.PostForm
	if gt := f.Get("grant_type"); gt != "client_credentials" {
		(&entraError{http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", gt)}).write(w)
		return
	}
	clientID := f.Get("client_id")
	resource, eerr := scopeResource(f.Get("scope"), c, tenant)
	if eerr != nil {
		eerr.write(w)
		return
	}
	s.mu.Lock()
	app := s.apps[clientID]
	s.mu.Unlock()
	if app == nil {
		(&entraError{http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant)}).write(w)
		return
	}
	g := Grant{ClientID: clientID, Resource: resource}
	switch {
	case f.Has("client_secret"):
		ok := false
		for _, sec := range app.Secrets {
			ok = ok || subtle.ConstantTimeCompare([]byte(sec), []byte(f.Get("client_secret"))) == 1
		}
		if !ok {
			(&entraError{http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)}).write(w)
			return
		}
		g.Method = "client_secret"
	case f.Get("client_assertion_type") == jwtBearer:
		endpoint := "https://" + r.Host + r.URL.Path
		if eerr := s.verifyAssertion(app, f.Get("client_assertion"), endpoint, &g); eerr != nil {
			eerr.write(w)
			return
		}
	default:
		(&entraError{http.StatusBadRequest, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}).write(w)
		return
	}
	s.mu.Lock()
	token, life := s.issue(g)
	s.mu.Unlock()
	secs := int(life / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": token})
}

// scopeResource returns the resource of a client credentials scope, which
// must be the vault resource of the authority's cloud with "/.default".
func scopeResource(scope string, c cloud, tenant string) (string, *entraError) {
	var resource string
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "offline_access", "profile":
			continue
		}
		r, ok := strings.CutSuffix(sc, "/.default")
		if !ok || resource != "" {
			return "", &entraError{http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", sc)}
		}
		resource = r
	}
	if resource != c.resource {
		return "", &entraError{http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", resource, tenant)}
	}
	return resource, nil
}

func checkTimes(c *jwtcheck.Claims) *entraError {
	now := time.Now()
	if c.Expiry == nil || !now.Before(time.Unix(*c.Expiry, 0)) ||
		c.NotBefore != nil && now.Add(5*time.Minute).Before(time.Unix(*c.NotBefore, 0)) {
		return &entraError{http.StatusBadRequest, "invalid_client", 700024, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s.", now.UTC().Format(time.RFC3339))}
	}
	return nil
}

// verifyAssertion authenticates a client assertion: a JWT the application
// signed with one of its certificates (iss and sub are its client ID, aud
// the token endpoint), or a federated token matching one of its federated
// identity credentials, signed by a trusted issuer.
func (s *Server) verifyAssertion(app *App, assertion, endpoint string, g *Grant) *entraError {
	t, err := jwtcheck.Parse(assertion)
	if err != nil {
		return &entraError{http.StatusBadRequest, "invalid_client", 50027, "JWT token is invalid or malformed."}
	}
	claims := &t.Claims
	if claims.Issuer == app.ClientID && claims.Subject == app.ClientID {
		if !slices.Contains(claims.Audience, endpoint) {
			return &entraError{http.StatusBadRequest, "invalid_client", 700021, fmt.Sprintf("Client assertion application identifier doesn't match 'client_id' parameter, or the audience is not %s.", endpoint)}
		}
		ok := false
		for _, c := range app.Certificates {
			ok = ok || t.Verify(c.PublicKey)
		}
		if !ok {
			return &entraError{http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation."}
		}
		if e := checkTimes(claims); e != nil {
			return e
		}
		g.Method = "client_certificate"
		return nil
	}
	var fic *FederatedCredential
	for i := range app.Federated {
		if f := &app.Federated[i]; f.Issuer == claims.Issuer && f.Subject == claims.Subject {
			fic = f
		}
	}
	if fic == nil {
		return &entraError{http.StatusBadRequest, "invalid_client", 70021, fmt.Sprintf("No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'.", claims.Issuer, claims.Subject, strings.Join(claims.Audience, ","))}
	}
	s.mu.Lock()
	key := s.issuers[claims.Issuer]
	s.mu.Unlock()
	if key == nil {
		return &entraError{http.StatusBadRequest, "invalid_client", 50166, fmt.Sprintf("Request to External OIDC endpoint failed. Issuer: '%s'.", claims.Issuer)}
	}
	if !t.Verify(key) {
		return &entraError{http.StatusUnauthorized, "invalid_client", 700211, "The presented assertion failed signature validation against the issuer's keys."}
	}
	aud := fic.Audience
	if aud == "" {
		aud = FederatedAudience
	}
	if !slices.Contains(claims.Audience, aud) {
		return &entraError{http.StatusBadRequest, "invalid_client", 700212, fmt.Sprintf("No matching federated identity record found for presented assertion audience '%s'.", strings.Join(claims.Audience, ","))}
	}
	if e := checkTimes(claims); e != nil {
		return e
	}
	g.Method, g.Subject, g.Issuer = "federated", claims.Subject, claims.Issuer
	return nil
}

// serveIMDS is the managed identity token endpoint of the Instance
// Metadata Service, plain HTTP at 169.254.169.254.
func (s *Server) serveIMDS(w http.ResponseWriter, r *http.Request) {
	s.count("imds")
	bad := func(status int, code, desc string) {
		writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
	}
	if r.URL.Path != "/metadata/identity/oauth2/token" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Metadata") != "true" {
		bad(http.StatusBadRequest, "invalid_request", "Required metadata header not specified")
		return
	}
	q := r.URL.Query()
	if q.Get("api-version") == "" {
		bad(http.StatusBadRequest, "invalid_request", "Required query variable 'api-version' is missing")
		return
	}
	resource := strings.TrimSuffix(q.Get("resource"), "/")
	known := false
	for _, c := range clouds {
		known = known || resource == c.resource
	}
	if !known {
		bad(http.StatusBadRequest, "invalid_resource", fmt.Sprintf("AADSTS500011: The resource principal named %s was not found in the tenant named %s.", resource, TenantID))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var clientID string
	switch id, res := q.Get("client_id"), q.Get("msi_res_id"); {
	case id != "":
		for _, mi := range s.identities {
			if strings.EqualFold(mi.ClientID, id) {
				clientID = mi.ClientID
			}
		}
	case res != "":
		for _, mi := range s.identities {
			if strings.EqualFold(mi.ResourceID, res) {
				clientID = mi.ClientID
			}
		}
	default:
		clientID = s.system
	}
	if clientID == "" {
		bad(http.StatusBadRequest, "invalid_request", "Identity not found")
		return
	}
	token, life := s.issue(Grant{ClientID: clientID, Method: "managed_identity", Resource: resource})
	now := time.Now()
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token":   token,
		"client_id":      clientID,
		"expires_in":     strconv.Itoa(int(life / time.Second)),
		"expires_on":     strconv.FormatInt(now.Add(life).Unix(), 10),
		"ext_expires_in": strconv.Itoa(int(life / time.Second)),
		"not_before":     strconv.FormatInt(now.Unix(), 10),
		"resource":       resource,
		"token_type":     "Bearer",
	})
}

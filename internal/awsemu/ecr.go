package awsemu

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"time"
)

// The X-Amz-Target prefixes of Amazon ECR and Amazon ECR Public, whose
// SigV4 service names are "ecr" and "ecr-public".
const (
	ecrTarget       = "AmazonEC2ContainerRegistry_V20150921."
	ecrPublicTarget = "SpencerFrontendService."
)

// DefaultECRTokenLifetime is how long ECR authorization tokens live, as
// on AWS.
const DefaultECRTokenLifetime = 12 * time.Hour

// ECRUsername is the user name of every ECR authorization token.
const ECRUsername = "AWS"

// ECRToken is one authorization token ECR or ECR Public issued.
type ECRToken struct {
	// Public is true for an ECR Public token.
	Public bool
	// Registry is the account ID of a private registry; empty for ECR
	// Public.
	Registry string
	// ProxyEndpoint is the registry URL of a private registry.
	ProxyEndpoint string
	// Username and Password are the docker login credentials the token
	// encodes.
	Username, Password string
	// Caller is the ARN of the principal that asked for it.
	Caller string
	// Expires is when it expires, to the millisecond AWS reports.
	Expires time.Time
}

// SetECRTokenLifetime makes the ECR and ECR Public authorization tokens
// issued from now on live d, so that tests can watch them be renewed.
// Zero restores [DefaultECRTokenLifetime].
func (s *Server) SetECRTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		d = DefaultECRTokenLifetime
	}
	s.ecrLifetime = d
}

// ECRTokens returns the authorization tokens issued, oldest first.
func (s *Server) ECRTokens() []ECRToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ECRToken(nil), s.ecrTokens...)
}

var registryIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

type authorizationData struct {
	AuthorizationToken string `json:"authorizationToken"`
	ExpiresAt          epoch  `json:"expiresAt"`
	ProxyEndpoint      string `json:"proxyEndpoint,omitempty"`
}

// getAuthorizationToken serves ECR's GetAuthorizationToken: one token per
// registry asked for, the caller's account's when none is. A token is
// good for every registry the caller may pull from, whichever it names.
func (s *Server) getAuthorizationToken(req *request) (any, error) {
	var in struct {
		RegistryIds []string `json:"registryIds"`
	}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if len(in.RegistryIds) > 10 {
		return nil, errorf("InvalidParameterException", "Invalid parameter at 'registryIds' failed to satisfy constraint: 'Member must have length less than or equal to 10'")
	}
	for _, id := range in.RegistryIds {
		if !registryIDPattern.MatchString(id) {
			return nil, errorf("InvalidParameterException", "Invalid parameter at 'registryIds' failed to satisfy constraint: 'Member must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]{12}]'")
		}
	}
	if len(in.RegistryIds) == 0 {
		in.RegistryIds = []string{Account}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out struct {
		AuthorizationData []authorizationData `json:"authorizationData"`
	}
	for _, id := range in.RegistryIds {
		t := s.issueECRToken(req.caller, false)
		t.Registry = id
		t.ProxyEndpoint = "https://" + id + ".dkr.ecr." + s.Region + ".amazonaws.com"
		s.ecrTokens = append(s.ecrTokens, t)
		out.AuthorizationData = append(out.AuthorizationData, authorizationData{
			AuthorizationToken: encodeECRToken(t),
			ExpiresAt:          epoch(t.Expires),
			ProxyEndpoint:      t.ProxyEndpoint,
		})
	}
	return out, nil
}

// getPublicAuthorizationToken serves ECR Public's GetAuthorizationToken.
// As on AWS, the caller needs sts:GetServiceBearerToken besides
// ecr-public:GetAuthorizationToken.
func (s *Server) getPublicAuthorizationToken(req *request) (any, error) {
	var in struct{}
	if err := decode(req, &in); err != nil {
		return nil, err
	}
	if err := s.authorize(req.caller, "sts:GetServiceBearerToken", ""); err != nil {
		e := err.(*apiError)
		return nil, errorf("AccessDeniedException", "%s", e.msg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.issueECRToken(req.caller, true)
	s.ecrTokens = append(s.ecrTokens, t)
	return struct {
		AuthorizationData authorizationData `json:"authorizationData"`
	}{authorizationData{AuthorizationToken: encodeECRToken(t), ExpiresAt: epoch(t.Expires)}}, nil
}

// issueECRToken makes a token. The caller holds s.mu.
func (s *Server) issueECRToken(caller principal, public bool) ECRToken {
	// AWS reports the expiry in milliseconds; keep what it reports.
	expires := time.Now().Add(s.ecrLifetime).Truncate(time.Millisecond)
	// ECR's password is an encrypted envelope, base64 JSON; this one has
	// the same outline and random contents.
	envelope, _ := json.Marshal(map[string]any{
		"payload":    base64.StdEncoding.EncodeToString([]byte(randomString(64))),
		"datakey":    base64.StdEncoding.EncodeToString([]byte(randomString(32))),
		"version":    "2",
		"type":       "DATA_KEY",
		"expiration": expires.Unix(),
	})
	return ECRToken{
		Public:   public,
		Username: ECRUsername,
		Password: base64.StdEncoding.EncodeToString(envelope),
		Caller:   caller.arn,
		Expires:  expires,
	}
}

func encodeECRToken(t ECRToken) string {
	return base64.StdEncoding.EncodeToString([]byte(t.Username + ":" + t.Password))
}

package awsemu

import (
	"crypto"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/secretsync/secretsync/internal/jwtcheck"
)

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// DefaultAudience is the audience AWS expects in a web identity token.
const DefaultAudience = "sts.amazonaws.com"

// Role is an IAM role that callers may assume.
type Role struct {
	// ARN, such as arn:aws:iam::123456789012:role/reader.
	ARN string
	// TrustedPrincipals may call AssumeRole: user ARNs, or role ARNs whose
	// sessions may chain into this role.
	TrustedPrincipals []string
	// ExternalID, if set, must be passed to AssumeRole.
	ExternalID string
	// WebIdentity, if set, lets the tokens it describes call
	// AssumeRoleWithWebIdentity.
	WebIdentity *WebIdentityTrust
}

// WebIdentityTrust says which web identity tokens may assume a role.
type WebIdentityTrust struct {
	// Issuer is the token's iss; its key must be trusted with
	// [Server.TrustIssuer].
	Issuer string
	// Subject, if set, must equal the token's sub, such as
	// system:serviceaccount:ns:name.
	Subject string
	// Audience must be in the token's aud; DefaultAudience if empty.
	Audience string
}

// Session is one set of temporary credentials STS issued: a role's
// session, or, when RoleARN is empty, a user's from GetSessionToken.
type Session struct {
	RoleARN           string
	SessionName       string
	ExternalID        string
	Tags              map[string]string
	TransitiveTagKeys []string
	// Caller is the ARN of the principal that assumed the role, or the
	// token subject for a web identity.
	Caller      string
	WebIdentity bool
	// MFASerialNumber is the MFA device a GetSessionToken call was
	// authenticated with, if any.
	MFASerialNumber string
	AccessKeyID     string
	Expires         time.Time
}

// AddRole makes a role assumable.
func (s *Server) AddRole(r Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[r.ARN] = &r
}

// TrustIssuer makes web identity tokens from issuer acceptable when signed
// by key, an *rsa.PublicKey.
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
		return fmt.Errorf("awsemu: %w", err)
	}
	s.TrustIssuer(issuer, key)
	return nil
}

// SetSessionDuration makes the credentials STS issues from now on expire
// after d, whatever was asked, so tests can watch them refresh. Zero
// restores the requested duration.
func (s *Server) SetSessionDuration(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessionDuration = d
}

// Sessions returns the sessions STS issued, oldest first.
func (s *Server) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Session(nil), s.sessions...)
}

type stsCredentials struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

type assumeRoleResult struct {
	XMLName         xml.Name
	Credentials     stsCredentials
	AssumedRoleUser struct {
		Arn           string
		AssumedRoleId string
	}
	SubjectFromWebIdentityToken string `xml:",omitempty"`
	Audience                    string `xml:",omitempty"`
	Provider                    string `xml:",omitempty"`
}

var sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func validationError(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: "ValidationError", msg: fmt.Sprintf(format, args...)}
}

func accessDenied(format string, args ...any) error {
	return &apiError{status: http.StatusForbidden, code: "AccessDenied", msg: fmt.Sprintf(format, args...)}
}

// sessionParams validates what AssumeRole and AssumeRoleWithWebIdentity
// share.
func sessionParams(req *request) (roleARN, sessionName string, duration time.Duration, err error) {
	roleARN, sessionName = req.form.Get("RoleArn"), req.form.Get("RoleSessionName")
	if !sessionNamePattern.MatchString(sessionName) {
		return "", "", 0, validationError("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", sessionName)
	}
	duration = time.Hour
	if d := req.form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			return "", "", 0, validationError("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", d)
		}
		duration = time.Duration(n) * time.Second
	}
	return roleARN, sessionName, duration, nil
}

// issue makes temporary credentials for a session of roleARN. The caller
// holds s.mu.
func (s *Server) issue(sess Session, duration time.Duration) assumeRoleResult {
	if s.sessionDuration > 0 {
		duration = s.sessionDuration
	}
	roleName := sess.RoleARN[strings.LastIndex(sess.RoleARN, "/")+1:]
	key := &accessKey{
		id:      "ASIA" + strings.ToUpper(randomString(16)),
		secret:  randomString(40),
		token:   base64.StdEncoding.EncodeToString([]byte(randomString(64))),
		expires: time.Now().Add(duration),
		principal: principal{
			arn:       fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", Account, roleName, sess.SessionName),
			role:      sess.RoleARN,
			userID:    "AROA" + strings.ToUpper(randomString(16)) + ":" + sess.SessionName,
			temporary: true,
		},
	}
	s.keys[key.id] = key
	sess.AccessKeyID, sess.Expires = key.id, key.expires
	s.sessions = append(s.sessions, sess)

	var out assumeRoleResult
	out.Credentials = stsCredentials{key.id, key.secret, key.token, key.expires.UTC().Format(time.RFC3339)}
	out.AssumedRoleUser.Arn = key.principal.arn
	out.AssumedRoleUser.AssumedRoleId = key.principal.userID
	return out
}

func (s *Server) assumeRole(req *request) (any, error) {
	roleARN, sessionName, duration, err := sessionParams(req)
	if err != nil {
		return nil, err
	}
	sess := Session{RoleARN: roleARN, SessionName: sessionName, ExternalID: req.form.Get("ExternalId"), Caller: req.caller.arn}
	for i := 1; req.form.Has(fmt.Sprintf("Tags.member.%d.Key", i)); i++ {
		if sess.Tags == nil {
			sess.Tags = map[string]string{}
		}
		sess.Tags[req.form.Get(fmt.Sprintf("Tags.member.%d.Key", i))] = req.form.Get(fmt.Sprintf("Tags.member.%d.Value", i))
	}
	for i := 1; req.form.Has(fmt.Sprintf("TransitiveTagKeys.member.%d", i)); i++ {
		sess.TransitiveTagKeys = append(sess.TransitiveTagKeys, req.form.Get(fmt.Sprintf("TransitiveTagKeys.member.%d", i)))
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	role := s.roles[roleARN]
	trusted := role != nil && (slices.Contains(role.TrustedPrincipals, req.caller.arn) ||
		req.caller.role != "" && slices.Contains(role.TrustedPrincipals, req.caller.role))
	if !trusted || role.ExternalID != "" && role.ExternalID != sess.ExternalID {
		return nil, accessDenied("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", req.caller.arn, roleARN)
	}
	out := s.issue(sess, duration)
	out.XMLName.Local = "AssumeRoleResult"
	return out, nil
}

func invalidIdentityToken(msg string) error {
	return errorf("InvalidIdentityToken", "%s", msg)
}

// verifyToken checks a JWT's RS256 signature against its issuer's trusted
// key, and its validity period.
func (s *Server) verifyToken(token string) (*jwtcheck.Claims, error) {
	t, err := jwtcheck.Parse(token)
	if err != nil {
		return nil, invalidIdentityToken("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	}
	claims := &t.Claims
	if t.Alg != "RS256" {
		return nil, invalidIdentityToken("Unsupported signing algorithm " + t.Alg)
	}
	s.mu.Lock()
	key, ok := s.issuers[claims.Issuer]
	s.mu.Unlock()
	if !ok {
		return nil, invalidIdentityToken("No OpenIDConnect provider found in your account for " + claims.Issuer)
	}
	if !t.Verify(key) {
		return nil, invalidIdentityToken("Couldn't verify the signature of the ID token.")
	}
	now := time.Now()
	if claims.Expiry == nil {
		return nil, invalidIdentityToken("The ID token has no expiry.")
	}
	if exp := time.Unix(*claims.Expiry, 0); !now.Before(exp) {
		return nil, errorf("ExpiredTokenException", "Token expired: current date/time %s must be before the expiration date/time %s", now.UTC().Format(time.RFC3339), exp.UTC().Format(time.RFC3339))
	}
	if claims.NotBefore != nil && now.Before(time.Unix(*claims.NotBefore, 0).Add(-time.Minute)) {
		return nil, invalidIdentityToken("The ID token is not valid yet.")
	}
	return claims, nil
}

func (s *Server) assumeRoleWithWebIdentity(req *request) (any, error) {
	roleARN, sessionName, duration, err := sessionParams(req)
	if err != nil {
		return nil, err
	}
	claims, err := s.verifyToken(req.form.Get("WebIdentityToken"))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	role := s.roles[roleARN]
	if role == nil || role.WebIdentity == nil || role.WebIdentity.Issuer != claims.Issuer ||
		role.WebIdentity.Subject != "" && role.WebIdentity.Subject != claims.Subject {
		return nil, accessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
	}
	aud := role.WebIdentity.Audience
	if aud == "" {
		aud = DefaultAudience
	}
	if !slices.Contains(claims.Audience, aud) {
		return nil, invalidIdentityToken("Incorrect token audience")
	}
	out := s.issue(Session{RoleARN: roleARN, SessionName: sessionName, Caller: claims.Subject, WebIdentity: true}, duration)
	out.XMLName.Local = "AssumeRoleWithWebIdentityResult"
	out.SubjectFromWebIdentityToken = claims.Subject
	out.Audience = aud
	out.Provider = claims.Issuer
	return out, nil
}

func (s *Server) getCallerIdentity(req *request) (any, error) {
	return struct {
		XMLName xml.Name `xml:"GetCallerIdentityResult"`
		Arn     string
		UserId  string
		Account string
	}{Arn: req.caller.arn, UserId: req.caller.userID, Account: Account}, nil
}

func writeXML(w io.Writer, op string, result any, requestID string) {
	xml.NewEncoder(w).Encode(struct {
		XMLName   xml.Name
		Result    any
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}{xml.Name{Space: stsNamespace, Local: op + "Response"}, result, requestID})
}

func writeXMLError(w io.Writer, e *apiError, requestID string) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	type detail struct{ Type, Code, Message string }
	xml.NewEncoder(w).Encode(struct {
		XMLName   xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
		Error     detail
		RequestId string
	}{Error: detail{typ, e.code, e.msg}, RequestId: requestID})
}

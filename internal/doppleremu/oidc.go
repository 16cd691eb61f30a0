package doppleremu

import (
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/secretsync/secretsync/internal/jwtcheck"
)

// OIDCIdentity is a Doppler service account identity that trusts the
// ServiceAccount tokens of one Kubernetes cluster, as configured in
// Doppler's dashboard.
type OIDCIdentity struct {
	// ID is what a login names as "identity".
	ID string
	// Project and Config bind the tokens the identity is issued, as a
	// service token is bound.
	Project, Config string
	// Key verifies the tokens' signatures: the apiserver's
	// ServiceAccount signing key.
	Key crypto.PublicKey
	// Audience must be one of the token's audiences; Doppler takes the
	// API's URL.
	Audience string
	// Subject, if not empty, must be the token's subject, such as
	// system:serviceaccount:NAMESPACE:NAME.
	Subject string
	// TTL is the lifetime of the tokens issued; an hour when zero.
	TTL time.Duration
}

// AddOIDCIdentity makes an identity known to POST /v3/auth/oidc.
func (s *Server) AddOIDCIdentity(id OIDCIdentity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.identities == nil {
		s.identities = map[string]OIDCIdentity{}
	}
	s.identities[id.ID] = id
}

// oidcLogin answers POST /v3/auth/oidc: {"identity": …, "token": …}
// exchanged for {"success": true, "token": …, "expires_at": RFC 3339}.
func (s *Server) oidcLogin(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		if s.calls["oidc"] == nil {
			s.calls["oidc"] = map[int]int{}
		}
		s.calls["oidc"][sw.status]++
		s.mu.Unlock()
	}()
	var body struct {
		Identity string `json:"identity"`
		Token    string `json:"token"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(sw, r.Body, 1<<20)).Decode(&body); err != nil || body.Identity == "" || body.Token == "" {
		writeError(sw, http.StatusBadRequest, "identity and token are required")
		return
	}
	s.mu.Lock()
	id, ok := s.identities[body.Identity]
	s.mu.Unlock()
	if !ok {
		writeError(sw, http.StatusUnauthorized, "Invalid identity")
		return
	}
	t, err := jwtcheck.Parse(body.Token)
	if err != nil || !t.Verify(id.Key) {
		writeError(sw, http.StatusUnauthorized, "Invalid OIDC token")
		return
	}
	now := time.Now()
	if t.Claims.Expiry == nil || time.Unix(*t.Claims.Expiry, 0).Before(now) {
		writeError(sw, http.StatusUnauthorized, "OIDC token expired")
		return
	}
	if id.Audience != "" && !slices.Contains([]string(t.Claims.Audience), id.Audience) {
		writeError(sw, http.StatusUnauthorized, "OIDC token audience mismatch")
		return
	}
	if id.Subject != "" && t.Claims.Subject != id.Subject {
		writeError(sw, http.StatusUnauthorized, "OIDC token subject mismatch")
		return
	}
	ttl := id.TTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := "dp.sa." + hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = &token{project: id.Project, config: id.Config, expires: now.Add(ttl)}
	s.mu.Unlock()
	writeJSON(sw, http.StatusOK, map[string]any{
		"success":    true,
		"token":      tok,
		"expires_at": now.Add(ttl).UTC().Format(time.RFC3339),
	})
}

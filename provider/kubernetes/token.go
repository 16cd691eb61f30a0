package kubernetes

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	// tokenExpiration is the lifetime asked of a ServiceAccount token,
	// as ESO asks.
	tokenExpiration = time.Hour
	// minTokenAge is how old a token must be before a 401 throws it
	// away. A token the apiserver rejects as soon as it is issued (one
	// for the wrong audience) would otherwise cost a TokenRequest per
	// read.
	minTokenAge = 10 * time.Second
)

// serviceAccountToken holds a client's ServiceAccount token across reads:
// it requests one on first use, and another once four fifths of the
// token's lifetime have passed or the apiserver rejected it, as the
// kubelet does for projected tokens.
type serviceAccountToken struct {
	request func(ctx context.Context) (string, error)
	now     func() time.Time

	mu        sync.Mutex
	tok       string
	issued    time.Time
	refreshAt time.Time
}

func (s *serviceAccountToken) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// token returns the current token, requesting a new one if there is none
// or it is due for refresh. The request is made under the lock, so that
// concurrent reads share it.
func (s *serviceAccountToken) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	if s.tok != "" && now.Before(s.refreshAt) {
		return s.tok, nil
	}
	tok, err := s.request(ctx)
	if err != nil {
		return "", &tokenError{err: err}
	}
	expiry, ok := jwtExpiry(tok)
	if !ok || !expiry.After(now) {
		expiry = now.Add(tokenExpiration)
	}
	s.tok, s.issued = tok, now
	s.refreshAt = now.Add(expiry.Sub(now) * 4 / 5)
	return tok, nil
}

// rejected forgets tok after the apiserver answered 401 to it, unless it
// was just issued or has already been replaced.
func (s *serviceAccountToken) rejected(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == tok && s.clock().Sub(s.issued) >= minTokenAge {
		s.tok = ""
	}
}

// wrap is a rest.Config WrapTransport: client-go applies it beneath its
// own wrappers, so its debug logging never sees the header.
func (s *serviceAccountToken) wrap(rt http.RoundTripper) http.RoundTripper {
	return &bearerTransport{src: s, next: rt}
}

type bearerTransport struct {
	src  *serviceAccountToken
	next http.RoundTripper
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.src.token(req.Context())
	if err != nil {
		return nil, err
	}
	// A RoundTripper must not modify the request it is given.
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		t.src.rejected(tok)
	}
	return resp, err
}

// WrappedRoundTripper lets client-go reach the transport beneath, to close
// idle connections.
func (t *bearerTransport) WrappedRoundTripper() http.RoundTripper { return t.next }

// tokenError reports that no token could be requested; it reaches the
// caller through client-go's transport error.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// jwtExpiry returns the exp claim of a JWT, unverified: the token comes
// from the apiserver's TokenRequest API and is only sent back to an
// apiserver, so its claims need only be read, to know when to refresh.
func jwtExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == 0 {
		return time.Time{}, false
	}
	return time.Unix(claims.Exp, 0), true
}

package vault

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// renewTimeout bounds a background renewal, which has no caller's context.
const renewTimeout = 30 * time.Second

// session holds the token of one client across reads: it logs in on first
// use, renews the token in the background at two thirds of its lease, and
// logs in again when the token is about to expire, renewal failed, or Vault
// rejects it. Tokens it obtained are revoked by close; a static token is
// used as it is and never revoked.
type session struct {
	// api sends every request but logins, with the current token.
	api *api.Client
	// loginAPI sends logins: it never carries a token, and is in the
	// auth namespace when that differs from the store's.
	loginAPI *api.Client
	auth     auth

	mu sync.Mutex
	// gen counts tokens obtained by login, so a request that failed with
	// an old token does not throw away a newer one.
	gen uint64
	// valid is whether api holds a token from login that has not
	// failed; always false for a static token.
	valid bool
	// staleAt is when the token is too close to expiry to send; zero
	// for a token without expiry.
	staleAt time.Time
	// expires is when the token expires: zero for a token without
	// expiry, or a static one not yet looked up (see expiry).
	expires time.Time
	// staticChecked is whether a static token's expiry was looked up.
	staticChecked bool
	timer         *time.Timer
	closed        bool
	// released stops renewals: see release.
	released bool
}

func newSession(a auth, tokenAPI, loginAPI *api.Client) *session {
	s := &session{api: tokenAPI, loginAPI: loginAPI, auth: a}
	if a.static != "" {
		tokenAPI.SetToken(a.static)
	}
	return s
}

// token makes sure the client holds a usable token and returns its
// generation.
func (s *session) token(ctx context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	if s.auth.login == nil {
		return 0, nil
	}
	if s.valid && (s.staleAt.IsZero() || time.Now().Before(s.staleAt)) {
		return s.gen, nil
	}
	if err := s.loginLocked(ctx); err != nil {
		return 0, err
	}
	return s.gen, nil
}

func (s *session) loginLocked(ctx context.Context) error {
	s.valid = false
	s.stopTimerLocked()
	sent := time.Now()
	sec, err := s.auth.login(ctx, s.loginAPI)
	if err != nil {
		return fmt.Errorf("%s auth: %w", s.auth.method, err)
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return fmt.Errorf("%s auth: vault returned no token", s.auth.method)
	}
	s.gen++
	s.api.SetToken(sec.Auth.ClientToken)
	s.valid = true
	s.leaseLocked(sec.Auth, sent)
	return nil
}

// leaseLocked records the lease of a token just obtained or renewed and
// schedules its next renewal. The lease started after sent, when the
// request was sent, so the expiry counted from then is not late.
func (s *session) leaseLocked(a *api.SecretAuth, sent time.Time) {
	s.stopTimerLocked()
	lease := time.Duration(a.LeaseDuration) * time.Second
	if lease <= 0 {
		// Root and other tokens without a TTL never expire.
		s.staleAt, s.expires = time.Time{}, time.Time{}
		return
	}
	// Stop sending a token in the last tenth of its lease (at most 30s)
	// so it cannot expire in flight.
	margin := min(lease/10, 30*time.Second)
	s.staleAt = sent.Add(lease - margin)
	s.expires = sent.Add(lease)
	if !a.Renewable || s.released {
		return
	}
	gen := s.gen
	s.timer = time.AfterFunc(lease*2/3, func() { s.renew(gen) })
}

func (s *session) stopTimerLocked() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// renew extends the lease of token generation gen. It runs on a timer, so
// a failure only marks the token unusable: the next read logs in again.
// Vault caps leases at the token's max TTL, so near it each renewal is
// granted less, until the token goes stale and the next read logs in.
func (s *session) renew(gen uint64) {
	current := func() bool { return !s.closed && gen == s.gen && s.valid }
	s.mu.Lock()
	ok := current()
	s.mu.Unlock()
	if !ok {
		return
	}
	// Reads go on with the token while it is renewed.
	ctx, cancel := context.WithTimeout(context.Background(), renewTimeout)
	defer cancel()
	sent := time.Now()
	sec, err := s.api.Auth().Token().RenewSelfWithContext(ctx, 0)

	s.mu.Lock()
	defer s.mu.Unlock()
	if !current() {
		return
	}
	// A lease of zero here is not a token without expiry, which is
	// never renewed, but one that reached its max TTL.
	if err != nil || sec == nil || sec.Auth == nil || sec.Auth.LeaseDuration <= 0 {
		s.valid = false
		return
	}
	s.leaseLocked(sec.Auth, sent)
}

// do runs req with a usable token. When req is denied, the token may be
// the reason (revoked, expired early, or its lease lost): a lookup tells
// that apart from a policy that denies the path, and only then is req
// retried, once, after a new login.
func (s *session) do(ctx context.Context, req func() error) error {
	gen, err := s.token(ctx)
	if err != nil {
		return err
	}
	err = req()
	if !isPermissionDenied(err) || s.auth.login == nil || !s.rejected(ctx, gen) {
		return err
	}
	if _, err := s.token(ctx); err != nil {
		return err
	}
	return req()
}

// rejected reports whether Vault no longer accepts token generation gen,
// and if so forgets it.
func (s *session) rejected(ctx context.Context, gen uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.gen || !s.valid {
		// Another request already replaced or dropped that token.
		return true
	}
	_, err := s.api.Auth().Token().LookupSelfWithContext(ctx)
	if isPermissionDenied(wrapErr("", err)) {
		s.valid = false
		return true
	}
	return false
}

// lookup checks the token with Vault, for Validate.
func (s *session) lookup(ctx context.Context) error {
	return s.do(ctx, func() error {
		_, err := s.api.Auth().Token().LookupSelfWithContext(ctx)
		return wrapErr("look up token", err)
	})
}

// expiry returns when the token requests are sent with expires, or zero
// when it does not expire or that is unknown (no auth: a Vault Agent adds
// the token). A static token is looked up once; a failed lookup leaves
// its expiry unknown, and is tried again next time unless it was denied.
func (s *session) expiry(ctx context.Context) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auth.login != nil || s.auth.static == "" || s.staticChecked {
		return s.expires
	}
	sent := time.Now()
	sec, err := s.api.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		s.staticChecked = isPermissionDenied(wrapErr("", err))
		return time.Time{}
	}
	s.staticChecked = true
	// The ttl left, in whole seconds, may be rounded up: take the
	// earlier of it and expire_time.
	if ttl, err := sec.TokenTTL(); err == nil && ttl > 0 {
		s.expires = sent.Add(ttl)
		if at, ok := sec.Data["expire_time"].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, at); err == nil && t.Before(s.expires) {
				s.expires = t
			}
		}
	}
	return s.expires
}

// release stops renewing the token and leaves it to expire at the end of
// its lease. Unlike close it does not revoke it: Vault revokes with a
// token every lease and child token made with it, which a generator's
// values may be. The session still serves requests, without renewing.
func (s *session) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.released = true
	s.stopTimerLocked()
}

// close revokes a token obtained by login and stops renewing it. Later
// requests fail with ErrClosed.
func (s *session) close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.stopTimerLocked()
	if s.auth.login == nil || !s.valid {
		return nil
	}
	s.valid = false
	err := s.api.Auth().Token().RevokeSelfWithContext(ctx, "")
	s.api.ClearToken()
	if err = wrapErr("revoke token", err); err != nil && !errors.Is(err, ErrPermissionDenied) {
		// Denied means the token is already gone.
		return err
	}
	return nil
}

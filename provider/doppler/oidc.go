package doppler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

const (
	oidcPath = "/v3/auth/oidc"
	// oidcExpiry is ESO's default lifetime of the ServiceAccount token.
	oidcExpiry = 600 * time.Second
	// oidcRenewBefore renews a Doppler token this long before it expires.
	oidcRenewBefore = time.Minute
)

// oidcToken logs in to Doppler with a ServiceAccount token, as ESO's
// oidcConfig does, and keeps the Doppler token until shortly before it
// expires.
type oidcToken struct {
	c         *client
	store     secretstore.GenericStore
	creds     provider.Credentials
	identity  string
	sa        secretstore.ServiceAccountSelector
	audiences []string
	expiry    time.Duration
	now       func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

func newOIDCToken(c *client, store secretstore.GenericStore, creds provider.Credentials, o *secretstore.DopplerOIDCAuth) *oidcToken {
	// The second audience binds the token to this store, as ESO does, so
	// that a token requested for one store is refused by an identity
	// configured for another.
	resource := "secretStore:" + store.GetNamespace() + ":" + store.GetName()
	if store.Kind() == secretstore.KindClusterSecretStore {
		resource = "clusterSecretStore:" + store.GetName()
	}
	t := &oidcToken{
		c:         c,
		store:     store.Copy(),
		creds:     creds,
		identity:  o.Identity,
		sa:        *o.ServiceAccountRef.DeepCopy(),
		audiences: []string{c.base, resource},
		expiry:    oidcExpiry,
		now:       time.Now,
	}
	if o.ExpirationSeconds != nil {
		t.expiry = time.Duration(*o.ExpirationSeconds) * time.Second
	}
	return t
}

// get returns a Doppler token, logging in when there is none or it is
// about to expire. Concurrent callers share one login.
func (t *oidcToken) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && t.now().Add(oidcRenewBefore).Before(t.expires) {
		return t.token, nil
	}
	sat, err := provider.ServiceAccountToken(ctx, t.creds, t.store, t.sa, t.audiences, t.expiry)
	if err != nil {
		return "", fmt.Errorf("%s: spec.provider.doppler.auth.oidcConfig: %w", t.c.store, err)
	}
	body, _ := json.Marshal(map[string]string{"identity": t.identity, "token": sat})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.c.base+oidcPath, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "secretsync")
	resp, err := t.c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s: log in to Doppler with OIDC: %w", t.c.store, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("%s: log in to Doppler with OIDC: %w", t.c.store, err)
	}
	var out struct {
		Success   bool     `json:"success"`
		Token     string   `json:"token"`
		ExpiresAt string   `json:"expires_at"`
		Messages  []string `json:"messages"`
	}
	// The answer holds a token: only Doppler's own messages may reach an
	// error, never the body.
	_ = json.Unmarshal(raw, &out)
	if resp.StatusCode != http.StatusOK || !out.Success || out.Token == "" {
		return "", fmt.Errorf("%s: log in to Doppler with OIDC as identity %q: HTTP %d %v", t.c.store, t.identity, resp.StatusCode, out.Messages)
	}
	expires, err := time.Parse(time.RFC3339, out.ExpiresAt)
	if err != nil {
		return "", fmt.Errorf("%s: log in to Doppler with OIDC: expires_at %q is not RFC 3339", t.c.store, out.ExpiresAt)
	}
	t.token, t.expires = out.Token, expires
	return t.token, nil
}

package doppler_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/doppleremu"
	"github.com/secretsync/secretsync/secretstore"
)

// apiserver signs ServiceAccount tokens as the TokenRequest API does.
type apiserver struct{ key *rsa.PrivateKey }

func (a apiserver) token(_ context.Context, ns, name string, audiences []string, exp time.Duration) (string, error) {
	now := time.Now()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(map[string]any{
		"iss": "https://kubernetes.default.svc", "sub": "system:serviceaccount:" + ns + ":" + name,
		"aud": audiences, "iat": now.Unix(), "exp": now.Add(exp).Unix(),
	})
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, a.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func oidcConfig(identity string) func(*secretstore.DopplerProvider) {
	return func(d *secretstore.DopplerProvider) {
		d.Auth.SecretRef = nil
		d.Auth.OIDCConfig = &secretstore.DopplerOIDCAuth{
			Identity:          identity,
			ServiceAccountRef: secretstore.ServiceAccountSelector{Name: "doppler-oidc-sa"},
		}
		d.Project, d.Config = "auth-api", "prd"
	}
}

// oidcConfig exchanges a ServiceAccount token, bound to Doppler's URL and
// to the store, for a Doppler token, and keeps it until shortly before
// it expires.
func TestOIDCConfig(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		ttl        time.Duration
		identity   string
		reads      int
		wantLogins int
		wantErr    string
	}{
		"one login serves many reads":        {ttl: time.Hour, identity: "id-1", reads: 3, wantLogins: 1},
		"a token about to expire is renewed": {ttl: 30 * time.Second, identity: "id-1", reads: 2, wantLogins: 2},
		"an unknown identity is refused, by name": {ttl: time.Hour, identity: "id-2", reads: 1, wantLogins: 1,
			wantErr: `log in to Doppler with OIDC as identity "id-2": HTTP 401 [Invalid identity]`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.emu.SetSecret("auth-api", "prd", "DB_URL", "postgres://db")
			h.emu.AddOIDCIdentity(doppleremu.OIDCIdentity{
				ID: "id-1", Project: "auth-api", Config: "prd", Key: &key.PublicKey,
				Audience: h.emu.URL, Subject: "system:serviceaccount:" + namespace + ":doppler-oidc-sa", TTL: tc.ttl,
			})
			var sat string
			h.creds.SetToken(func(ctx context.Context, ns, n string, auds []string, exp time.Duration) (string, error) {
				if exp != 600*time.Second {
					t.Errorf("token lifetime %v, want ESO's default of 600s", exp)
				}
				tok, err := apiserver{key}.token(ctx, ns, n, auds, exp)
				sat = tok
				return tok, err
			})
			c := h.client(oidcConfig(tc.identity))
			for i := 0; i < tc.reads; i++ {
				got, err := read(c, "DB_URL", "")
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("want an error with %q, got %v", tc.wantErr, err)
					}
					if strings.Contains(err.Error(), sat) {
						t.Fatal("the error holds the ServiceAccount token")
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if got != "postgres://db" {
					t.Fatalf("read %q", got)
				}
			}
			if got := h.emu.Calls("oidc"); got != tc.wantLogins {
				t.Errorf("%d logins, want %d", got, tc.wantLogins)
			}
			want := []string{h.emu.URL, "secretStore:" + namespace + ":doppler-auth-api"}
			if diff := cmp.Diff(want, h.creds.LastAudiences()); diff != "" {
				t.Errorf("token audiences (-want +got):\n%s", diff)
			}
		})
	}
}

package webhook

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/internal/jwtcheck"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

const (
	appID       = "4242"
	installID   = "987654"
	ghToken     = "CANARY-ghs-installation-token"
	ghKeySecret = "github-app"
)

var (
	appKeyOnce sync.Once
	appKey     *rsa.PrivateKey
)

// testAppKey is the App's key, made once: RSA key generation is slow.
func testAppKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	appKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		appKey = k
	})
	return appKey
}

func pkcs1PEM(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func pkcs8PEM(t *testing.T, k any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// fakeGitHub answers POST /app/installations/{id}/access_tokens as GitHub
// does, after verifying the App JWT with the App's public key.
type fakeGitHub struct {
	pub    *rsa.PublicKey
	now    time.Time
	prefix string // such as /api/v3 for GitHub Enterprise Server

	mu       sync.Mutex
	requests int
	body     map[string]any
	hasBody  bool
	// respond overrides the answer to a valid request.
	respond func(w http.ResponseWriter)
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	fail := func(status int, msg string) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
	}
	if want := f.prefix + "/app/installations/" + installID + "/access_tokens"; r.Method != http.MethodPost || r.URL.Path != want {
		fail(http.StatusNotFound, "Not Found: "+r.Method+" "+r.URL.Path)
		return
	}
	if r.Header.Get("Accept") != "application/vnd.github+json" || r.Header.Get("X-GitHub-Api-Version") == "" {
		fail(http.StatusBadRequest, "bad Accept or X-GitHub-Api-Version")
		return
	}
	jwt, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		fail(http.StatusUnauthorized, "Requires authentication")
		return
	}
	tok, err := jwtcheck.Parse(jwt)
	if err != nil || tok.Alg != "RS256" || !tok.Verify(f.pub) {
		fail(http.StatusUnauthorized, "A JSON web token could not be decoded")
		return
	}
	var claims struct {
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
		Iss string `json:"iss"`
	}
	seg, _ := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[1])
	if err := json.Unmarshal(seg, &claims); err != nil {
		fail(http.StatusUnauthorized, "bad claims")
		return
	}
	now := f.now.Unix()
	if claims.Iss != appID || claims.Iat > now || claims.Exp <= now || claims.Exp-claims.Iat > 600 {
		fail(http.StatusUnauthorized, "'Issued at' or 'Expiration time' claim is not valid, or the issuer is not the App")
		return
	}
	b, _ := io.ReadAll(r.Body)
	f.body, f.hasBody = nil, len(b) > 0
	if f.hasBody {
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &f.body) != nil {
			fail(http.StatusBadRequest, "Problems parsing JSON")
			return
		}
	}
	if f.respond != nil {
		f.respond(w)
		return
	}
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{
		"token":                ghToken,
		"expires_at":           f.now.Add(time.Hour).UTC().Format(time.RFC3339),
		"permissions":          map[string]string{"contents": "read"},
		"repository_selection": "selected",
	})
}

func TestGitHub(t *testing.T) {
	key := testAppKey(t)
	now := time.Now().Truncate(time.Second)
	tests := map[string]struct {
		spec     generators.GithubAccessTokenSpec
		keyPEM   string
		prefix   string
		tls      bool
		respond  func(w http.ResponseWriter)
		want     map[string][]byte
		wantTTL  time.Duration
		wantBody map[string]any
	}{
		"repositories and permissions": {
			spec: generators.GithubAccessTokenSpec{
				Repositories: []string{"hello-world"},
				Permissions:  map[string]string{"contents": "read", "packages": "write"},
			},
			want:    map[string][]byte{"token": []byte(ghToken), "expires_at": []byte(now.Add(time.Hour).UTC().Format(time.RFC3339))},
			wantTTL: time.Hour,
			wantBody: map[string]any{
				"repositories": []any{"hello-world"},
				"permissions":  map[string]any{"contents": "read", "packages": "write"},
			},
		},
		"neither: no body": {
			want:    map[string][]byte{"token": []byte(ghToken), "expires_at": []byte(now.Add(time.Hour).UTC().Format(time.RFC3339))},
			wantTTL: time.Hour,
		},
		"a PKCS #8 key, over TLS, to GitHub Enterprise Server": {
			keyPEM:  pkcs8PEM(t, key),
			prefix:  "/api/v3",
			tls:     true,
			want:    map[string][]byte{"token": []byte(ghToken), "expires_at": []byte(now.Add(time.Hour).UTC().Format(time.RFC3339))},
			wantTTL: time.Hour,
		},
		"the TTL runs to expires_at": {
			respond: func(w http.ResponseWriter) {
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, `{"token":"`+ghToken+`","expires_at":"`+now.Add(17*time.Minute).UTC().Format(time.RFC3339)+`"}`)
			},
			want:    map[string][]byte{"token": []byte(ghToken), "expires_at": []byte(now.Add(17 * time.Minute).UTC().Format(time.RFC3339))},
			wantTTL: 17 * time.Minute,
		},
		"without expires_at, GitHub's hour": {
			respond: func(w http.ResponseWriter) {
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, `{"token":"`+ghToken+`"}`)
			},
			want:    map[string][]byte{"token": []byte(ghToken)},
			wantTTL: time.Hour,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			gh := &fakeGitHub{pub: &key.PublicKey, now: now, prefix: tc.prefix, respond: tc.respond}
			var srv *httptest.Server
			if tc.tls {
				srv = httptest.NewTLSServer(gh)
			} else {
				srv = httptest.NewServer(gh)
			}
			defer srv.Close()
			keyPEM := tc.keyPEM
			if keyPEM == "" {
				keyPEM = pkcs1PEM(key)
			}
			creds := &fake.Credentials{}
			creds.SetSecret(ns, ghKeySecret, "key", keyPEM)
			spec := tc.spec
			spec.URL, spec.AppID, spec.InstallID = srv.URL+tc.prefix+"/", appID, installID
			spec.Auth.PrivateKey.SecretRef = secretstore.SecretKeySelector{Name: ghKeySecret, Key: "key"}

			g := GitHub(WithHTTPClient(srv.Client()), WithClock(func() time.Time { return now }))
			res, err := g.Generate(context.Background(), &generators.GithubAccessToken{Spec: spec}, creds, ns)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res.Values); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			if res.TTL != tc.wantTTL || res.State != nil {
				t.Errorf("TTL %v, State %v; want %v and none", res.TTL, res.State, tc.wantTTL)
			}
			if diff := cmp.Diff(tc.wantBody, gh.body); diff != "" {
				t.Errorf("request body (-want +got):\n%s", diff)
			}
			if gh.hasBody != (tc.wantBody != nil) {
				t.Errorf("request has a body: %v; want %v", gh.hasBody, tc.wantBody != nil)
			}
		})
	}
}

func TestGitHubErrors(t *testing.T) {
	key := testAppKey(t)
	stranger, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	respondWith := func(status int, body string) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	tests := map[string]struct {
		spec    func(*generators.GithubAccessTokenSpec)
		keyPEM  string
		respond func(http.ResponseWriter)
		wantErr string
		is      error
		noCall  bool
	}{
		"a JWT signed by another key: GitHub's message, not its body": {
			keyPEM:  pkcs1PEM(stranger),
			wantErr: `GithubAccessToken team-a/gh: POST to host 127.0.0.1:`,
		},
		"GitHub's message is quoted": {
			keyPEM:  pkcs1PEM(stranger),
			wantErr: `status 401 Unauthorized: "A JSON web token could not be decoded"`,
		},
		"an error body without a message is not quoted": {
			respond: respondWith(http.StatusUnprocessableEntity, `{"detail":"`+bodyCanary+`"}`),
			wantErr: "status 422 Unprocessable Entity",
		},
		"a response without a token": {
			respond: respondWith(http.StatusCreated, `{"expires_at":"`+now.Add(time.Hour).Format(time.RFC3339)+`"}`),
			wantErr: "the response has no token",
		},
		"a response that is not JSON": {
			respond: respondWith(http.StatusCreated, ghToken),
			wantErr: "the response is not a JSON object",
		},
		"an expires_at that is not a time": {
			respond: respondWith(http.StatusCreated, `{"token":"`+ghToken+`","expires_at":"tomorrow"}`),
			wantErr: `the response's expires_at "tomorrow" is not an RFC 3339 time`,
		},
		"a token that expired already": {
			respond: respondWith(http.StatusCreated, `{"token":"`+ghToken+`","expires_at":"`+now.Add(-time.Minute).UTC().Format(time.RFC3339)+`"}`),
			wantErr: "the token expired at",
		},
		"an oversized response": {
			respond: respondWith(http.StatusCreated, `{"token":"`+ghToken+strings.Repeat("x", MaxResponseSize)+`"}`),
			wantErr: "the response is larger than 1048576 bytes",
		},
		"a key that is not PEM": {
			keyPEM:  "CANARY-not-a-key",
			wantErr: `spec.auth.privateKey.secretRef: key "key" of Secret github-app: holds no PEM block`,
			noCall:  true,
		},
		"a PEM block that is no key": {
			keyPEM:  "-----BEGIN RSA PRIVATE KEY-----\nQ0FOQVJZLWp1bms=\n-----END RSA PRIVATE KEY-----\n",
			wantErr: "holds no PKCS #1 or PKCS #8 private key",
			noCall:  true,
		},
		"an EC key": {
			keyPEM:  pkcs8PEM(t, ecKey),
			wantErr: "holds a *ecdsa.PrivateKey private key; GitHub Apps use RSA",
			noCall:  true,
		},
		"a missing Secret": {
			spec:    func(s *generators.GithubAccessTokenSpec) { s.Auth.PrivateKey.SecretRef.Name = "nope" },
			wantErr: `spec.auth.privateKey.secretRef: read key "key" of Secret team-a/nope`,
			is:      provider.ErrNotFound,
			noCall:  true,
		},
		"a Secret in another namespace": {
			spec:    func(s *generators.GithubAccessTokenSpec) { s.Auth.PrivateKey.SecretRef.Namespace = ptr("team-b") },
			wantErr: `may only name namespace "team-a", not "team-b"`,
			noCall:  true,
		},
		"no appID": {
			spec:    func(s *generators.GithubAccessTokenSpec) { s.AppID = "" },
			wantErr: "spec.appID is required",
			noCall:  true,
		},
		"no installID": {
			spec:    func(s *generators.GithubAccessTokenSpec) { s.InstallID = "" },
			wantErr: "spec.installID is required",
			noCall:  true,
		},
		"a URL that is not http": {
			spec:    func(s *generators.GithubAccessTokenSpec) { s.URL = "ftp://github.example" },
			wantErr: `spec.url "ftp://github.example" is not an http or https URL with a host`,
			noCall:  true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			gh := &fakeGitHub{pub: &key.PublicKey, now: now, respond: tc.respond}
			srv := httptest.NewServer(gh)
			defer srv.Close()
			keyPEM := tc.keyPEM
			if keyPEM == "" {
				keyPEM = pkcs1PEM(key)
			}
			creds := &fake.Credentials{}
			creds.SetSecret(ns, ghKeySecret, "key", keyPEM)
			creds.SetSecret("team-b", ghKeySecret, "key", keyPEM)
			spec := generators.GithubAccessTokenSpec{URL: srv.URL, AppID: appID, InstallID: installID}
			spec.Auth.PrivateKey.SecretRef = secretstore.SecretKeySelector{Name: ghKeySecret, Key: "key"}
			if tc.spec != nil {
				tc.spec(&spec)
			}
			obj := &generators.GithubAccessToken{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gh"}, Spec: spec}
			res, err := GitHub(WithClock(func() time.Time { return now })).Generate(context.Background(), obj, creds, ns)
			if err == nil {
				t.Fatalf("made %d values; want an error", len(res.Values))
			}
			noCanary(t, err)
			if strings.Contains(err.Error(), strings.Split(pkcs1PEM(key), "\n")[1][:20]) {
				t.Errorf("error quotes the private key: %v", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			if tc.noCall && gh.requests != 0 {
				t.Errorf("%d requests; want none", gh.requests)
			}
		})
	}
}

func TestGitHubTakesOnlyGithubAccessTokens(t *testing.T) {
	_, err := GitHub().Generate(context.Background(), &generators.Webhook{}, nil, ns)
	if want := "the GithubAccessToken generator takes a *generators.GithubAccessToken, not *generators.Webhook"; err == nil || err.Error() != want {
		t.Errorf("error %v; want %q", err, want)
	}
}

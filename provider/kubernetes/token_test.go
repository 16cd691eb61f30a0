package kubernetes

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeJWT returns an unsigned token whose exp claim is exp.
func fakeJWT(exp time.Time, n int) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(fmt.Sprintf(`{"exp":%d,"n":%d}`, exp.Unix(), n))) + ".sig"
}

func TestServiceAccountTokenRefresh(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	tests := map[string]struct {
		lifetime time.Duration // of the tokens issued; 0 issues tokens that are not JWTs
		after    time.Duration // when the second read happens
		want     int           // requests after both reads
	}{
		"reused early in its life":              {lifetime: time.Hour, after: 30 * time.Minute, want: 1},
		"reused until four fifths of its life":  {lifetime: time.Hour, after: 47 * time.Minute, want: 1},
		"replaced after four fifths":            {lifetime: time.Hour, after: 49 * time.Minute, want: 2},
		"a shorter life than asked for":         {lifetime: 10 * time.Minute, after: 9 * time.Minute, want: 2},
		"a token that is no JWT lasts the hour": {after: 47 * time.Minute, want: 1},
		"a token that is no JWT, replaced":      {after: 49 * time.Minute, want: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			now := start
			n := 0
			s := &serviceAccountToken{
				now: func() time.Time { return now },
				request: func(context.Context) (string, error) {
					n++
					if tc.lifetime == 0 {
						return fmt.Sprintf("opaque-%d", n), nil
					}
					return fakeJWT(now.Add(tc.lifetime), n), nil
				},
			}
			if _, err := s.token(context.Background()); err != nil {
				t.Fatal(err)
			}
			now = now.Add(tc.after)
			if _, err := s.token(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n != tc.want {
				t.Errorf("%d requests, want %d", n, tc.want)
			}
		})
	}
}

// Concurrent requests share one token; a 401 replaces it unless it was
// just issued.
func TestBearerTransport(t *testing.T) {
	var mu sync.Mutex
	valid := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !valid[r.Header.Get("Authorization")] {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()

	now := time.Unix(1_700_000_000, 0)
	n := 0
	s := &serviceAccountToken{
		now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		request: func(context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			n++
			tok := fakeJWT(now.Add(time.Hour), n)
			valid["Bearer "+tok] = true
			return tok, nil
		},
	}
	hc := &http.Client{Transport: s.wrap(http.DefaultTransport)}
	get := func() int {
		resp, err := hc.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	requests := func() int { mu.Lock(); defer mu.Unlock(); return n }

	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); get() }()
	}
	wg.Wait()
	if requests() != 1 {
		t.Fatalf("20 concurrent requests asked for %d tokens; want 1", requests())
	}

	// The server stops accepting every token issued so far.
	mu.Lock()
	clear(valid)
	mu.Unlock()
	if code := get(); code != http.StatusUnauthorized {
		t.Fatalf("got %d", code)
	}
	// Just issued: kept, so a token the server never accepts does not
	// cost a TokenRequest per read.
	if code := get(); code != http.StatusUnauthorized || requests() != 1 {
		t.Fatalf("a token rejected at once was replaced: %d requests", requests())
	}
	mu.Lock()
	now = now.Add(minTokenAge)
	mu.Unlock()
	get() // rejected, and now forgotten
	if code := get(); code != http.StatusOK || requests() != 2 {
		t.Fatalf("got %d after %d requests; want 200 with a second token", code, requests())
	}

	// A failed request surfaces as a tokenError through the transport.
	s.request = func(context.Context) (string, error) { return "", errors.New("serviceaccounts \"x\" not found") }
	s.tok = ""
	_, err := hc.Get(srv.URL)
	var te *tokenError
	if !errors.As(err, &te) {
		t.Errorf("want a tokenError, got %v", err)
	}
}

package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/provider"
)

const internalCanary = "CANARY-generator-internal-51c2"

func TestRedact(t *testing.T) {
	prefix := "POST pki/issue/" + internalCanary + ": "
	tests := map[string]struct {
		msg    string
		values []string
		want   string
	}{
		"a parameter Vault quotes": {
			msg:    prefix + "vault responded 400: common name " + internalCanary + ".example.com not allowed",
			values: []string{internalCanary + ".example.com"},
			want:   prefix + "vault responded 400: common name [redacted] not allowed",
		},
		"the method and path are kept, even when a value is in the path": {
			msg:    prefix + "permission denied",
			values: []string{internalCanary},
			want:   prefix + "permission denied",
		},
		"longest first, so no piece of a longer value is left": {
			msg:    prefix + "bad " + internalCanary + "-long and " + internalCanary,
			values: []string{internalCanary, internalCanary + "-long"},
			want:   prefix + "bad [redacted] and [redacted]",
		},
		"short values are left, or every word would be cut": {
			msg:    prefix + "vault responded 400: bad ttl 1h for pem",
			values: []string{"1h", "pem"},
			want:   prefix + "vault responded 400: bad ttl 1h for pem",
		},
		"a message without the prefix is redacted whole": {
			msg:    "appRole auth: " + internalCanary,
			values: []string{internalCanary},
			want:   "appRole auth: [redacted]",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			inner := fmt.Errorf("%s: %w", tc.msg, ErrPermissionDenied)
			got := redact(inner, prefix, tc.values)
			if diff := cmp.Diff(tc.want+": permission denied", got.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if !errors.Is(got, ErrPermissionDenied) {
				t.Error("the redacted error no longer matches its sentinel")
			}
			for e := got; e != nil; e = errors.Unwrap(e) {
				if strings.Contains(strings.TrimPrefix(e.Error(), prefix), internalCanary) && tc.want != tc.msg {
					t.Errorf("Unwrap reaches the unredacted message %q", e)
				}
			}
		})
	}
}

func TestValueBytes(t *testing.T) {
	tests := map[string]struct {
		in   any
		want string
	}{
		"a string as it is":                         {in: "-----BEGIN CERTIFICATE-----\n", want: "-----BEGIN CERTIFICATE-----\n"},
		"null as nothing":                           {in: nil, want: ""},
		"a number as written":                       {in: json.Number("1.50"), want: "1.50"},
		"a bool as JSON":                            {in: true, want: "true"},
		"a list as JSON":                            {in: []any{"a", json.Number("2")}, want: `["a",2]`},
		"an object as JSON":                         {in: map[string]any{"k": "v"}, want: `{"k":"v"}`},
		"HTML escaped, as encoding/json and ESO do": {in: []any{"<a>"}, want: `["\u003ca\u003e"]`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := valueBytes(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCertificateExpiry(t *testing.T) {
	at := time.Unix(1796377467, 0)
	tests := map[string]struct {
		data map[string]any
		want time.Time
		ok   bool
	}{
		"a PKI response, as the API client decodes it": {
			data: map[string]any{"certificate": "pem", "expiration": json.Number("1796377467")}, want: at, ok: true,
		},
		"expiration as a string": {
			data: map[string]any{"certificate": "pem", "expiration": "1796377467"}, want: at, ok: true,
		},
		"no certificate: not PKI": {data: map[string]any{"expiration": json.Number("1796377467")}},
		"no expiration":           {data: map[string]any{"certificate": "pem"}},
		"an expiration that is not a number": {
			data: map[string]any{"certificate": "pem", "expiration": "soon"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := certificateExpiry(tc.data)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Errorf("got %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestEvictSessions(t *testing.T) {
	now := time.Now()
	entry := func(used time.Time) *cachedSession {
		return &cachedSession{client: &Client{session: &session{}}, used: used}
	}
	key := func(i int) sessionKey { return sessionKey{uid: types.UID("uid-" + strconv.Itoa(i)), namespace: "team"} }

	tests := map[string]struct {
		used     []time.Duration // how long ago each session was used
		wantKept []int
	}{
		"recent sessions are kept": {
			used: []time.Duration{0, time.Minute, 59 * time.Minute}, wantKept: []int{0, 1, 2},
		},
		"sessions idle for more than an hour go": {
			used: []time.Duration{0, 61 * time.Minute, 2 * time.Hour}, wantKept: []int{0},
		},
	}
	// Beyond the cap, the least recently used go.
	over := tests["recent sessions are kept"]
	over.used, over.wantKept = nil, nil
	for i := 0; i < maxSessions+2; i++ {
		over.used = append(over.used, time.Duration(i)*time.Second)
		if i < maxSessions {
			over.wantKept = append(over.wantKept, i)
		}
	}
	tests["the least recently used go beyond the cap"] = over

	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := &Generator{sessions: map[sessionKey]*cachedSession{}}
			for i, ago := range tc.used {
				g.sessions[key(i)] = entry(now.Add(-ago))
			}
			dropped := g.evictLocked(now)
			var kept []int
			for i := range tc.used {
				if _, ok := g.sessions[key(i)]; ok {
					kept = append(kept, i)
				}
			}
			if diff := cmp.Diff(tc.wantKept, kept); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
			if len(dropped)+len(kept) != len(tc.used) {
				t.Errorf("%d dropped and %d kept of %d", len(dropped), len(kept), len(tc.used))
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	read := func(values map[string]string, keys ...string) [32]byte {
		f := newFingerprint(mapCreds(values))
		c := f.credentials()
		for _, k := range keys {
			_, _ = c.SecretValue(context.Background(), "team", "s", k)
		}
		return f.sum()
	}
	base := read(map[string]string{"a": internalCanary, "b": "2"}, "a", "b")
	tests := map[string]struct {
		sum  [32]byte
		same bool
	}{
		"the same values":        {sum: read(map[string]string{"a": internalCanary, "b": "2"}, "a", "b"), same: true},
		"a rotated value":        {sum: read(map[string]string{"a": internalCanary + "2", "b": "2"}, "a", "b")},
		"a value moved to a key": {sum: read(map[string]string{"a": internalCanary + "2", "b": ""}, "a", "b")},
		"a missing key":          {sum: read(map[string]string{"a": internalCanary}, "a", "b")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if (tc.sum == base) != tc.same {
				t.Errorf("same fingerprint: %v, want %v", tc.sum == base, tc.same)
			}
		})
	}

	t.Run("reads after sum, such as at a login, do not change it", func(t *testing.T) {
		f := newFingerprint(mapCreds{"a": "1"})
		c := f.credentials()
		_, _ = c.SecretValue(context.Background(), "team", "s", "a")
		first := f.sum()
		_, _ = c.SecretValue(context.Background(), "team", "s", "a")
		if f.sum() != first {
			t.Error("the fingerprint changed after sum")
		}
	})
	t.Run("ServiceAccount annotations only when the host reads them", func(t *testing.T) {
		if _, ok := newFingerprint(mapCreds{}).credentials().(provider.ServiceAccountAnnotations); ok {
			t.Error("a host without annotations gained them")
		}
		if _, ok := newFingerprint(annotatedCreds{}).credentials().(provider.ServiceAccountAnnotations); !ok {
			t.Error("a host with annotations lost them")
		}
		if newFingerprint(nil).credentials() != nil {
			t.Error("no credentials became some")
		}
	})
}

// mapCreds serves the keys of Secret team/s.
type mapCreds map[string]string

func (m mapCreds) SecretValue(_ context.Context, namespace, name, key string) ([]byte, error) {
	v, ok := m[key]
	if !ok || namespace != "team" || name != "s" {
		return nil, provider.ErrNotFound
	}
	return []byte(v), nil
}

func (m mapCreds) ConfigMapValue(context.Context, string, string, string) ([]byte, error) {
	return nil, provider.ErrNotFound
}

func (m mapCreds) ServiceAccountToken(context.Context, string, string, []string, time.Duration) (string, error) {
	return "", provider.ErrNotFound
}

type annotatedCreds struct{ mapCreds }

func (annotatedCreds) ServiceAccountAnnotations(context.Context, string, string) (map[string]string, error) {
	return nil, nil
}

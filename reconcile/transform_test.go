package reconcile

import (
	"strings"
	"testing"

	"github.com/secretsync/secretsync/externalsecret"
)

// TestRewriteBoundsKeyGrowth chains a rewrite that doubles a key: without
// a bound, twenty steps would make a key of 8 MiB from 8 bytes.
func TestRewriteBoundsKeyGrowth(t *testing.T) {
	double := externalsecret.Rewrite{Regexp: &externalsecret.RewriteRegexp{Source: "(.*)", Target: "$1$1"}}
	tests := []struct {
		name    string
		steps   int
		wantLen int    // when it succeeds
		wantErr string // when it fails
	}{
		// 8 bytes doubled 9 times is 4096 bytes, the limit.
		{name: "up to the limit", steps: 9, wantLen: MaxRewriteKey},
		// The tenth step would make 8192 bytes.
		{name: "over the limit", steps: 20, wantErr: "rewrite[9]: key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps := make([]externalsecret.Rewrite, tt.steps)
			for i := range steps {
				steps[i] = double
			}
			out, err := Rewrite(steps, map[string][]byte{"abcdefgh": []byte("v")})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "renamed to over 4096 bytes") {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				if len(err.Error()) > 300 {
					t.Errorf("the error is %d bytes long; it quotes the whole key", len(err.Error()))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k := range out {
				if len(k) != tt.wantLen {
					t.Errorf("key of %d bytes, want %d", len(k), tt.wantLen)
				}
			}
		})
	}
}

// TestRewriteBoundsOneExpansion refuses a target whose references would
// copy a long match many times, before making it.
func TestRewriteBoundsOneExpansion(t *testing.T) {
	key := strings.Repeat("k", 4000)
	target := strings.Repeat("$0", 300) // 300 copies of a 4000-byte match
	_, err := Rewrite([]externalsecret.Rewrite{{Regexp: &externalsecret.RewriteRegexp{Source: ".+", Target: target}}}, map[string][]byte{key: []byte("v")})
	if err == nil || !strings.Contains(err.Error(), "could expand one match to over") {
		t.Fatalf("got %v", err)
	}
}

// TestRewriteMatchesReplaceAll checks the bounded replacement against
// regexp.ReplaceAllString on the cases where empty matches meet others.
func TestRewriteMatchesReplaceAll(t *testing.T) {
	tests := []struct{ key, source, target, want string }{
		{"abc", "(.*)", "$1$1", "abcabc"},
		{"abc", "x*", "-", "-a-b-c-"},
		{"aaa", "a*", "[$0]", "[aaa]"},
		{"db/password", "^db/(.*)$", "$1", "password"},
		{"a.b", `\.`, "_", "a_b"},
		{"k", "k", "${0}_${1}", "k_"},
		{"", "^", "p", "p"},
	}
	for _, tt := range tests {
		out, err := Rewrite([]externalsecret.Rewrite{{Regexp: &externalsecret.RewriteRegexp{Source: tt.source, Target: tt.target}}}, map[string][]byte{tt.key: nil})
		if err != nil {
			t.Errorf("%q by %q → %q: %v", tt.key, tt.source, tt.target, err)
			continue
		}
		if _, ok := out[tt.want]; !ok || len(out) != 1 {
			t.Errorf("%q by %q → %q: got %q, want %q", tt.key, tt.source, tt.target, keysOf(out), tt.want)
		}
	}
}

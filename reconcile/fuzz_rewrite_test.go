package reconcile

import (
	"maps"
	"regexp"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/template"
)

// maxFuzzInput bounds each string the fuzzer chooses, so that a run's
// memory stays small: a rewrite's output grows with the product of its
// key and its target.
const maxFuzzInput = 48

// FuzzRewrite renames keys by a regexp rewrite, then another, then a
// transform, as dataFrom.rewrite does. It must never panic; a regexp
// rewrite must rename each key exactly as Go's RE2 engine does, and a key
// it renames is never longer than its target can make it; a chain is the
// composition of its steps; a transform's key is never over the template
// size limit; and no error shows a value.
func FuzzRewrite(f *testing.F) {
	f.Add("db/password", "^db/(.*)$", "$1", "", "", "{{ .value | upper }}")
	f.Add("key", "", "x", "(.)", "$1$1", "")
	f.Add("a.b.c", `\.`, "_", "(?i)B", "${0}${0}", "{{ .value }}-suffix")
	f.Add("aaaa", "a*", "-$0-", "", "", "")
	f.Add("ü-é", `[^\x00-\x7f]`, "_", "", "", "")
	f.Add("x", "(", "y", "", "", "")
	f.Add("k", "k", "$", "", "", "{{ .value")
	f.Add("\xff\xfe", "(?s).", "[$0]", "", "", "{{ printf \"%0999999d\" 1 }}")
	f.Add("same", ".*", "fixed", "", "", "")
	f.Add("0123456789abcdef0123456789abcdef0123456789abcdef", "(.)", "$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1$1", "(.*)", "$1$1", "")
	f.Fuzz(func(t *testing.T, key, source1, target1, source2, target2, transform string) {
		for _, s := range []string{key, source1, target1, source2, target2, transform} {
			if len(s) > maxFuzzInput {
				t.Skip()
			}
		}
		const value = "VALUE-4c1d-" + canary
		in := map[string][]byte{key: []byte(value), key + "-2": []byte(value)}

		var steps []externalsecret.Rewrite
		if source1 != "" {
			steps = append(steps, externalsecret.Rewrite{Regexp: &externalsecret.RewriteRegexp{Source: source1, Target: target1}})
		}
		if source2 != "" {
			steps = append(steps, externalsecret.Rewrite{Regexp: &externalsecret.RewriteRegexp{Source: source2, Target: target2}})
		}
		if transform != "" {
			steps = append(steps, externalsecret.Rewrite{Transform: &externalsecret.RewriteTransform{Template: transform}})
		}

		// Each step alone, checked against its definition.
		m := in
		failed := false
		for i, rw := range steps {
			out, err := Rewrite([]externalsecret.Rewrite{rw}, m)
			checkNoValue(t, err, value)
			if rw.Regexp != nil {
				checkRegexpStep(t, rw.Regexp, m, out, err)
			} else if err == nil {
				for k := range out {
					if len(k) > template.MaxSize {
						t.Fatalf("transform made a key of %d bytes, over %d", len(k), template.MaxSize)
					}
				}
			}
			if err != nil {
				failed = true
				break
			}
			for k, v := range out {
				if string(v) != value {
					t.Fatalf("step %d changed the value of key %q", i, k)
				}
			}
			m = out
		}

		// The chain is the composition of its steps.
		got, err := Rewrite(steps, in)
		checkNoValue(t, err, value)
		if (err != nil) != failed {
			t.Fatalf("the chain failed (%v), its steps one by one did not, or the reverse", err)
		}
		if err == nil && !maps.EqualFunc(got, m, func(a, b []byte) bool { return string(a) == string(b) }) {
			t.Fatalf("the chain renamed to %q, its steps one by one to %q", keysOf(got), keysOf(m))
		}
		if len(steps) == 0 && !maps.EqualFunc(got, in, func(a, b []byte) bool { return string(a) == string(b) }) {
			t.Fatalf("no rewrite changed the keys")
		}
	})
}

// checkRegexpStep checks one regexp rewrite of in against Go's regexp
// package, which implements RE2.
func checkRegexpStep(t *testing.T, rw *externalsecret.RewriteRegexp, in, out map[string][]byte, err error) {
	t.Helper()
	re, cerr := regexp.Compile(rw.Source)
	if cerr != nil {
		if err == nil || !strings.Contains(err.Error(), "rewrite[0]: regexp") {
			t.Fatalf("source %q does not compile (%v), but the rewrite gave %v", rw.Source, cerr, err)
		}
		return
	}
	want := map[string]string{}
	collision, tooLong := false, false
	for k := range in {
		nk := re.ReplaceAllString(k, rw.Target)
		if len(nk) > MaxRewriteKey {
			tooLong = true
		}
		if _, dup := want[nk]; dup {
			collision = true
		}
		want[nk] = k
		// ReplaceAllString copies the text between matches once and
		// expands the target at most once per position; matches do not
		// overlap, so each reference in the target adds at most the key's
		// length over all of them.
		if bound := len(k) + (len(k)+1)*len(rw.Target) + len(rw.Target)*len(k); len(nk) > bound {
			t.Fatalf("key of %d bytes renamed to %d bytes by a target of %d, over %d", len(k), len(nk), len(rw.Target), bound)
		}
	}
	if tooLong {
		// Keys are renamed in map order: a collision may be met first.
		if err == nil || !(strings.Contains(err.Error(), "renamed to over") || collision && strings.Contains(err.Error(), "both become")) {
			t.Fatalf("a key is renamed to over %d bytes, and the rewrite gave %v", MaxRewriteKey, err)
		}
		return
	}
	if collision {
		if err == nil || !strings.Contains(err.Error(), "both become") {
			t.Fatalf("two keys become one, and the rewrite gave %v", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("rewrite failed: %v", err)
	}
	if len(out) != len(want) {
		t.Fatalf("%d keys out of %d", len(out), len(in))
	}
	for nk := range want {
		if _, ok := out[nk]; !ok {
			t.Fatalf("want key %q, got %q", nk, keysOf(out))
		}
	}
}

func checkNoValue(t *testing.T, err error, value string) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), value) {
		t.Fatal("an error shows the value")
	}
}

func keysOf(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

package reconcile

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/template"
)

// Decode decodes a value stored encoded, as a decodingStrategy says; see
// [externalsecret.DecodingStrategy.Decode].
func Decode(strategy externalsecret.DecodingStrategy, v []byte) ([]byte, error) {
	return strategy.Decode(v)
}

var invalidKeyChars = regexp.MustCompile(`[^-._a-zA-Z0-9]`)

// ConvertKeys makes the keys dataFrom found valid Secret keys, as a
// conversionStrategy says: Default replaces each invalid character by
// "_", Unicode by "_U" and its four-digit hex code point and "_".
// Two keys that become the same key are an error, since either value
// could win.
func ConvertKeys(strategy externalsecret.ConversionStrategy, m map[string][]byte) (map[string][]byte, error) {
	return renameKeys(m, func(k string) (string, error) { return convertKey(strategy, k), nil })
}

// renameKeys renames every key of m, failing when two keys get one name.
func renameKeys(m map[string][]byte, rename func(string) (string, error)) (map[string][]byte, error) {
	out := make(map[string][]byte, len(m))
	from := make(map[string]string, len(m))
	for k, v := range m {
		nk, err := rename(k)
		if err != nil {
			return nil, err
		}
		if prev, dup := from[nk]; dup {
			a, b := prev, k
			if b < a {
				a, b = b, a
			}
			return nil, fmt.Errorf("keys %q and %q both become %q", a, b, nk)
		}
		from[nk] = k
		out[nk] = v
	}
	return out, nil
}

func convertKey(strategy externalsecret.ConversionStrategy, k string) string {
	if strategy == externalsecret.ConversionUnicode {
		return invalidKeyChars.ReplaceAllStringFunc(k, func(s string) string {
			r, _ := utf8.DecodeRuneInString(s)
			return fmt.Sprintf("_U%04x_", r)
		})
	}
	return invalidKeyChars.ReplaceAllString(k, "_")
}

// Rewrite renames the keys of m by each rewrite in order, or merges its
// values. Regexps use RE2 syntax; templates see the key as .value.
func Rewrite(rewrites []externalsecret.Rewrite, m map[string][]byte) (map[string][]byte, error) {
	if len(rewrites) == 0 {
		return m, nil
	}
	for i, rw := range rewrites {
		var rename func(string) (string, error)
		switch {
		case rw.Regexp != nil:
			re, err := regexp.Compile(rw.Regexp.Source)
			if err != nil {
				return nil, fmt.Errorf("rewrite[%d]: regexp: %w", i, err)
			}
			target := rw.Regexp.Target
			rename = func(k string) (string, error) { return replaceAll(re, k, target) }
		case rw.Transform != nil:
			name := fmt.Sprintf("rewrite[%d]", i)
			rename = func(k string) (string, error) {
				nk, err := template.Execute(name, rw.Transform.Template, map[string]string{"value": k})
				if err != nil {
					return "", fmt.Errorf("%s of key %q: %w", name, k, err)
				}
				return string(nk), nil
			}
		case rw.Merge != nil:
			out, err := rewriteMerge(*rw.Merge, m)
			if err != nil {
				return nil, fmt.Errorf("rewrite[%d]: %w", i, err)
			}
			m = out
			continue
		default:
			return nil, fmt.Errorf("rewrite[%d] sets none of regexp, transform and merge", i)
		}
		out, err := renameKeys(m, rename)
		if err != nil {
			return nil, fmt.Errorf("rewrite[%d]: %w", i, err)
		}
		m = out
	}
	return m, nil
}

// MaxRewriteKey bounds the keys a rewrite may make. A Secret key is at
// most 253 bytes; the room above that is for a chain whose later steps
// shorten what earlier ones made. A regexp such as (.*) with target
// $1$1, chained, would otherwise double a key at every step.
const MaxRewriteKey = 4096

// maxExpansion bounds what one match's expansion of a target may make
// before it is measured.
const maxExpansion = 1 << 20

// replaceAll is regexp.ReplaceAllString, stopped as soon as the key it
// makes passes MaxRewriteKey. Each match's expansion is bounded before it
// is made: the target's text, plus the match for each reference in it.
func replaceAll(re *regexp.Regexp, k, target string) (string, error) {
	refs := strings.Count(target, "$")
	var b []byte
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(k, -1) {
		b = append(b, k[last:m[0]]...)
		if len(target)+refs*(m[1]-m[0]) > maxExpansion {
			return "", fmt.Errorf("key %s: the target could expand one match to over %d bytes", shortKey(k), maxExpansion)
		}
		b = re.ExpandString(b, target, k, m)
		last = m[1]
		if len(b) > MaxRewriteKey {
			return "", fmt.Errorf("key %s: renamed to over %d bytes", shortKey(k), MaxRewriteKey)
		}
	}
	b = append(b, k[last:]...)
	if len(b) > MaxRewriteKey {
		return "", fmt.Errorf("key %s: renamed to over %d bytes", shortKey(k), MaxRewriteKey)
	}
	return string(b), nil
}

// shortKey quotes a key for an error, cut to its first 64 bytes.
func shortKey(k string) string {
	if len(k) <= 64 {
		return fmt.Sprintf("%q", k)
	}
	return fmt.Sprintf("%q… (%d bytes)", k[:64], len(k))
}

// ValidateKey checks that k is a valid Secret key.
func ValidateKey(k string) error {
	if errs := validation.IsConfigMapKey(k); len(errs) > 0 {
		return fmt.Errorf("key %q is not a valid Secret key: %s", k, strings.Join(errs, "; "))
	}
	return nil
}

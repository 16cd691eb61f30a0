package gcp

import (
	"regexp"
	"strings"
	"testing"
)

// The label checks agree with GCP's documented rules, written as the
// regular expressions they replace.
func TestLabelRules(t *testing.T) {
	key := regexp.MustCompile(`^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$`)
	value := regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{N}_-]{1,63}$`)
	inputs := []string{"", "env", "Env", "e", "1env", "_env", "env-1_x", "env.x", "été", "日本", "ключ", "a b",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("é", 63), strings.Repeat("é", 64), "a\u0301", "٣", "x٣"}
	for _, in := range inputs {
		if got, want := isLabelKey(in), key.MatchString(in); got != want {
			t.Errorf("isLabelKey(%q) = %v; want %v", in, got, want)
		}
		if got, want := isLabelValue(in), value.MatchString(in); got != want {
			t.Errorf("isLabelValue(%q) = %v; want %v", in, got, want)
		}
	}
}

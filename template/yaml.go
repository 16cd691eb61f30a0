package template

import (
	"strings"

	"sigs.k8s.io/yaml"
)

// toYAML returns v as YAML without its final newline, or "" when v cannot
// be marshalled: the operator swallows the error.
func toYAML(v any) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(out), "\n")
}

// fromYAML parses a YAML map. As in the operator, a parse error is not an
// error of the template: it is returned under the key "Error".
func fromYAML(s string) map[string]any {
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

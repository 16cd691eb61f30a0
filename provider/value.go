package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// JSONSecret is a [Secret] whose value is raw bytes that may hold a JSON
// object, the shape most stores use. Property and Map parse the JSON on
// first use; Value returns the bytes unchanged. It is safe for concurrent
// use.
type JSONSecret struct {
	// Raw is the value as stored.
	Raw []byte

	once   sync.Once
	parsed any
	err    error
}

// NewJSONSecret returns a JSONSecret over raw.
func NewJSONSecret(raw []byte) *JSONSecret { return &JSONSecret{Raw: raw} }

// MapSecret returns a Secret over a map of keys to values, such as a Vault
// KV secret. Its Value is the map as a JSON object.
func MapSecret(m map[string]any) (*JSONSecret, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode secret as JSON: %w", err)
	}
	s := &JSONSecret{Raw: raw}
	s.once.Do(func() { s.parsed = normalize(m) })
	return s, nil
}

// Value returns Raw.
func (s *JSONSecret) Value() ([]byte, error) { return s.Raw, nil }

func (s *JSONSecret) parse() (any, error) {
	s.once.Do(func() {
		d := json.NewDecoder(bytes.NewReader(s.Raw))
		d.UseNumber()
		if err := d.Decode(&s.parsed); err != nil {
			// Errors of encoding/json can quote the input, a secret.
			s.err = fmt.Errorf("value is not JSON")
		}
	})
	return s.parsed, s.err
}

// Property returns the property name of a JSON object value. A key equal to
// the whole name wins; otherwise dots walk into nested objects and numbers
// index arrays. Strings are returned as they are, other values as JSON.
func (s *JSONSecret) Property(name string) ([]byte, error) {
	v, err := s.parse()
	if err != nil {
		return nil, fmt.Errorf("property %q: %w", name, err)
	}
	found, ok := lookup(v, name)
	if !ok {
		return nil, fmt.Errorf("property %q: %w", name, ErrNotFound)
	}
	return encode(found)
}

// Map returns the keys of a JSON object value; string values as they are,
// other values as JSON.
func (s *JSONSecret) Map() (map[string][]byte, error) {
	v, err := s.parse()
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("value is not a JSON object")
	}
	out := make(map[string][]byte, len(obj))
	for k, val := range obj {
		b, err := encode(val)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		out[k] = b
	}
	return out, nil
}

func lookup(v any, name string) (any, bool) {
	if obj, ok := v.(map[string]any); ok {
		if found, ok := obj[name]; ok {
			return found, true
		}
	}
	head, rest, nested := strings.Cut(name, ".")
	var next any
	switch t := v.(type) {
	case map[string]any:
		var ok bool
		if next, ok = t[head]; !ok {
			return nil, false
		}
	case []any:
		i, err := strconv.Atoi(head)
		if err != nil || i < 0 || i >= len(t) {
			return nil, false
		}
		next = t[i]
	default:
		return nil, false
	}
	if !nested {
		return next, true
	}
	return lookup(next, rest)
}

func encode(v any) ([]byte, error) {
	switch t := v.(type) {
	case string:
		return []byte(t), nil
	case []byte:
		return t, nil
	case json.Number:
		return []byte(t.String()), nil
	case nil:
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode property as JSON: %w", err)
	}
	return b, nil
}

// normalize turns []byte values into strings, so a map built in Go looks
// the same as one decoded from JSON.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[k] = normalize(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = normalize(val)
		}
		return out
	case []byte:
		return string(t)
	}
	return v
}

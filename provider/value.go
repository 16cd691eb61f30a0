package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/tidwall/gjson"
)

// errNotJSON is the error of a property or a map of a value that is not
// JSON. Errors of JSON parsers can quote the input, a secret; this one
// never does.
var errNotJSON = errors.New("value is not JSON")

// JSONSecret is a [Secret] whose value is raw bytes that may hold a JSON
// object, the shape most stores use. Value returns the bytes unchanged;
// Property and Map read the JSON as the External Secrets Operator does,
// keeping the stored text of nested objects, arrays and numbers. It is
// safe for concurrent use.
type JSONSecret struct {
	// Raw is the value as stored.
	Raw []byte

	// m is the map a MapSecret was made from; nil for other values.
	m map[string]any

	once  sync.Once
	valid bool
}

// NewJSONSecret returns a JSONSecret over raw.
func NewJSONSecret(raw []byte) *JSONSecret { return &JSONSecret{Raw: raw} }

// Value returns Raw.
func (s *JSONSecret) Value() ([]byte, error) { return s.Raw, nil }

func (s *JSONSecret) check() error {
	s.once.Do(func() { s.valid = gjson.ValidBytes(s.Raw) })
	if !s.valid {
		return errNotJSON
	}
	return nil
}

// Property returns the property name of a JSON value. name is a gjson
// path (https://github.com/tidwall/gjson/blob/master/SYNTAX.md): dots walk
// into objects, numbers index arrays, and a backslash escapes a dot that
// is part of a key, as in "smtp\.host". When the path finds nothing and
// name has dots, the whole name is tried as one key, so "smtp.host" finds
// the key "smtp.host" too; then, at each level, a key equal to the rest of
// the name, so "db.smtp.host" finds {"db":{"smtp.host":...}}.
//
// Strings are returned unquoted, objects and arrays as their text in the
// value, and null as nothing. For a secret made by [MapSecret], a key of
// the map equal to name wins over any path.
func (s *JSONSecret) Property(name string) ([]byte, error) {
	if s.m != nil {
		if v, ok, err := s.mapValue(name); ok {
			return v, err
		}
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("property %q: %w", name, err)
	}
	r := gjson.GetBytes(s.Raw, name)
	if !r.Exists() && strings.Contains(name, ".") {
		r = gjson.GetBytes(s.Raw, strings.ReplaceAll(name, ".", `\.`))
		if !r.Exists() {
			r = walk(gjson.ParseBytes(s.Raw), name)
		}
	}
	if !r.Exists() {
		return nil, fmt.Errorf("property %q: %w", name, ErrNotFound)
	}
	return resultBytes(r), nil
}

// walk finds name in r as secretsync did before it read gjson paths,
// for the names a path does not find: at each level a key equal to the
// rest of the name wins, so "nested.a.b" finds {"nested":{"a.b":"v"}}.
func walk(r gjson.Result, name string) gjson.Result {
	for {
		if r.IsObject() {
			if v := r.Get(gjson.Escape(name)); v.Exists() {
				return v
			}
		}
		head, rest, nested := strings.Cut(name, ".")
		var next gjson.Result
		switch {
		case r.IsObject():
			next = r.Get(gjson.Escape(head))
		case r.IsArray():
			i, err := strconv.Atoi(head)
			if items := r.Array(); err == nil && i >= 0 && i < len(items) {
				next = items[i]
			}
		}
		if !nested || !next.Exists() {
			return next
		}
		r, name = next, rest
	}
}

// resultBytes is what the External Secrets Operator writes for a gjson
// result: a string unquoted, an object or array as its text in the value,
// true and false, an integer as written, other numbers in Go's shortest
// form ("1.50" becomes "1.5"), and null as nothing.
func resultBytes(r gjson.Result) []byte {
	if r.Type == gjson.JSON {
		return []byte(r.Raw)
	}
	return []byte(r.String())
}

// Map returns the keys of a JSON object value: string values unquoted,
// null as nothing, and every other value (objects, arrays, numbers,
// booleans) as its text in the value, spacing included.
func (s *JSONSecret) Map() (map[string][]byte, error) {
	if s.m != nil {
		return s.mapOf()
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	obj := gjson.ParseBytes(s.Raw)
	if !obj.IsObject() {
		return nil, errors.New("value is not a JSON object")
	}
	out := map[string][]byte{}
	obj.ForEach(func(k, v gjson.Result) bool {
		switch v.Type {
		case gjson.String:
			out[k.Str] = []byte(v.Str)
		case gjson.Null:
			out[k.Str] = []byte{}
		default:
			out[k.Str] = []byte(v.Raw)
		}
		return true
	})
	return out, nil
}

// MapSecret returns a Secret over a map of keys to values, such as a Vault
// KV secret, read as the External Secrets Operator reads one: its Value is
// the map as a JSON object; a property that is a key of the map is that
// key's value, and any other property is a gjson path into the Value; Map
// returns the keys, strings as they are and other values as JSON. It keeps
// m, which must not change afterwards.
func MapSecret(m map[string]any) (*JSONSecret, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		// encoding/json names the type that failed, never a value.
		return nil, fmt.Errorf("encode secret as JSON: %w", err)
	}
	s := &JSONSecret{Raw: raw, m: normalize(m).(map[string]any)}
	return s, nil
}

func (s *JSONSecret) mapValue(name string) ([]byte, bool, error) {
	v, ok := s.m[name]
	if !ok {
		return nil, false, nil
	}
	b, err := encode(v)
	return b, true, err
}

func (s *JSONSecret) mapOf() (map[string][]byte, error) {
	out := make(map[string][]byte, len(s.m))
	for k, val := range s.m {
		b, err := encode(val)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		out[k] = b
	}
	return out, nil
}

func encode(v any) ([]byte, error) {
	switch t := v.(type) {
	case string:
		return []byte(t), nil
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

// normalize turns []byte values into strings, so a map built in Go reads
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

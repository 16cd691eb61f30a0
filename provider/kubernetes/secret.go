package kubernetes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/provider"
)

// secretData is the data of one Secret, read as ESO reads it.
type secretData struct {
	// name is "namespace/name", for messages.
	name string
	data map[string][]byte
}

// Value returns the data as a JSON object of strings. Bytes that are not
// UTF-8 do not survive it; Property and Map return them unchanged.
func (s *secretData) Value() ([]byte, error) {
	v, err := dataJSON(s.data)
	if err != nil {
		return nil, fmt.Errorf("Secret %s: %w", s.name, err)
	}
	return v, nil
}

// Property returns the value of the key name. When there is no such key,
// and name is a key, a dot and a path ("config.db.user"), it returns what
// the path selects in the JSON that key holds. ESO splits at the first dot
// only; a key with dots of its own ("app.json.db") is found here too.
func (s *secretData) Property(name string) ([]byte, error) {
	if v, ok := s.data[name]; ok {
		return v, nil
	}
	for i := 0; i < len(name); i++ {
		if name[i] != '.' || i == 0 || i == len(name)-1 {
			continue
		}
		v, ok := s.data[name[:i]]
		if !ok {
			continue
		}
		if found, err := provider.NewJSONSecret(v).Property(name[i+1:]); err == nil {
			return found, nil
		}
	}
	return nil, fmt.Errorf("Secret %s has no key %q, nor a key holding JSON with that path: %w", s.name, name, provider.ErrNotFound)
}

// Map returns a copy of the data, every key as it is.
func (s *secretData) Map() (map[string][]byte, error) {
	out := make(map[string][]byte, len(s.data))
	for k, v := range s.data {
		out[k] = append([]byte(nil), v...)
	}
	return out, nil
}

// metadataSecret returns the labels and annotations of s, for
// metadataPolicy Fetch: {"labels": {...}, "annotations": {...}}. ESO
// writes null for a Secret without labels; this writes {}.
func metadataSecret(s *corev1.Secret) (provider.Secret, error) {
	raw, err := marshal(map[string]map[string]string{
		"labels":      nonNil(s.Labels),
		"annotations": nonNil(s.Annotations),
	})
	if err != nil {
		return nil, fmt.Errorf("Secret %s/%s: metadata: %w", s.Namespace, s.Name, err)
	}
	return &secretMetadata{name: s.Namespace + "/" + s.Name, JSONSecret: provider.NewJSONSecret(raw)}, nil
}

// secretMetadata is the metadata of one Secret as JSON, whose errors name
// the Secret.
type secretMetadata struct {
	name string
	*provider.JSONSecret
}

func (m *secretMetadata) Property(name string) ([]byte, error) {
	v, err := m.JSONSecret.Property(name)
	if err != nil {
		return nil, fmt.Errorf("metadata of Secret %s: %w", m.name, err)
	}
	return v, nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

// dataJSON returns data as a JSON object of strings, as ESO does for a
// reference without a property and for each Secret find returns.
func dataJSON(data map[string][]byte) ([]byte, error) {
	m := make(map[string]string, len(data))
	for k, v := range data {
		m[k] = string(v)
	}
	return marshal(m)
}

// marshal encodes v as JSON without escaping <, > and &, which are common
// in values and which ESO leaves alone.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// The errors of encoding/json name types, not values; these
		// maps of strings cannot fail anyway.
		return nil, fmt.Errorf("encode as JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

var _ provider.Secret = &secretData{}

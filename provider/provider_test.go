package provider

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/secretstore"
)

func TestJSONSecretProperty(t *testing.T) {
	raw := []byte(`{"user":"u","a.b":"literal","a":{"b":"nested","n":1.5,"list":["x",{"y":true}]},` +
		`"smtp.host":"mail","null":null,"obj":{ "k" : "v", "n": 1.50 },"int":12345678901234567890,"frac":1.50,"exp":1e3}`)
	tests := map[string]struct {
		name    string
		want    string
		missing bool
	}{
		"top-level key":                     {name: "user", want: "u"},
		"a path wins over a key with a dot": {name: "a.b", want: "nested"},
		"an escaped dot is part of the key": {name: `a\.b`, want: "literal"},
		"a key with dots, unescaped":        {name: "smtp.host", want: "mail"},
		"a key with dots, escaped":          {name: `smtp\.host`, want: "mail"},
		"nested by dots":                    {name: "a.n", want: "1.5"},
		"array index":                       {name: "a.list.0", want: "x"},
		"into an array element":             {name: "a.list.1.y", want: "true"},
		"an object keeps its text":          {name: "obj", want: `{ "k" : "v", "n": 1.50 }`},
		"an array keeps its text":           {name: "a.list", want: `["x",{"y":true}]`},
		"a large integer as written":        {name: "int", want: "12345678901234567890"},
		"a fraction in shortest form":       {name: "frac", want: "1.5"},
		"an exponent in plain form":         {name: "exp", want: "1000"},
		"null is empty":                     {name: "null", want: ""},
		"a gjson query":                     {name: "a.list.#", want: "2"},
		"missing":                           {name: "nope", missing: true},
		"missing nested":                    {name: "a.nope", missing: true},
		"index out of range":                {name: "a.list.9", missing: true},
		"into a string":                     {name: "user.x", missing: true},
	}
	s := NewJSONSecret(raw)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := s.Property(tc.name)
			if tc.missing {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("want ErrNotFound, got %q, %v", got, err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("want %q, got %q, %v", tc.want, got, err)
			}
		})
	}
}

// Map keeps the text of every value that is not a string, as the
// External Secrets Operator's extract does.
func TestJSONSecretMap(t *testing.T) {
	s := NewJSONSecret([]byte(`{"s":"v\u00e9","n":1.50,"b":false,"null":null,"obj":{ "k" : [1, 2] },"arr":[ "x" ]}`))
	got, err := s.Map()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{
		"s": []byte("v\u00e9"), "n": []byte("1.50"), "b": []byte("false"), "null": {},
		"obj": []byte(`{ "k" : [1, 2] }`), "arr": []byte(`[ "x" ]`),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := NewJSONSecret([]byte(`["not","an","object"]`)).Map(); err == nil {
		t.Error("an array has no keys: want an error")
	}
}

func TestJSONSecretNotJSON(t *testing.T) {
	s := NewJSONSecret([]byte("plain-SECRET-value"))
	if v, err := s.Value(); err != nil || string(v) != "plain-SECRET-value" {
		t.Fatalf("Value: %q %v", v, err)
	}
	for _, err := range []error{first(s.Property("x")), first(s.Map())} {
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("want an error that does not quote the value, got %v", err)
		}
	}
}

func first[T any](_ T, err error) error { return err }

func TestMapSecret(t *testing.T) {
	s, err := MapSecret(map[string]any{"k": "v", "b": []byte("bytes"), "n": map[string]any{"x": 1}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Map()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"k": []byte("v"), "b": []byte("bytes"), "n": []byte(`{"x":1}`)}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if v, err := s.Property("n.x"); err != nil || string(v) != "1" {
		t.Errorf("n.x: %q %v", v, err)
	}
	// A key of the map wins over a path, as in the External Secrets
	// Operator's Vault provider.
	s, err = MapSecret(map[string]any{"a.b": "literal", "a": map[string]any{"b": "nested"}})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Property("a.b"); err != nil || string(v) != "literal" {
		t.Errorf("a.b: %q %v", v, err)
	}
	if v, err := s.Property(`a.b\.c`); !errors.Is(err, ErrNotFound) {
		t.Errorf("a.b\\.c: want ErrNotFound, got %q %v", v, err)
	}
}

func ptr(s string) *string { return &s }

func TestCredentialNamespace(t *testing.T) {
	ns := &secretstore.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "team-a"}}
	cluster := &secretstore.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "c"}}
	tests := map[string]struct {
		store   secretstore.GenericStore
		ns      *string
		want    string
		wantErr string
	}{
		"a SecretStore defaults to its namespace":           {store: ns, want: "team-a"},
		"a SecretStore may name its own namespace":          {store: ns, ns: ptr("team-a"), want: "team-a"},
		"a SecretStore may not name another namespace":      {store: ns, ns: ptr("team-b"), wantErr: `may only name namespace "team-a"`},
		"a ClusterSecretStore must name a namespace":        {store: cluster, wantErr: "must set namespace"},
		"a ClusterSecretStore reads the namespace it names": {store: cluster, ns: ptr("vault"), want: "vault"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := CredentialNamespace(tc.store, tc.ns)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error %q, got %q, %v", tc.wantErr, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("want %q, got %q, %v", tc.want, got, err)
			}
		})
	}
}

// SecretKey reads through the host's Credentials only after the namespace
// rules pass: a tenant's store never reaches another namespace.
func TestSecretKeyEnforcesNamespace(t *testing.T) {
	var read []string
	creds := credsFunc(func(ns, name, key string) ([]byte, error) {
		read = append(read, ns+"/"+name+"/"+key)
		return []byte("t"), nil
	})
	store := &secretstore.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "team-a"}}

	if v, err := SecretKey(context.Background(), creds, store, secretstore.SecretKeySelector{Name: "token", Key: "value"}); err != nil || string(v) != "t" {
		t.Fatalf("own namespace: %q %v", v, err)
	}
	_, err := SecretKey(context.Background(), creds, store, secretstore.SecretKeySelector{Name: "token", Key: "value", Namespace: ptr("team-b")})
	if err == nil {
		t.Fatal("want an error reading another namespace")
	}
	_, err = ServiceAccountToken(context.Background(), creds, store, secretstore.ServiceAccountSelector{Name: "sa", Namespace: ptr("kube-system")}, nil, time.Hour)
	if err == nil {
		t.Fatal("want an error requesting a token in another namespace")
	}
	if diff := cmp.Diff([]string{"team-a/token/value"}, read); diff != "" {
		t.Errorf("credentials read (-want +got):\n%s", diff)
	}
}

// credsFunc serves Secret keys from a function and refuses the rest.
type credsFunc func(ns, name, key string) ([]byte, error)

func (f credsFunc) SecretValue(_ context.Context, ns, name, key string) ([]byte, error) {
	return f(ns, name, key)
}
func (f credsFunc) ConfigMapValue(context.Context, string, string, string) ([]byte, error) {
	return nil, errors.New("no ConfigMaps")
}
func (f credsFunc) ServiceAccountToken(context.Context, string, string, []string, time.Duration) (string, error) {
	return "", errors.New("no tokens")
}

type namedProvider struct{ name string }

func (p namedProvider) Name() string { return p.name }
func (namedProvider) NewClient(context.Context, secretstore.GenericStore, Credentials) (Client, error) {
	return nil, nil
}

func TestRegistry(t *testing.T) {
	var zero Registry
	if _, err := zero.ForStore(&secretstore.SecretStore{Spec: secretstore.Spec{Provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{}}}}); err == nil {
		t.Error("an empty registry serves nothing")
	}
	reg, err := NewRegistry(namedProvider{"fake"}, namedProvider{"vault"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"fake", "vault"}, reg.Names()); diff != "" {
		t.Error(diff)
	}
	if err := reg.Register(namedProvider{"vault"}); err == nil {
		t.Error("a duplicate must be an error")
	}
	tests := map[string]struct {
		provider *secretstore.Provider
		want     string
		wantErr  string
	}{
		"fake":        {provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{}}, want: "fake"},
		"unsupported": {provider: &secretstore.Provider{AWS: &secretstore.AWSProvider{}}, wantErr: `provider "aws" is not supported here`},
		"none":        {provider: &secretstore.Provider{}, wantErr: "names no provider"},
		"two":         {provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{}, Vault: &secretstore.VaultProvider{}}, wantErr: "set exactly one"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := reg.ForStore(&secretstore.SecretStore{Spec: secretstore.Spec{Provider: tc.provider}})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil || p.Name() != tc.want {
				t.Fatalf("want %s, got %v %v", tc.want, p, err)
			}
		})
	}
}

// Where neither the gjson path nor the whole name finds a property, a key
// equal to the rest of the name at any level does, as before paths were
// read by gjson.
func TestJSONSecretPropertyKeyWithDotsBelowTheTop(t *testing.T) {
	s := NewJSONSecret([]byte(`{"db":{"smtp.host":"mail","list":[{"a.b":"x"}]}}`))
	for name, want := range map[string]string{"db.smtp.host": "mail", "db.list.0.a.b": "x"} {
		if got, err := s.Property(name); err != nil || string(got) != want {
			t.Errorf("%s: want %q, got %q, %v", name, want, got, err)
		}
	}
	if got, err := s.Property("db.smtp.port"); !errors.Is(err, ErrNotFound) {
		t.Errorf("db.smtp.port: want ErrNotFound, got %q, %v", got, err)
	}
}

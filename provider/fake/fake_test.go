package fake

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

func store(data ...secretstore.FakeProviderData) *secretstore.SecretStore {
	return &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"},
		Spec:       secretstore.Spec{Provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{Data: data}}},
	}
}

func TestFakeStore(t *testing.T) {
	s := store(
		secretstore.FakeProviderData{Key: "/foo/bar", Value: "HELLO1"},
		secretstore.FakeProviderData{Key: "/foo/bar", Value: "HELLO2", Version: "v2"},
		secretstore.FakeProviderData{Key: "/foo/baz", Value: `{"john":"doe"}`},
		secretstore.FakeProviderData{Key: "legacy", ValueMap: map[string]string{"a": "1"}},
	)
	c, err := New().NewClient(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func(ref provider.Ref, prop string) (string, error) {
		sec, err := c.GetSecret(context.Background(), ref)
		if err != nil {
			return "", err
		}
		var v []byte
		if prop == "" {
			v, err = sec.Value()
		} else {
			v, err = sec.Property(prop)
		}
		return string(v), err
	}
	tests := map[string]struct {
		ref      provider.Ref
		property string
		want     string
		notFound bool
	}{
		"current value":         {ref: provider.Ref{Key: "/foo/bar"}, want: "HELLO1"},
		"a version":             {ref: provider.Ref{Key: "/foo/bar", Version: "v2"}, want: "HELLO2"},
		"a missing version":     {ref: provider.Ref{Key: "/foo/bar", Version: "v3"}, notFound: true},
		"a property of JSON":    {ref: provider.Ref{Key: "/foo/baz"}, property: "john", want: "doe"},
		"a missing property":    {ref: provider.Ref{Key: "/foo/baz"}, property: "jane", notFound: true},
		"a missing key":         {ref: provider.Ref{Key: "/nope"}, notFound: true},
		"valueMap becomes JSON": {ref: provider.Ref{Key: "legacy"}, property: "a", want: "1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := get(tc.ref, tc.property)
			if tc.notFound {
				if !errors.Is(err, provider.ErrNotFound) {
					t.Fatalf("want ErrNotFound, got %q, %v", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("want %q, got %q, %v", tc.want, got, err)
			}
		})
	}

	found, err := c.(provider.Finder).Find(context.Background(), provider.Find{Name: "^/foo/"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"/foo/bar": []byte("HELLO1"), "/foo/baz": []byte(`{"john":"doe"}`)}
	if diff := cmp.Diff(want, found); diff != "" {
		t.Errorf("find (-want +got):\n%s", diff)
	}
	if _, err := c.(provider.Finder).Find(context.Background(), provider.Find{Name: "("}); err == nil {
		t.Error("a bad regexp must be an error")
	}
}

func TestFakeStoreSpecErrors(t *testing.T) {
	tests := map[string]*secretstore.SecretStore{
		"a duplicate key": store(secretstore.FakeProviderData{Key: "a"}, secretstore.FakeProviderData{Key: "a"}),
		"an empty key":    store(secretstore.FakeProviderData{Key: ""}),
		"no fake spec":    {Spec: secretstore.Spec{Provider: &secretstore.Provider{}}},
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			if err := New().ValidateStore(s); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestMemory(t *testing.T) {
	mem := NewMemory()
	c, err := mem.Provider().NewClient(context.Background(), store(secretstore.FakeProviderData{Key: "spec-only", Value: "s"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	mem.Set("k", []byte("v1"))
	down := errors.New("store down")
	mem.SetError("broken", down)
	if _, err := c.GetSecret(context.Background(), provider.Ref{Key: "broken"}); !errors.Is(err, down) {
		t.Errorf("injected error: got %v", err)
	}
	if _, err := c.GetSecret(context.Background(), provider.Ref{Key: "spec-only"}); err != nil {
		t.Errorf("spec values are served behind memory: %v", err)
	}
	mem.Delete("k")
	if _, err := c.GetSecret(context.Background(), provider.Ref{Key: "k"}); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("deleted key: got %v", err)
	}
	if got := mem.Calls("k"); got != 1 {
		t.Errorf("calls: want 1, got %d", got)
	}
	if got := mem.TotalCalls(); got != 3 {
		t.Errorf("total calls: want 3, got %d", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	mem.SetLatency(1e9)
	if _, err := c.GetSecret(ctx, provider.Ref{Key: "k"}); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("latency must honour the context: %v", err)
	}
}

// validationResult is what Validate reports, as in ESO's fake store.
func TestValidationResult(t *testing.T) {
	r := func(v secretstore.ValidationResult) *secretstore.ValidationResult { return &v }
	tests := map[string]struct {
		result      *secretstore.ValidationResult
		wantErr     string
		wantUnknown bool
	}{
		"unset":   {},
		"Ready":   {result: r(secretstore.ValidationResultReady)},
		"Unknown": {result: r(secretstore.ValidationResultUnknown), wantErr: "spec.provider.fake.validationResult is Unknown", wantUnknown: true},
		"Error":   {result: r(secretstore.ValidationResultError), wantErr: "spec.provider.fake.validationResult is Error"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := store(secretstore.FakeProviderData{Key: "k", Value: "v"})
			s.Spec.Provider.Fake.ValidationResult = tc.result
			c, err := New().NewClient(context.Background(), s, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = c.(provider.Validator).Validate(context.Background())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("want an error with %q, got %v", tc.wantErr, err)
			}
			if got := errors.Is(err, provider.ErrValidationUnknown); got != tc.wantUnknown {
				t.Errorf("errors.Is(err, provider.ErrValidationUnknown) = %v, want %v", got, tc.wantUnknown)
			}
		})
	}
	s := store(secretstore.FakeProviderData{Key: "k", Value: "v"})
	s.Spec.Provider.Fake.ValidationResult = r(3)
	if err := New().ValidateStore(s); err == nil || !strings.Contains(err.Error(), "must be 0 (Ready), 1 (Unknown) or 2 (Error), not 3") {
		t.Errorf("validationResult 3: got %v", err)
	}
}

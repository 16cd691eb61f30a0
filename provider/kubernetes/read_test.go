package kubernetes_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/provider"
)

// reader makes a store namespace with a ServiceAccount "reader" that may
// read the Secrets of a second namespace, and returns both.
func (s *suite) reader(t *testing.T) (storeNS, remoteNS string) {
	t.Helper()
	storeNS, remoteNS = s.namespace(t, "app"), s.namespace(t, "src")
	s.serviceAccount(t, storeNS, "reader")
	s.grantRead(t, remoteNS, serviceAccountSubject(storeNS, "reader"))
	return storeNS, remoteNS
}

// Reads mean what they mean in ESO: the whole Secret as JSON, a key, a
// path into a key's JSON, the data as it is, and the metadata.
func TestReads(t *testing.T) {
	s := newSuite(t)
	storeNS, remoteNS := s.reader(t)
	s.secret(t, remoteNS, "db", map[string]string{
		"user":     "admin",
		"password": canary,
		"config":   `{"db":{"host":"db.internal","port":5432},"tags":["a","b"]}`,
		"tls.crt":  "CERT",
		"app.json": `{"mode":"<prod & safe>"}`,
	}, map[string]string{"app": "web", "app.kubernetes.io/name": "db"}, map[string]string{"link": "https://x/?a=1&b=2"})
	c := s.client(t, s.local(), store(storeNS, remoteNS, "reader"))
	ctx := context.Background()

	tests := map[string]struct {
		ref      provider.Ref
		property string // empty reads Value
		want     string
		notFound bool
	}{
		"a key":                                 {ref: provider.Ref{Key: "db"}, property: "user", want: "admin"},
		"a key with a dot in its name":          {ref: provider.Ref{Key: "db"}, property: "tls.crt", want: "CERT"},
		"a path into a key's JSON":              {ref: provider.Ref{Key: "db"}, property: "config.db.host", want: "db.internal"},
		"a number in a key's JSON":              {ref: provider.Ref{Key: "db"}, property: "config.db.port", want: "5432"},
		"an array index in a key's JSON":        {ref: provider.Ref{Key: "db"}, property: "config.tags.1", want: "b"},
		"an object in a key's JSON":             {ref: provider.Ref{Key: "db"}, property: "config.db", want: `{"host":"db.internal","port":5432}`},
		"a path under a key with a dot":         {ref: provider.Ref{Key: "db"}, property: "app.json.mode", want: "<prod & safe>"},
		"a missing key":                         {ref: provider.Ref{Key: "db"}, property: "nope", notFound: true},
		"a missing path":                        {ref: provider.Ref{Key: "db"}, property: "config.db.nope", notFound: true},
		"a path into a key that is not JSON":    {ref: provider.Ref{Key: "db"}, property: "user.name", notFound: true},
		"a label":                               {ref: provider.Ref{Key: "db", Metadata: true}, property: "labels.app", want: "web"},
		"a label with dots and a slash":         {ref: provider.Ref{Key: "db", Metadata: true}, property: "labels.app.kubernetes.io/name", want: "db"},
		"an annotation":                         {ref: provider.Ref{Key: "db", Metadata: true}, property: "annotations.link", want: "https://x/?a=1&b=2"},
		"all labels":                            {ref: provider.Ref{Key: "db", Metadata: true}, property: "labels", want: `{"app":"web","app.kubernetes.io/name":"db"}`},
		"a missing annotation":                  {ref: provider.Ref{Key: "db", Metadata: true}, property: "annotations.nope", notFound: true},
		"the metadata as JSON, unescaped":       {ref: provider.Ref{Key: "db", Metadata: true}, want: `{"annotations":{"link":"https://x/?a=1&b=2"},"labels":{"app":"web","app.kubernetes.io/name":"db"}}`},
		"a Secret that does not exist":          {ref: provider.Ref{Key: "gone"}, notFound: true},
		"a Secret that does not exist, by meta": {ref: provider.Ref{Key: "gone", Metadata: true}, notFound: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := read(ctx, c, tc.ref, tc.property)
			if tc.notFound {
				if !errors.Is(err, provider.ErrNotFound) {
					t.Fatalf("want an error wrapping ErrNotFound, got %v", err)
				}
				if !strings.Contains(err.Error(), remoteNS+"/"+tc.ref.Key) {
					t.Errorf("the error does not name the Secret %s/%s: %v", remoteNS, tc.ref.Key, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	t.Run("the whole Secret is a JSON object of strings", func(t *testing.T) {
		v, err := read(ctx, c, provider.Ref{Key: "db"}, "")
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		if err := json.Unmarshal(v, &got); err != nil {
			t.Fatalf("not a JSON object of strings: %v", err)
		}
		want := map[string]string{"user": "admin", "password": canary, "config": `{"db":{"host":"db.internal","port":5432},"tags":["a","b"]}`, "tls.crt": "CERT", "app.json": `{"mode":"<prod & safe>"}`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if strings.Contains(string(v), `\u0026`) {
			t.Errorf("& is escaped, as ESO does not: %s", v)
		}
	})
	t.Run("extract copies every key as it is", func(t *testing.T) {
		sec, err := c.GetSecret(ctx, provider.Ref{Key: "db"})
		if err != nil {
			t.Fatal(err)
		}
		m, err := sec.Map()
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != 5 || string(m["password"]) != canary || string(m["tls.crt"]) != "CERT" {
			t.Errorf("keys: %d, password intact: %v", len(m), string(m["password"]) == canary)
		}
	})
	t.Run("a version is refused, not ignored", func(t *testing.T) {
		_, err := c.GetSecret(ctx, provider.Ref{Key: "db", Version: "2"})
		if err == nil || errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), "no versions") {
			t.Errorf("want a plain error about versions, got %v", err)
		}
	})
	t.Run("a key that cannot name a Secret is refused", func(t *testing.T) {
		_, err := c.GetSecret(ctx, provider.Ref{Key: "app/db"})
		if err == nil || errors.Is(err, provider.ErrNotFound) {
			t.Errorf("want a plain error, got %v", err)
		}
	})
}

func read(ctx context.Context, c provider.Client, ref provider.Ref, property string) ([]byte, error) {
	s, err := c.GetSecret(ctx, ref)
	if err != nil {
		return nil, err
	}
	if property == "" {
		return s.Value()
	}
	return s.Property(property)
}

// find selects by label selector and by name, both when both are set.
func TestFind(t *testing.T) {
	s := newSuite(t)
	storeNS, remoteNS := s.reader(t)
	s.secret(t, remoteNS, "a-1", map[string]string{"k": "a1"}, map[string]string{"team": "a"}, nil)
	s.secret(t, remoteNS, "a-2", map[string]string{"k": "a2"}, map[string]string{"team": "a"}, nil)
	s.secret(t, remoteNS, "b-1", map[string]string{"k": canary}, map[string]string{"team": "b"}, nil)
	s.secret(t, remoteNS, "c-1", map[string]string{"k": "c1"}, nil, nil)
	c := s.client(t, s.local(), store(storeNS, remoteNS, "reader"))
	finder := c.(provider.Finder)

	tests := map[string]struct {
		find provider.Find
		want map[string]string
	}{
		"by name":          {find: provider.Find{Name: "^a-"}, want: map[string]string{"a-1": `{"k":"a1"}`, "a-2": `{"k":"a2"}`}},
		"by labels":        {find: provider.Find{Tags: map[string]string{"team": "b"}}, want: map[string]string{"b-1": `{"k":"` + canary + `"}`}},
		"by name and tags": {find: provider.Find{Name: "1$", Tags: map[string]string{"team": "a"}}, want: map[string]string{"a-1": `{"k":"a1"}`}},
		"everything":       {find: provider.Find{}, want: map[string]string{"a-1": `{"k":"a1"}`, "a-2": `{"k":"a2"}`, "b-1": `{"k":"` + canary + `"}`, "c-1": `{"k":"c1"}`}},
		"nothing matches":  {find: provider.Find{Name: "^z"}, want: map[string]string{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := finder.Find(context.Background(), tc.find)
			if err != nil {
				t.Fatal(err)
			}
			gotS := map[string]string{}
			for k, v := range got {
				gotS[k] = string(v)
			}
			if diff := cmp.Diff(tc.want, gotS); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for name, f := range map[string]provider.Find{
		"a path":            {Path: "a/"},
		"a bad regexp":      {Name: "("},
		"a bad label value": {Tags: map[string]string{"team": "not a label value!"}},
	} {
		t.Run("refuses "+name, func(t *testing.T) {
			if _, err := finder.Find(context.Background(), f); err == nil {
				t.Error("want an error")
			}
		})
	}
}

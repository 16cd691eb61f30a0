package vault_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/vaulttest"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// kvServer starts Vault with a KV v2 engine at kv and a KV v1 engine at
// kv1, filled with the secrets the read and find tests expect, and returns
// the root token for stores to use.
func kvServer(t *testing.T) *vaultServer {
	v := startVault(t, vaulttest.Options{})
	v.mountKV("kv", "2")
	v.mountKV("kv1", "1")

	v.putV2("kv", "app/db", map[string]any{"user": "admin", "password": canary})
	v.write("kv/metadata/app/db", map[string]any{"custom_metadata": map[string]any{"team": "payments", "tier": "1"}})
	v.putV2("kv", "app/nested", map[string]any{
		"config":     map[string]any{"db": map[string]any{"host": "db.internal", "port": 5432}},
		"dotted.key": "exact",
		"dotted":     map[string]any{"key": "nested"},
		"list":       []any{"a", "b"},
	})
	for _, val := range []string{"one", "two", "three"} {
		v.putV2("kv", "rotating", map[string]any{"value": val})
	}
	v.write("kv/delete/rotating", map[string]any{"versions": []int{2}})
	v.putV2("kv", "team-a/one", map[string]any{"n": "1"})
	v.putV2("kv", "team-a/deep/two", map[string]any{"n": "2"})
	v.write("kv/metadata/team-a/deep/two", map[string]any{"custom_metadata": map[string]any{"team": "payments"}})
	v.putV2("kv", "gone", map[string]any{"n": "0"})
	v.delete("kv/data/gone")

	v.write("kv1/app/db", map[string]any{"user": "admin1", "password": canary})
	v.write("kv1/team-a/one", map[string]any{"n": "1"})
	return v
}

func TestGetSecret(t *testing.T) {
	v := kvServer(t)
	ctx := context.Background()
	c := &creds{secrets: map[string]string{"team/vault-token/token": v.RootToken}}
	tokenAuth := &secretstore.VaultAuth{TokenSecretRef: &secretstore.SecretKeySelector{Name: "vault-token", Key: "token"}}
	v2 := secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv"), Version: "v2", Auth: tokenAuth}
	v1 := secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv1"), Version: "v1", Auth: tokenAuth}
	noMount := secretstore.VaultProvider{Server: v.Addr, Auth: tokenAuth}
	defaultVersion := secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv"), Auth: tokenAuth}

	tests := map[string]struct {
		spec     secretstore.VaultProvider
		ref      provider.Ref
		property string
		want     string
		wantErr  error
		errText  string
	}{
		"a v2 secret reads as a JSON object": {
			spec: v2, ref: provider.Ref{Key: "app/db"},
			want: `{"password":"` + canary + `","user":"admin"}`,
		},
		"the version defaults to v2": {
			spec: defaultVersion, ref: provider.Ref{Key: "app/db"}, property: "user", want: "admin",
		},
		"a property": {spec: v2, ref: provider.Ref{Key: "app/db"}, property: "user", want: "admin"},
		"a nested property": {
			spec: v2, ref: provider.Ref{Key: "app/nested"}, property: "config.db.host", want: "db.internal",
		},
		"a nested number": {
			spec: v2, ref: provider.Ref{Key: "app/nested"}, property: "config.db.port", want: "5432",
		},
		"a nested object reads as JSON": {
			spec: v2, ref: provider.Ref{Key: "app/nested"}, property: "config.db",
			want: `{"host":"db.internal","port":5432}`,
		},
		"a key with a dot wins over the nested path": {
			spec: v2, ref: provider.Ref{Key: "app/nested"}, property: "dotted.key", want: "exact",
		},
		"an array element": {spec: v2, ref: provider.Ref{Key: "app/nested"}, property: "list.1", want: "b"},
		"a key that repeats the mount": {
			spec: v2, ref: provider.Ref{Key: "kv/app/db"}, property: "user", want: "admin",
		},
		"a key that repeats the mount and data": {
			spec: v2, ref: provider.Ref{Key: "kv/data/app/db"}, property: "user", want: "admin",
		},
		"without spec.path the key names the mount": {
			spec: noMount, ref: provider.Ref{Key: "kv/app/db"}, property: "user", want: "admin",
		},
		"the latest version": {spec: v2, ref: provider.Ref{Key: "rotating"}, property: "value", want: "three"},
		"an old version": {
			spec: v2, ref: provider.Ref{Key: "rotating", Version: "1"}, property: "value", want: "one",
		},
		"a deleted version is not found": {
			spec: v2, ref: provider.Ref{Key: "rotating", Version: "2"}, wantErr: provider.ErrNotFound,
		},
		"a deleted secret is not found": {spec: v2, ref: provider.Ref{Key: "gone"}, wantErr: provider.ErrNotFound},
		"a missing secret is not found": {
			spec: v2, ref: provider.Ref{Key: "app/missing"}, wantErr: provider.ErrNotFound, errText: "kv/data/app/missing",
		},
		"a missing property is not found": {
			spec: v2, ref: provider.Ref{Key: "app/db"}, property: "nope", wantErr: provider.ErrNotFound, errText: `"nope"`,
		},
		"custom metadata": {
			spec: v2, ref: provider.Ref{Key: "app/db", Metadata: true}, want: `{"team":"payments","tier":"1"}`,
		},
		"a custom metadata property": {
			spec: v2, ref: provider.Ref{Key: "app/db", Metadata: true}, property: "team", want: "payments",
		},
		"metadata of a secret without custom metadata": {
			spec: v2, ref: provider.Ref{Key: "rotating", Metadata: true}, want: `{}`,
		},
		"metadata of a missing secret is not found": {
			spec: v2, ref: provider.Ref{Key: "app/missing", Metadata: true}, wantErr: provider.ErrNotFound,
		},
		"a v1 secret": {spec: v1, ref: provider.Ref{Key: "app/db"}, property: "user", want: "admin1"},
		"a v1 key that repeats the mount": {
			spec: v1, ref: provider.Ref{Key: "kv1/app/db"}, property: "user", want: "admin1",
		},
		"a missing v1 secret is not found": {
			spec: v1, ref: provider.Ref{Key: "app/missing"}, wantErr: provider.ErrNotFound,
		},
		"v1 has no versions": {spec: v1, ref: provider.Ref{Key: "app/db", Version: "1"}, errText: "versions need KV v2"},
		"v1 has no metadata": {spec: v1, ref: provider.Ref{Key: "app/db", Metadata: true}, errText: "needs KV v2"},
		"a v2 store on a v1 mount finds nothing": {
			spec: secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv1"), Auth: tokenAuth},
			ref:  provider.Ref{Key: "app/db"}, wantErr: provider.ErrNotFound,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			client := newClient(t, store(tc.spec), c)
			got, err := readValue(ctx, client, tc.ref, tc.property)
			noCanary(t, err)
			if tc.wantErr != nil || tc.errText != "" {
				if err == nil {
					t.Fatalf("got value, want an error")
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("error %q does not wrap %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.errText) {
					t.Errorf("error %q does not mention %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetSecret: %v", err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
		})
	}
}

// dataFrom.extract reads a secret's keys through Map.
func TestExtract(t *testing.T) {
	v := kvServer(t)
	c := &creds{secrets: map[string]string{"team/vault-token/token": v.RootToken}}
	spec := secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv"), Auth: &secretstore.VaultAuth{TokenSecretRef: ptr(sel("vault-token", "token"))}}
	client := newClient(t, store(spec), c)

	s, err := client.GetSecret(context.Background(), provider.Ref{Key: "app/nested"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Map()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"config":     `{"db":{"host":"db.internal","port":5432}}`,
		"dotted.key": "exact",
		"dotted":     `{"key":"nested"}`,
		"list":       `["a","b"]`,
	}
	if diff := cmp.Diff(want, strMap(got)); diff != "" {
		t.Errorf("Map (-want +got):\n%s", diff)
	}
}

func strMap(m map[string][]byte) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

func TestFind(t *testing.T) {
	v := kvServer(t)
	c := &creds{secrets: map[string]string{"team/vault-token/token": v.RootToken}}
	tokenAuth := &secretstore.VaultAuth{TokenSecretRef: ptr(sel("vault-token", "token"))}
	v2 := secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv"), Auth: tokenAuth}
	v1 := secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv1"), Version: "v1", Auth: tokenAuth}
	dbValue := `{"password":"` + canary + `","user":"admin"}`

	tests := map[string]struct {
		spec    secretstore.VaultProvider
		find    provider.Find
		want    map[string]string
		wantErr error
		errText string
	}{
		"every secret of the mount, recursively, but the deleted one": {
			spec: v2, find: provider.Find{Name: ".*"},
			want: map[string]string{
				"app/db": dbValue, "app/nested": "", "rotating": `{"value":"three"}`,
				"team-a/one": `{"n":"1"}`, "team-a/deep/two": `{"n":"2"}`,
			},
		},
		"by name": {
			spec: v2, find: provider.Find{Name: "^app/d"},
			want: map[string]string{"app/db": dbValue},
		},
		"under a path": {
			spec: v2, find: provider.Find{Path: "team-a"},
			want: map[string]string{"team-a/one": `{"n":"1"}`, "team-a/deep/two": `{"n":"2"}`},
		},
		"by tags": {
			spec: v2, find: provider.Find{Tags: map[string]string{"team": "payments"}},
			want: map[string]string{"app/db": dbValue, "team-a/deep/two": `{"n":"2"}`},
		},
		"by two tags": {
			spec: v2, find: provider.Find{Tags: map[string]string{"team": "payments", "tier": "1"}},
			want: map[string]string{"app/db": dbValue},
		},
		"by path, name and tags": {
			spec: v2, find: provider.Find{Path: "team-a", Name: "two$", Tags: map[string]string{"team": "payments"}},
			want: map[string]string{"team-a/deep/two": `{"n":"2"}`},
		},
		"nothing matches": {
			spec: v2, find: provider.Find{Name: "^nothing"}, want: map[string]string{},
		},
		"a missing path is not found": {
			spec: v2, find: provider.Find{Path: "team-z"}, wantErr: provider.ErrNotFound,
		},
		"v1 by name": {
			spec: v1, find: provider.Find{Name: "one$"}, want: map[string]string{"team-a/one": `{"n":"1"}`},
		},
		"v1 has no tags": {
			spec: v1, find: provider.Find{Tags: map[string]string{"team": "payments"}}, errText: "needs KV v2",
		},
		"v2 without a mount": {
			spec:    secretstore.VaultProvider{Server: v.Addr, Auth: tokenAuth},
			find:    provider.Find{Name: ".*"},
			errText: "needs spec.provider.vault.path",
		},
		"a bad regexp": {spec: v2, find: provider.Find{Name: "("}, errText: "name regexp"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			client := newClient(t, store(tc.spec), c)
			got, err := client.Find(context.Background(), tc.find)
			noCanary(t, err)
			if tc.wantErr != nil || tc.errText != "" {
				if err == nil {
					t.Fatalf("got %v, want an error", strMap(got))
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("error %q does not wrap %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.errText) {
					t.Errorf("error %q does not mention %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			gotS := strMap(got)
			// app/nested is long; its presence is what matters.
			if _, ok := tc.want["app/nested"]; ok {
				if _, ok := gotS["app/nested"]; ok {
					gotS["app/nested"] = ""
				}
			}
			if diff := cmp.Diff(tc.want, gotS); diff != "" {
				t.Errorf("Find (-want +got):\n%s", diff)
			}
		})
	}
}

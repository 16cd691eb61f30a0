package vault

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/secretstore"
)

// The cases are ESO's own examples of buildPath, so its manifests read the
// same secrets here.
func TestPaths(t *testing.T) {
	ptr := func(s string) *string { return &s }
	type paths struct{ Data, Metadata string }
	tests := map[string]struct {
		mount   *string
		version secretstore.VaultKVStoreVersion
		key     string
		want    paths
	}{
		"v2 prepends the mount and data": {
			mount: ptr("secret/path"), version: "v2", key: "foo",
			want: paths{"secret/path/data/foo", "secret/path/metadata/foo"},
		},
		"the default version is v2": {
			mount: ptr("secret"), key: "app/db",
			want: paths{"secret/data/app/db", "secret/metadata/app/db"},
		},
		"v1 prepends the mount": {
			mount: ptr("secret/path"), version: "v1", key: "foo",
			want: paths{"secret/path/foo", "secret/path/foo"},
		},
		"v2 accepts a key that repeats the mount": {
			mount: ptr("secret/path"), version: "v2", key: "secret/path/foo",
			want: paths{"secret/path/data/foo", "secret/path/metadata/foo"},
		},
		"v2 accepts a key that repeats the mount and data": {
			mount: ptr("secret/path"), version: "v2", key: "secret/path/data/foo",
			want: paths{"secret/path/data/foo", "secret/path/metadata/foo"},
		},
		"v1 accepts a key that repeats the mount": {
			mount: ptr("secret/path"), version: "v1", key: "secret/path/foo",
			want: paths{"secret/path/foo", "secret/path/foo"},
		},
		"v2 without a mount inserts data after the first segment": {
			version: "v2", key: "secret/path/foo",
			want: paths{"secret/data/path/foo", "secret/metadata/path/foo"},
		},
		"v2 without a mount keeps a key that has data": {
			version: "v2", key: "secret/path/data/foo",
			want: paths{"secret/path/data/foo", "secret/path/metadata/foo"},
		},
		"v1 without a mount uses the key": {
			version: "v1", key: "secret/path/foo",
			want: paths{"secret/path/foo", "secret/path/foo"},
		},
		"slashes around the mount are ignored": {
			mount: ptr("/kv/"), key: "/app",
			want: paths{"kv/data/app", "kv/metadata/app"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			k := newKV(&secretstore.VaultProvider{Path: tc.mount, Version: tc.version})
			got := paths{k.dataPath(tc.key), k.metadataPath(tc.key)}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("paths of %q (-want +got):\n%s", tc.key, diff)
			}
		})
	}
}

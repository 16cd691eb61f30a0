package vault

import (
	"strings"

	"github.com/secretsync/secretsync/secretstore"
)

// kv locates secrets in one KV engine the way the External Secrets Operator
// does, so its manifests read the same secrets here.
type kv struct {
	// mount is spec.path, the engine's mount path, or empty when the spec
	// leaves it out and each key names its mount.
	mount string
	v2    bool
}

func newKV(spec *secretstore.VaultProvider) kv {
	k := kv{v2: spec.Version != secretstore.VaultKVStoreV1}
	if spec.Path != nil {
		k.mount = strings.Trim(*spec.Path, "/")
	}
	return k
}

// split returns the mount and the secret's path inside it for key.
//
// With a mount configured, key is a path under it; a key that repeats the
// mount (and, on KV v2, "data/") is accepted too. Without one, KV v2 keys
// start with the mount, either "mount/path" or "mount/data/path", and KV v1
// keys are used as they are.
func (k kv) split(key string) (mount, name string) {
	key = strings.TrimPrefix(key, "/")
	if k.mount != "" {
		name = key
		if rest, ok := strings.CutPrefix(key, k.mount+"/"); ok {
			name = rest
			if k.v2 {
				name = strings.TrimPrefix(name, "data/")
			}
		}
		return k.mount, name
	}
	if !k.v2 {
		return "", key
	}
	if before, after, ok := strings.Cut(key, "/data/"); ok {
		return before, after
	}
	mount, name, _ = strings.Cut(key, "/")
	return mount, name
}

// dataPath is the API path that reads key's value.
func (k kv) dataPath(key string) string {
	mount, name := k.split(key)
	return k.join(mount, "data", name)
}

// metadataPath is the API path of key's metadata on KV v2.
func (k kv) metadataPath(key string) string {
	mount, name := k.split(key)
	return k.join(mount, "metadata", name)
}

// join builds mount/segment/name on KV v2 and mount/name on KV v1.
func (k kv) join(mount, segment, name string) string {
	parts := make([]string, 0, 3)
	if mount != "" {
		parts = append(parts, mount)
	}
	if k.v2 {
		parts = append(parts, segment)
	}
	if name != "" {
		parts = append(parts, name)
	}
	return strings.Join(parts, "/")
}

package vault_test

import (
	"context"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/internal/vaulttest"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// PushSecret and DeleteSecret on a real Vault, KV v2 with check-and-set
// and KV v1: what is pushed reads back through GetSecret, properties keep
// their neighbours, and secrets PushSecret did not create are left alone.
func TestPush(t *testing.T) {
	v := startVault(t, vaulttest.Options{})
	v.mountKV("kv", "2")
	v.mountKV("kv1", "1")
	v.putV2("kv", "theirs", map[string]any{"owner": "someone"})
	// Every write must name the version it replaces: the client's
	// checkAndSet must hold.
	v.write("kv/config", map[string]any{"cas_required": true})
	ctx := context.Background()
	c := &creds{secrets: map[string]string{"team/vault-token/token": v.RootToken}}
	auth := &secretstore.VaultAuth{TokenSecretRef: &secretstore.SecretKeySelector{Name: "vault-token", Key: "token"}}

	for _, tc := range []struct {
		name string
		spec secretstore.VaultProvider
	}{
		{"v2 check-and-set", secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv"), Version: "v2", Auth: auth, CheckAndSet: &secretstore.VaultCheckAndSet{Required: true}}},
		{"v1", secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv1"), Version: "v1", Auth: auth}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newClient(t, store(tc.spec), c)
			read := func(key, property string) string {
				t.Helper()
				b, err := readValue(ctx, cl, provider.Ref{Key: key}, property)
				if err != nil {
					t.Fatalf("read %s %s: %v", key, property, err)
				}
				return string(b)
			}
			push := func(key, property, value string) {
				t.Helper()
				err := cl.PushSecret(ctx, []byte(value), provider.Push{RemoteKey: key, Property: property})
				noCanary(t, err)
				if err != nil {
					t.Fatalf("push %s %s: %v", key, property, err)
				}
			}

			push("app/db", "password", canary)
			push("app/db", "user", "admin")
			if got := read("app/db", "password"); got != canary {
				t.Error("the pushed password does not read back")
			}
			push("app/db", "password", "rotated")
			if read("app/db", "password") != "rotated" || read("app/db", "user") != "admin" {
				t.Error("a second push lost a property or the new value")
			}
			push("app/whole", "", `{"a":"1","b":"2"}`)
			if got := read("app/whole", ""); got != `{"a":"1","b":"2"}` {
				t.Errorf("whole secret reads back as %s", got)
			}
			if err := cl.PushSecret(ctx, []byte(canary), provider.Push{RemoteKey: "app/plain"}); err == nil || strings.Contains(err.Error(), canary) {
				t.Errorf("pushing a value that is not a JSON object without a property: %v", err)
			}

			if err := cl.DeleteSecret(ctx, provider.Push{RemoteKey: "app/db", Property: "password"}); err != nil {
				t.Fatal(err)
			}
			if _, err := readValue(ctx, cl, provider.Ref{Key: "app/db"}, "password"); err == nil || read("app/db", "user") != "admin" {
				t.Errorf("after deleting the property: password read %v, user kept?", err)
			}
			for _, p := range []provider.Push{{RemoteKey: "app/db", Property: "user"}, {RemoteKey: "app/whole"}, {RemoteKey: "app/never-pushed"}} {
				if err := cl.DeleteSecret(ctx, p); err != nil {
					t.Errorf("delete %+v: %v", p, err)
				}
			}
			for _, key := range []string{"app/db", "app/whole"} {
				if _, err := readValue(ctx, cl, provider.Ref{Key: key}, ""); err == nil {
					t.Errorf("%s still reads after its delete", key)
				}
			}
		})
	}

	// A KV v2 secret PushSecret did not create is neither overwritten nor
	// deleted.
	cl := newClient(t, store(secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv"), Version: "v2", Auth: auth}), c)
	if err := cl.PushSecret(ctx, []byte("x"), provider.Push{RemoteKey: "theirs", Property: "owner"}); err == nil || !strings.Contains(err.Error(), "not marked managed-by") {
		t.Errorf("push over a secret it did not create: %v", err)
	}
	if err := cl.DeleteSecret(ctx, provider.Push{RemoteKey: "theirs"}); err == nil {
		t.Error("deleted a secret it did not create")
	}
	if got, err := readValue(ctx, cl, provider.Ref{Key: "theirs"}, "owner"); err != nil || string(got) != "someone" {
		t.Errorf("their secret now reads %q, %v", got, err)
	}
}

package azure_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/azureemu"
	"github.com/secretsync/secretsync/provider"
)

var managedBy = map[string]string{"managed-by": "external-secrets"}

// writeCalls are the calls of the Key Vault operations that write, with
// those never called left out.
func writeCalls(e *azureemu.Server) map[string]int {
	out := map[string]int{}
	for _, op := range []string{"secrets/set", "secrets/update", "secrets/delete", "deletedsecrets/recover", "deletedsecrets/purge"} {
		if n := e.Calls(op); n > 0 {
			out[op] = n
		}
	}
	return out
}

func pusher(t *testing.T, c provider.Client) provider.Pusher {
	t.Helper()
	p, ok := c.(provider.Pusher)
	if !ok {
		t.Fatalf("%T is not a provider.Pusher", c)
	}
	return p
}

// seedManaged sets value as the secret name, tagged as PushSecret's, and
// with the other tags given.
func seedManaged(name, value string, tags ...string) func(*azureemu.Server) {
	return func(e *azureemu.Server) {
		e.SetSecret(name, value)
		t := map[string]string{"managed-by": "external-secrets"}
		for i := 0; i+1 < len(tags); i += 2 {
			t[tags[i]] = tags[i+1]
		}
		e.SetTags(azureemu.Secrets, name, t)
	}
}

func metadata(spec string) []byte {
	return []byte(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata","spec":` + spec + `}`)
}

var expiry = time.Date(2030, 12, 31, 20, 0, 0, 0, time.UTC)

func TestPushSecret(t *testing.T) {
	tests := map[string]struct {
		seed    func(*azureemu.Server)
		value   string
		push    provider.Push
		wantErr string
		// want is the value GetSecret reads back, props its properties.
		want  string
		props map[string]string
		// state is what the vault holds after the push, when set.
		state  *azureemu.SecretState
		writes map[string]int
	}{
		"a new secret is set, tagged": {
			value:  "v1",
			push:   provider.Push{RemoteKey: "db"},
			want:   "v1",
			state:  &azureemu.SecretState{Value: "v1", Tags: managedBy, Enabled: true, Versions: 1},
			writes: map[string]int{"secrets/set": 1},
		},
		"the secret/ prefix names a secret": {
			value:  "v1",
			push:   provider.Push{RemoteKey: "secret/db"},
			want:   "v1",
			writes: map[string]int{"secrets/set": 1},
		},
		"a new value is a new version": {
			seed:   seedManaged("db", "v1"),
			value:  "v2",
			push:   provider.Push{RemoteKey: "db"},
			want:   "v2",
			state:  &azureemu.SecretState{Value: "v2", Tags: managedBy, Enabled: true, Versions: 2},
			writes: map[string]int{"secrets/set": 1},
		},
		"the current value is not written again": {
			seed:   seedManaged("db", "v1"),
			value:  "v1",
			push:   provider.Push{RemoteKey: "db"},
			want:   "v1",
			writes: map[string]int{},
		},
		"a property of an existing JSON secret, the others kept": {
			seed:   seedManaged("db", `{"user":"admin","password":"old"}`),
			value:  "new",
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			props:  map[string]string{"password": "new", "user": "admin"},
			writes: map[string]int{"secrets/set": 1},
		},
		"a property already holding the value is not written": {
			seed:   seedManaged("db", `{ "user": "admin", "password": "same" }`),
			value:  "same",
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			props:  map[string]string{"password": "same"},
			writes: map[string]int{},
		},
		"a property of a missing secret creates it": {
			value:  "p1",
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			want:   `{"password":"p1"}`,
			writes: map[string]int{"secrets/set": 1},
		},
		"a property keeps the tags, content type and expiry of the secret": {
			seed: func(e *azureemu.Server) {
				seedManaged("db", `{"user":"admin"}`, "team", "payments")(e)
				e.SetSecretContentType("db", "application/json")
			},
			value:  "p1",
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			props:  map[string]string{"password": "p1", "user": "admin"},
			state:  &azureemu.SecretState{Value: `{"password":"p1","user":"admin"}`, Tags: map[string]string{"managed-by": "external-secrets", "team": "payments"}, ContentType: "application/json", Enabled: true, Versions: 2},
			writes: map[string]int{"secrets/set": 1},
		},
		"a property of a secret that is not a JSON object fails": {
			seed:    seedManaged("db", "plain text"),
			value:   "p1",
			push:    provider.Push{RemoteKey: "db", Property: "password"},
			wantErr: `push to secret "db" property "password" in SecretStore/team-a/azure: the remote secret is not a JSON object, so property password cannot be set in it`,
			writes:  map[string]int{},
		},
		"metadata: tags, content type and expiry": {
			value:  "v1",
			push:   provider.Push{RemoteKey: "db", Metadata: metadata(`{"tags": {"team": "payments"}, "contentType": "text/plain", "expirationDate": "2030-12-31T20:00:00Z"}`)},
			want:   "v1",
			state:  &azureemu.SecretState{Value: "v1", Tags: map[string]string{"managed-by": "external-secrets", "team": "payments"}, ContentType: "text/plain", Enabled: true, Expires: &expiry, Versions: 1},
			writes: map[string]int{"secrets/set": 1},
		},
		"changed tags alone are updated on the current version": {
			seed:   seedManaged("db", "v1", "team", "old"),
			value:  "v1",
			push:   provider.Push{RemoteKey: "db", Metadata: metadata(`{"tags": {"team": "payments"}, "expirationDate": "2030-12-31T20:00:00Z"}`)},
			want:   "v1",
			state:  &azureemu.SecretState{Value: "v1", Tags: map[string]string{"managed-by": "external-secrets", "team": "payments"}, Enabled: true, Expires: &expiry, Versions: 1},
			writes: map[string]int{"secrets/update": 1},
		},
		"tags the metadata leaves out are dropped, as in ESO": {
			seed:   seedManaged("db", "v1", "team", "old"),
			value:  "v2",
			push:   provider.Push{RemoteKey: "db"},
			want:   "v2",
			state:  &azureemu.SecretState{Value: "v2", Tags: managedBy, Enabled: true, Versions: 2},
			writes: map[string]int{"secrets/set": 1},
		},
		"a content type the metadata does not set is kept": {
			seed: func(e *azureemu.Server) {
				seedManaged("db", "v1")(e)
				e.SetSecretContentType("db", "application/json")
			},
			value:  "v2",
			push:   provider.Push{RemoteKey: "db"},
			want:   "v2",
			state:  &azureemu.SecretState{Value: "v2", Tags: managedBy, ContentType: "application/json", Enabled: true, Versions: 2},
			writes: map[string]int{"secrets/set": 1},
		},
		"an expiry the metadata drops needs a new version": {
			seed: func(e *azureemu.Server) {
				seedManaged("db", "v1")(e)
				e.SetSecretExpires("db", expiry)
			},
			value:  "v1",
			push:   provider.Push{RemoteKey: "db"},
			want:   "v1",
			state:  &azureemu.SecretState{Value: "v1", Tags: managedBy, Enabled: true, Versions: 2},
			writes: map[string]int{"secrets/set": 1},
		},
		"an expiry the metadata keeps is not written again": {
			seed: func(e *azureemu.Server) {
				seedManaged("db", "v1")(e)
				e.SetSecretExpires("db", expiry)
			},
			value:  "v1",
			push:   provider.Push{RemoteKey: "db", Metadata: metadata(`{"expirationDate": "2030-12-31T21:00:00+01:00"}`)},
			want:   "v1",
			writes: map[string]int{},
		},
		"a soft-deleted secret of PushSecret's is recovered and written": {
			seed: func(e *azureemu.Server) {
				seedManaged("db", "v1")(e)
				e.DeleteSecret("db")
				e.SetRecoveryPolls(2)
			},
			value:  "v2",
			push:   provider.Push{RemoteKey: "db"},
			want:   "v2",
			state:  &azureemu.SecretState{Value: "v2", Tags: managedBy, Enabled: true, Versions: 2},
			writes: map[string]int{"secrets/set": 2, "deletedsecrets/recover": 1},
		},
		"a soft-deleted secret of someone else's is left alone": {
			seed: func(e *azureemu.Server) {
				e.SetSecret("db", "theirs")
				e.DeleteSecret("db")
			},
			value:   "v2",
			push:    provider.Push{RemoteKey: "db"},
			wantErr: "a soft-deleted secret of that name, not managed by external-secrets, holds the name: purge or recover it",
			state:   &azureemu.SecretState{Value: "theirs", Enabled: true, Versions: 1, Deleted: true},
			writes:  map[string]int{"secrets/set": 1},
		},
		"a secret without the tag is not overwritten": {
			seed:    func(e *azureemu.Server) { e.SetSecret("db", "theirs") },
			value:   "ours",
			push:    provider.Push{RemoteKey: "db"},
			wantErr: `push to secret "db" in SecretStore/team-a/azure: the secret exists and is not managed by external-secrets: tag it managed-by=external-secrets to let PushSecret write it`,
			want:    "theirs",
			writes:  map[string]int{},
		},
		"certificates cannot be pushed": {
			value:   "pem",
			push:    provider.Push{RemoteKey: "cert/tls"},
			wantErr: `push to secret "cert/tls" in SecretStore/team-a/azure: key "cert/tls" names a certificate: only secrets can be pushed to Key Vault, not certificates or keys; use secret/tls or tls`,
			writes:  map[string]int{},
		},
		"keys cannot be pushed": {
			value:   "jwk",
			push:    provider.Push{RemoteKey: "key/signing"},
			wantErr: "only secrets can be pushed to Key Vault",
			writes:  map[string]int{},
		},
		"an unknown metadata field is named": {
			value:   "v1",
			push:    provider.Push{RemoteKey: "db", Metadata: metadata(`{"tag": {"team": "a"}}`)},
			wantErr: `push to secret "db" in SecretStore/team-a/azure: metadata: json: unknown field "tag"`,
			writes:  map[string]int{},
		},
		"the managed-by tag cannot be set in metadata": {
			value:   "v1",
			push:    provider.Push{RemoteKey: "db", Metadata: metadata(`{"tags": {"managed-by": "me"}}`)},
			wantErr: "metadata: spec.tags: the managed-by tag is set by PushSecret",
			writes:  map[string]int{},
		},
		"an expiration date that is not RFC 3339 is refused": {
			value:   "v1",
			push:    provider.Push{RemoteKey: "db", Metadata: metadata(`{"expirationDate": "31/12/2030"}`)},
			wantErr: `metadata: spec.expirationDate "31/12/2030" is not an RFC 3339 time`,
			writes:  map[string]int{},
		},
		"metadata of another kind is refused": {
			value:   "v1",
			push:    provider.Push{RemoteKey: "db", Metadata: []byte(`{"apiVersion":"v1","kind":"Secret"}`)},
			wantErr: `metadata: apiVersion "v1" and kind "Secret" must be kubernetes.external-secrets.io/v1alpha1 and PushSecretMetadata`,
			writes:  map[string]int{},
		},
		"metadata with a property is refused": {
			value:   "v1",
			push:    provider.Push{RemoteKey: "db", Property: "p", Metadata: metadata(`{"contentType": "text/plain"}`)},
			wantErr: "metadata cannot be set with a property",
			writes:  map[string]int{},
		},
		"a value that is not UTF-8 is refused": {
			value:   "\xff\xfe",
			push:    provider.Push{RemoteKey: "db"},
			wantErr: "the value is not UTF-8 text",
			writes:  map[string]int{},
		},
		"a denied write names the role": {
			seed:    func(e *azureemu.Server) { e.Deny(appID, "secrets/set") },
			value:   "v1",
			push:    provider.Push{RemoteKey: "db"},
			wantErr: "Key Vault SetSecret: 403 Forbidden (AccessDenied): The user, group or application 'appid=" + appID,
			writes:  map[string]int{"secrets/set": 1},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			if tc.seed != nil {
				tc.seed(h.emu)
			}
			c := h.client(nil)
			h.emu.ResetCalls()
			err := pusher(t, c).PushSecret(context.Background(), []byte(tc.value), tc.push)
			if diff := cmp.Diff(tc.writes, writeCalls(h.emu)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" {
				if got, err := read(c, provider.Ref{Key: tc.push.RemoteKey}, ""); err != nil || got != tc.want {
					t.Errorf("read back %q, %v; want %q", got, err, tc.want)
				}
			}
			for prop, want := range tc.props {
				if got, err := read(c, provider.Ref{Key: tc.push.RemoteKey}, prop); err != nil || got != want {
					t.Errorf("read back property %s: %q, %v; want %q", prop, got, err, want)
				}
			}
			if tc.state != nil {
				got, ok := h.emu.Secret("db")
				if !ok {
					t.Fatal("the vault holds no secret db")
				}
				if diff := cmp.Diff(*tc.state, got); diff != "" {
					t.Errorf("vault state (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// The denied write's hint names the role a pushing identity needs.
func TestPushSecretRoleHint(t *testing.T) {
	h := newHarness(t)
	h.emu.Deny(appID, "secrets/set")
	err := pusher(t, h.client(nil)).PushSecret(context.Background(), []byte("v1"), provider.Push{RemoteKey: "db"})
	if err == nil || !strings.Contains(err.Error(), "such as Key Vault Secrets Officer, for PushSecret") {
		t.Errorf("want the write role in the hint, got %v", err)
	}
}

func TestDeleteSecret(t *testing.T) {
	tests := map[string]struct {
		seed    func(*azureemu.Server)
		push    provider.Push
		wantErr string
		// state is what the vault holds after; nil when it holds nothing.
		state   *azureemu.SecretState
		props   map[string]string
		missing []string
		writes  map[string]int
	}{
		"a whole secret is soft-deleted": {
			seed:   seedManaged("db", "v1"),
			push:   provider.Push{RemoteKey: "db"},
			state:  &azureemu.SecretState{Value: "v1", Tags: managedBy, Enabled: true, Versions: 1, Deleted: true},
			writes: map[string]int{"secrets/delete": 1},
		},
		"a property, the others and the tags kept": {
			seed:    seedManaged("db", `{"user":"admin","password":"p1"}`, "team", "payments"),
			push:    provider.Push{RemoteKey: "db", Property: "password"},
			state:   &azureemu.SecretState{Value: `{"user":"admin"}`, Tags: map[string]string{"managed-by": "external-secrets", "team": "payments"}, Enabled: true, Versions: 2},
			props:   map[string]string{"user": "admin"},
			missing: []string{"password"},
			writes:  map[string]int{"secrets/set": 1},
		},
		"the last property deletes the secret": {
			seed:   seedManaged("db", `{"password":"p1"}`),
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			state:  &azureemu.SecretState{Value: `{"password":"p1"}`, Tags: managedBy, Enabled: true, Versions: 1, Deleted: true},
			writes: map[string]int{"secrets/delete": 1},
		},
		"a missing secret": {
			push:   provider.Push{RemoteKey: "db"},
			writes: map[string]int{},
		},
		"a property of a missing secret": {
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			writes: map[string]int{},
		},
		"a missing property": {
			seed:   seedManaged("db", `{"user":"admin"}`),
			push:   provider.Push{RemoteKey: "db", Property: "password"},
			state:  &azureemu.SecretState{Value: `{"user":"admin"}`, Tags: managedBy, Enabled: true, Versions: 1},
			props:  map[string]string{"user": "admin"},
			writes: map[string]int{},
		},
		"a secret without the tag is refused": {
			seed:    func(e *azureemu.Server) { e.SetSecret("db", "theirs") },
			push:    provider.Push{RemoteKey: "db"},
			wantErr: `delete secret "db" in SecretStore/team-a/azure: the secret is not managed by external-secrets (no tag managed-by=external-secrets), so it is not deleted`,
			state:   &azureemu.SecretState{Value: "theirs", Enabled: true, Versions: 1},
			writes:  map[string]int{},
		},
		"a certificate is refused": {
			push:    provider.Push{RemoteKey: "cert/tls"},
			wantErr: "only secrets can be pushed to Key Vault",
			writes:  map[string]int{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			if tc.seed != nil {
				tc.seed(h.emu)
			}
			c := h.client(nil)
			h.emu.ResetCalls()
			err := pusher(t, c).DeleteSecret(context.Background(), tc.push)
			if diff := cmp.Diff(tc.writes, writeCalls(h.emu)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			got, ok := h.emu.Secret("db")
			switch {
			case tc.state == nil && ok:
				t.Errorf("the vault holds %+v, want nothing", got)
			case tc.state != nil:
				if diff := cmp.Diff(*tc.state, got); diff != "" {
					t.Errorf("vault state (-want +got):\n%s", diff)
				}
			}
			for prop, want := range tc.props {
				if got, err := read(c, provider.Ref{Key: "db"}, prop); err != nil || got != want {
					t.Errorf("property %s: %q, %v; want %q", prop, got, err, want)
				}
			}
			for _, prop := range tc.missing {
				if _, err := read(c, provider.Ref{Key: "db"}, prop); !errors.Is(err, provider.ErrNotFound) {
					t.Errorf("property %s: want ErrNotFound, got %v", prop, err)
				}
			}
		})
	}
}

// A secret deleted and pushed again comes back: the delete is soft, and
// the push recovers it.
func TestDeleteThenPushAgain(t *testing.T) {
	h := newHarness(t)
	c := pusher(t, h.client(nil))
	ctx := context.Background()
	for i, v := range []string{"v1", "v2"} {
		if err := c.PushSecret(ctx, []byte(v), provider.Push{RemoteKey: "db"}); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
		if err := c.DeleteSecret(ctx, provider.Push{RemoteKey: "db"}); err != nil {
			t.Fatalf("delete %d: %v", i, err)
		}
	}
	got, _ := h.emu.Secret("db")
	if diff := cmp.Diff(azureemu.SecretState{Value: "v2", Tags: managedBy, Enabled: true, Versions: 2, Deleted: true}, got); diff != "" {
		t.Errorf("vault state (-want +got):\n%s", diff)
	}
}

// No error of a push or a delete carries the value, whatever fails.
func TestPushErrorsNeverCarryValues(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("theirs", canary)
	seedManaged("text", "not json "+canary)(h.emu)
	seedManaged("mine", `{"a":"`+canary+`","b":"x"}`)(h.emu)
	h.emu.SetSecret("gone", canary)
	h.emu.DeleteSecret("gone")
	c := pusher(t, h.client(nil))
	ctx := context.Background()
	var errs []error
	collect := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: expected an error", what)
			return
		}
		errs = append(errs, err)
	}
	value := []byte(canary)
	collect("not managed", c.PushSecret(ctx, value, provider.Push{RemoteKey: "theirs"}))
	collect("delete not managed", c.DeleteSecret(ctx, provider.Push{RemoteKey: "theirs"}))
	collect("not an object", c.PushSecret(ctx, value, provider.Push{RemoteKey: "text", Property: "p"}))
	collect("delete from not an object", c.DeleteSecret(ctx, provider.Push{RemoteKey: "text", Property: "p"}))
	collect("deleted, not ours", c.PushSecret(ctx, value, provider.Push{RemoteKey: "gone"}))
	collect("certificate", c.PushSecret(ctx, value, provider.Push{RemoteKey: "cert/" + "mine"}))
	collect("not UTF-8", c.PushSecret(ctx, append(value, 0xff), provider.Push{RemoteKey: "mine"}))
	collect("bad metadata", c.PushSecret(ctx, value, provider.Push{RemoteKey: "mine", Metadata: metadata(`{"tags": {"x": 1}}`)}))
	h.emu.Deny(appID, "secrets/set")
	collect("set denied", c.PushSecret(ctx, value, provider.Push{RemoteKey: "mine", Property: "c"}))
	collect("set denied on delete", c.DeleteSecret(ctx, provider.Push{RemoteKey: "mine", Property: "a"}))
	h.emu.Throttle("secrets/get", -1, time.Millisecond)
	collect("throttled", c.PushSecret(ctx, value, provider.Push{RemoteKey: "mine", Property: "c"}))
	for _, err := range errs {
		if strings.Contains(err.Error(), canary) {
			t.Errorf("an error carries a value: %v", err)
		}
	}
	if len(errs) < 11 {
		t.Errorf("checked only %d errors", len(errs))
	}
}

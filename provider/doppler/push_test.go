package doppler_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

func writes(h *harness) map[string]int {
	return map[string]int{"update": h.emu.Calls("update"), "delete": h.emu.Calls("delete")}
}

// What a push writes is in the config, reads back through GetSecret as
// the value pushed, and leaves the other secrets alone.
func TestPushSecret(t *testing.T) {
	tests := map[string]struct {
		store    func(*secretstore.DopplerProvider)
		existing map[string]string
		push     provider.Push
		value    string
		want     map[string]string
	}{
		"a new secret": {
			existing: map[string]string{"OTHER": "o"},
			push:     provider.Push{RemoteKey: "API_KEY"},
			value:    canary,
			want:     map[string]string{"OTHER": "o", "API_KEY": canary},
		},
		"an updated value": {
			existing: map[string]string{"OTHER": "o", "API_KEY": "old"},
			push:     provider.Push{RemoteKey: "API_KEY"},
			value:    canary,
			want:     map[string]string{"OTHER": "o", "API_KEY": canary},
		},
		"a JSON value, whole": {
			push:  provider.Push{RemoteKey: "DB"},
			value: `{"user":"admin","password":"` + canary + `"}`,
			want:  map[string]string{"DB": `{"user":"admin","password":"` + canary + `"}`},
		},
		"with a personal token, which names project and config": {
			store: personal("auth-api", "prd"),
			push:  provider.Push{RemoteKey: "API_KEY"},
			value: canary,
			want:  map[string]string{"API_KEY": canary},
		},
		"metadata, which Doppler has none of, is ignored": {
			push:  provider.Push{RemoteKey: "API_KEY", Metadata: json.RawMessage(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata","spec":{}}`)},
			value: canary,
			want:  map[string]string{"API_KEY": canary},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			for k, v := range tc.existing {
				h.emu.SetSecret("auth-api", "prd", k, v)
			}
			c := h.client(tc.store)
			// A read first, so that the read back must see past the
			// download the client keeps.
			_, _ = read(c, tc.push.RemoteKey, "")
			if err := c.(provider.Pusher).PushSecret(context.Background(), []byte(tc.value), tc.push); err != nil {
				t.Fatalf("PushSecret: %v", err)
			}
			if diff := cmp.Diff(tc.want, h.emu.Secrets("auth-api", "prd")); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]int{"update": 1, "delete": 0}, writes(h)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if back, err := read(c, tc.push.RemoteKey, ""); err != nil || back != tc.value {
				t.Errorf("read back: %v, equal: %v", err, back == tc.value)
			}
		})
	}

	t.Run("a new secret, then an updated value, each read back", func(t *testing.T) {
		h := newHarness(t)
		c := h.client(nil)
		for _, v := range []string{canary + "-1", canary + "-2"} {
			if err := c.(provider.Pusher).PushSecret(context.Background(), []byte(v), provider.Push{RemoteKey: "ROTATED"}); err != nil {
				t.Fatal(err)
			}
			if back, err := read(c, "ROTATED", ""); err != nil || back != v {
				t.Errorf("read back: %v, equal: %v", err, back == v)
			}
		}
	})

	t.Run("a rate-limited push is retried", func(t *testing.T) {
		h := newHarness(t)
		c := h.client(nil)
		h.emu.Throttle(1, "0")
		if err := c.(provider.Pusher).PushSecret(context.Background(), []byte(canary), provider.Push{RemoteKey: "API_KEY"}); err != nil {
			t.Fatal(err)
		}
		if n, ok := h.emu.CallsWithStatus("update", http.StatusTooManyRequests), h.emu.CallsWithStatus("update", http.StatusOK); n != 1 || ok != 1 {
			t.Errorf("updates: %d answered 429, %d answered 200; want one of each", n, ok)
		}
	})
}

func TestDeleteSecret(t *testing.T) {
	tests := map[string]struct {
		existing   map[string]string
		key        string
		want       map[string]string
		wantWrites map[string]int
	}{
		"a secret":         {existing: map[string]string{"API_KEY": canary, "OTHER": "o"}, key: "API_KEY", want: map[string]string{"OTHER": "o"}, wantWrites: map[string]int{"update": 0, "delete": 1}},
		"the last secret":  {existing: map[string]string{"API_KEY": canary}, key: "API_KEY", want: map[string]string{}, wantWrites: map[string]int{"update": 0, "delete": 1}},
		"a missing secret": {existing: map[string]string{"OTHER": "o"}, key: "API_KEY", want: map[string]string{"OTHER": "o"}, wantWrites: map[string]int{"update": 0, "delete": 0}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			for k, v := range tc.existing {
				h.emu.SetSecret("auth-api", "prd", k, v)
			}
			c := h.client(nil)
			if err := c.(provider.Pusher).DeleteSecret(context.Background(), provider.Push{RemoteKey: tc.key}); err != nil {
				t.Fatalf("DeleteSecret: %v", err)
			}
			if diff := cmp.Diff(tc.want, h.emu.Secrets("auth-api", "prd")); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWrites, writes(h)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if _, err := c.GetSecret(context.Background(), provider.Ref{Key: tc.key}); !errors.Is(err, provider.ErrNotFound) {
				t.Errorf("GetSecret after delete: want ErrNotFound, got %v", err)
			}
		})
	}

	t.Run("a missing config is an error, not a deletion", func(t *testing.T) {
		h := newHarness(t)
		c := h.client(personal("auth-api", "stg"))
		err := c.(provider.Pusher).DeleteSecret(context.Background(), provider.Push{RemoteKey: "API_KEY"})
		if err == nil || errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), "404") {
			t.Errorf("want a 404 error, got %v", err)
		}
		if diff := cmp.Diff(map[string]int{"update": 0, "delete": 0}, writes(h)); diff != "" {
			t.Errorf("writes (-want +got):\n%s", diff)
		}
	})
}

// Writes the client cannot make fail with errors that say why and carry
// no value; those it can refuse itself make no request.
func TestPushSecretRefuses(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("auth-api", "prd", "API_KEY", canary)
	c := h.client(nil).(provider.Pusher)

	tests := map[string]struct {
		push   provider.Push
		value  string
		delete bool
		want   string // in the error
	}{
		"a property":                {push: provider.Push{RemoteKey: "API_KEY", Property: "password"}, want: "no properties"},
		"deleting a property":       {push: provider.Push{RemoteKey: "API_KEY", Property: "password"}, delete: true, want: "no properties"},
		"a lowercase name":          {push: provider.Push{RemoteKey: "api_key"}, want: "uppercase"},
		"a name with a dash":        {push: provider.Push{RemoteKey: "API-KEY"}, want: "uppercase"},
		"a name starting with 1":    {push: provider.Push{RemoteKey: "1KEY"}, want: "not starting with a digit"},
		"deleting a lowercase name": {push: provider.Push{RemoteKey: "api_key"}, delete: true, want: "uppercase"},
		"a value that is not UTF-8": {push: provider.Push{RemoteKey: "API_KEY"}, value: "\xff" + canary, want: "UTF-8"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			value := tc.value
			if value == "" {
				value = canary
			}
			var err error
			if tc.delete {
				err = c.DeleteSecret(context.Background(), tc.push)
			} else {
				err = c.PushSecret(context.Background(), []byte(value), tc.push)
			}
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.push.RemoteKey) {
				t.Errorf("the error does not say %s of %s: %v", tc.want, tc.push.RemoteKey, err)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("the error carries the value: %v", err)
			}
		})
	}
	if n := h.emu.Calls("update") + h.emu.Calls("delete") + h.emu.Calls("download"); n != 0 {
		t.Errorf("%d requests for writes refused before any", n)
	}

	t.Run("a read-only token is refused, and told why", func(t *testing.T) {
		ro := "dp.st.ro-" + canary
		h.emu.AddReadOnlyServiceToken(ro, "auth-api", "prd")
		h.creds.SetSecret(namespace, "ro-token", "dopplerToken", ro)
		c := h.client(func(d *secretstore.DopplerProvider) { d.Auth.SecretRef.DopplerToken.Name = "ro-token" }).(provider.Pusher)
		for what, err := range map[string]error{
			"push":   c.PushSecret(context.Background(), []byte(canary), provider.Push{RemoteKey: "API_KEY"}),
			"delete": c.DeleteSecret(context.Background(), provider.Push{RemoteKey: "API_KEY"}),
		} {
			if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "may not write") {
				t.Errorf("%s: want a 403 that says the token may not write, got %v", what, err)
			}
			if err != nil && strings.Contains(err.Error(), canary) {
				t.Errorf("%s: the error carries the value or the token: %v", what, err)
			}
		}
		if got := h.emu.Secrets("auth-api", "prd")["API_KEY"]; got != canary {
			t.Error("a refused write changed the secret")
		}
	})
}

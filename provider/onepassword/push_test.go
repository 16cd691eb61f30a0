package onepassword_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/secretsync/secretsync/internal/onepassemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

func metadata(spec string) json.RawMessage {
	return json.RawMessage(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata","spec":` + spec + `}`)
}

// item returns the one item titled title in the vault named, as the
// emulator holds it, with field IDs cleared for comparison.
func (h *harness) item(vault, title string) (onepassemu.Item, bool) {
	h.t.Helper()
	var found []onepassemu.Item
	for _, it := range h.emu.Items(vault) {
		if it.Title == title {
			for i := range it.Fields {
				it.Fields[i].ID = ""
			}
			found = append(found, it)
		}
	}
	if len(found) > 1 {
		h.t.Fatalf("%d items titled %q in %s", len(found), title, vault)
	}
	if len(found) == 0 {
		return onepassemu.Item{}, false
	}
	return found[0], true
}

func writes(emu *onepassemu.Server) map[string]int {
	c := emu.CallCounts()
	return map[string]int{"CreateItem": c["CreateItem"], "UpdateItem": c["UpdateItem"], "DeleteItem": c["DeleteItem"]}
}

// What a push writes is in the vault, reads back through GetSecret as
// the value pushed, and keeps what it must keep.
func TestPushSecret(t *testing.T) {
	login := onepassemu.Item{Title: "db", Tags: []string{"old"}, Fields: []onepassemu.Field{
		{Label: "username", Value: "admin", Purpose: "USERNAME"},
		{Label: "password", Value: "old", Type: "CONCEALED", Purpose: "PASSWORD"},
		{Label: "host", Value: "h", Section: "extra"},
	}}
	tests := map[string]struct {
		existing map[string]onepassemu.Item // by vault
		push     provider.Push
		value    string

		vault      string // where the item must be
		want       onepassemu.Item
		wantWrites map[string]int
	}{
		"a new item, no property": {
			push:  provider.Push{RemoteKey: "new"},
			value: canary,
			vault: "staging",
			want: onepassemu.Item{Title: "new", Category: "SERVER", Files: []onepassemu.File{}, Fields: []onepassemu.Field{
				{Label: "password", Value: canary, Type: "CONCEALED"},
			}},
			wantWrites: map[string]int{"CreateItem": 1},
		},
		"a property of a new item, with tags": {
			push:  provider.Push{RemoteKey: "new", Property: "api key", Metadata: metadata(`{"tags":["a","b"]}`)},
			value: canary,
			vault: "staging",
			want: onepassemu.Item{Title: "new", Category: "SERVER", Tags: []string{"a", "b"}, Files: []onepassemu.File{}, Fields: []onepassemu.Field{
				{Label: "api key", Value: canary, Type: "CONCEALED"},
			}},
			wantWrites: map[string]int{"CreateItem": 1},
		},
		"a new item in the vault metadata names": {
			push:  provider.Push{RemoteKey: "new", Metadata: metadata(`{"vault":"shared"}`)},
			value: canary,
			vault: "shared",
			want: onepassemu.Item{Title: "new", Category: "SERVER", Files: []onepassemu.File{}, Fields: []onepassemu.Field{
				{Label: "password", Value: canary, Type: "CONCEALED"},
			}},
			wantWrites: map[string]int{"CreateItem": 1},
		},
		"the field of an existing item, everything else kept": {
			existing: map[string]onepassemu.Item{"staging": login},
			push:     provider.Push{RemoteKey: "db", Property: "password"},
			value:    canary,
			vault:    "staging",
			want: onepassemu.Item{Title: "db", Category: "LOGIN", Tags: []string{"old"}, Files: []onepassemu.File{}, Fields: []onepassemu.Field{
				{Label: "username", Value: "admin", Type: "STRING", Purpose: "USERNAME"},
				{Label: "password", Value: canary, Type: "CONCEALED", Purpose: "PASSWORD"},
				{Label: "host", Value: "h", Type: "STRING", Section: "extra"},
			}},
			wantWrites: map[string]int{"UpdateItem": 1},
		},
		"a new field of an existing item, tags replaced": {
			existing: map[string]onepassemu.Item{"staging": login},
			push:     provider.Push{RemoteKey: "db", Property: "field/token", Metadata: metadata(`{"tags":["new"]}`)},
			value:    canary,
			vault:    "staging",
			want: onepassemu.Item{Title: "db", Category: "LOGIN", Tags: []string{"new"}, Files: []onepassemu.File{}, Fields: []onepassemu.Field{
				{Label: "username", Value: "admin", Type: "STRING", Purpose: "USERNAME"},
				{Label: "password", Value: "old", Type: "CONCEALED", Purpose: "PASSWORD"},
				{Label: "host", Value: "h", Type: "STRING", Section: "extra"},
				{Label: "token", Value: canary, Type: "CONCEALED"},
			}},
			wantWrites: map[string]int{"UpdateItem": 1},
		},
		"an item of a lower-priority vault is written where it is": {
			existing: map[string]onepassemu.Item{"shared": {Title: "db", Fields: []onepassemu.Field{{Label: "password", Value: "old"}}}},
			push:     provider.Push{RemoteKey: "db", Metadata: metadata(`{"vault":"staging"}`)},
			value:    canary,
			vault:    "shared",
			want: onepassemu.Item{Title: "db", Category: "LOGIN", Files: []onepassemu.File{}, Fields: []onepassemu.Field{
				{Label: "password", Value: canary, Type: "STRING"},
			}},
			wantWrites: map[string]int{"UpdateItem": 1},
		},
		"a field of a document, its file kept": {
			existing: map[string]onepassemu.Item{"staging": {Title: "cert", Category: "DOCUMENT", Files: []onepassemu.File{{Name: "tls.crt", Content: []byte("CRT")}}}},
			push:     provider.Push{RemoteKey: "cert", Property: "field/note"},
			value:    canary,
			vault:    "staging",
			want: onepassemu.Item{Title: "cert", Category: "DOCUMENT", Files: []onepassemu.File{{Name: "tls.crt", Content: []byte("CRT")}}, Fields: []onepassemu.Field{
				{Label: "note", Value: canary, Type: "CONCEALED"},
			}},
			wantWrites: map[string]int{"UpdateItem": 1},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			for vault, it := range tc.existing {
				h.emu.PutItem(vault, it)
			}
			c := h.client(nil)
			if err := c.(provider.Pusher).PushSecret(context.Background(), []byte(tc.value), tc.push); err != nil {
				t.Fatalf("PushSecret: %v", err)
			}
			got, ok := h.item(tc.vault, tc.push.RemoteKey)
			if !ok {
				t.Fatalf("no item %q in vault %s", tc.push.RemoteKey, tc.vault)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(onepassemu.Item{}, "ID"), cmpopts.IgnoreFields(onepassemu.File{}, "ID")); diff != "" {
				t.Errorf("item (-want +got):\n%s", diff)
			}
			want := map[string]int{"CreateItem": 0, "UpdateItem": 0, "DeleteItem": 0}
			for op, n := range tc.wantWrites {
				want[op] = n
			}
			if diff := cmp.Diff(want, writes(h.emu)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			back, err := read(c, tc.push.RemoteKey, tc.push.Property)
			if err != nil || back != tc.value {
				t.Errorf("read back: %v, equal: %v", err, back == tc.value)
			}
		})
	}

	t.Run("a new item, then an updated value", func(t *testing.T) {
		h := newHarness(t)
		c := h.client(nil)
		pusher := c.(provider.Pusher)
		for _, v := range []string{canary + "-1", canary + "-2"} {
			if err := pusher.PushSecret(context.Background(), []byte(v), provider.Push{RemoteKey: "rotated", Property: "key"}); err != nil {
				t.Fatal(err)
			}
			if back, err := read(c, "rotated", "key"); err != nil || back != v {
				t.Errorf("read back: %v, equal: %v", err, back == v)
			}
		}
		if diff := cmp.Diff(map[string]int{"CreateItem": 1, "UpdateItem": 1, "DeleteItem": 0}, writes(h.emu)); diff != "" {
			t.Errorf("writes (-want +got):\n%s", diff)
		}
		if len(h.emu.Items("staging")) != 1 || len(h.emu.Items("shared")) != 0 {
			t.Errorf("items: staging %d, shared %d; want one", len(h.emu.Items("staging")), len(h.emu.Items("shared")))
		}
	})
}

func TestDeleteSecret(t *testing.T) {
	two := onepassemu.Item{Title: "db", Fields: []onepassemu.Field{{Label: "username", Value: "admin"}, {Label: "password", Value: canary}}}
	one := onepassemu.Item{Title: "db", Fields: []onepassemu.Field{{Label: "password", Value: canary}}}
	tests := map[string]struct {
		existing   *onepassemu.Item // in staging
		push       provider.Push
		wantFields []string // labels left; nil: the item is gone
		wantWrites map[string]int
	}{
		"a field of an item with others":  {existing: &two, push: provider.Push{RemoteKey: "db", Property: "password"}, wantFields: []string{"username"}, wantWrites: map[string]int{"UpdateItem": 1}},
		"the last field deletes the item": {existing: &one, push: provider.Push{RemoteKey: "db", Property: "password"}, wantWrites: map[string]int{"DeleteItem": 1}},
		"a whole item":                    {existing: &two, push: provider.Push{RemoteKey: "db"}, wantWrites: map[string]int{"DeleteItem": 1}},
		"the last field of an item with a file keeps it": {
			existing:   &onepassemu.Item{Title: "db", Fields: []onepassemu.Field{{Label: "password", Value: canary}}, Files: []onepassemu.File{{Name: "f", Content: []byte("x")}}},
			push:       provider.Push{RemoteKey: "db", Property: "field/password"},
			wantFields: []string{},
			wantWrites: map[string]int{"UpdateItem": 1},
		},
		"a field the item does not have": {existing: &two, push: provider.Push{RemoteKey: "db", Property: "token"}, wantFields: []string{"username", "password"}},
		"a field of a missing item":      {push: provider.Push{RemoteKey: "db", Property: "password"}},
		"a missing item":                 {push: provider.Push{RemoteKey: "db"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			if tc.existing != nil {
				h.emu.PutItem("staging", *tc.existing)
			}
			c := h.client(nil)
			if err := c.(provider.Pusher).DeleteSecret(context.Background(), tc.push); err != nil {
				t.Fatalf("DeleteSecret: %v", err)
			}
			got, ok := h.item("staging", "db")
			if tc.wantFields == nil {
				if ok {
					t.Errorf("the item is still there: %+v", got)
				}
				if _, err := c.GetSecret(context.Background(), provider.Ref{Key: "db"}); !errors.Is(err, provider.ErrNotFound) {
					t.Errorf("GetSecret after delete: want ErrNotFound, got %v", err)
				}
			} else {
				labels := []string{}
				for _, f := range got.Fields {
					labels = append(labels, f.Label)
				}
				if diff := cmp.Diff(tc.wantFields, labels); !ok || diff != "" {
					t.Errorf("fields left (-want +got):\n%s", diff)
				}
			}
			want := map[string]int{"CreateItem": 0, "UpdateItem": 0, "DeleteItem": 0}
			for op, n := range tc.wantWrites {
				want[op] = n
			}
			if diff := cmp.Diff(want, writes(h.emu)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
		})
	}
}

// Pushes the client cannot make fail, before any write, with errors that
// say why and carry no value.
func TestPushSecretRefuses(t *testing.T) {
	h := newHarness(t)
	h.emu.PutItem("staging", onepassemu.Item{Title: "cert", Category: "DOCUMENT", Files: []onepassemu.File{{Name: "tls.crt", Content: []byte(canary)}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "dup", Fields: []onepassemu.Field{{Label: "token", Value: canary}, {Label: "token", Value: canary}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "twice"})
	h.emu.PutItem("staging", onepassemu.Item{Title: "twice"})
	c := h.client(nil)
	pusher := c.(provider.Pusher)

	tests := map[string]struct {
		push   provider.Push
		value  string
		delete bool
		want   string // in the error
	}{
		"metadata with a field it does not know":  {push: provider.Push{RemoteKey: "x", Metadata: metadata(`{"tagz":["a"]}`)}, want: `"tagz"`},
		"metadata of another kind":                {push: provider.Push{RemoteKey: "x", Metadata: json.RawMessage(`{"apiVersion":"v1","kind":"Secret"}`)}, want: "apiVersion"},
		"metadata naming a vault not the store's": {push: provider.Push{RemoteKey: "x", Metadata: metadata(`{"vault":"prod"}`)}, want: `"prod"`},
		"a file property":                         {push: provider.Push{RemoteKey: "x", Property: "file/tls.crt"}, want: "files cannot be written"},
		"a property of a document that is a file": {push: provider.Push{RemoteKey: "cert", Property: "tls.key"}, want: "DOCUMENT"},
		"a document without a property":           {push: provider.Push{RemoteKey: "cert"}, want: "DOCUMENT"},
		"a value that is not UTF-8":               {push: provider.Push{RemoteKey: "x"}, value: "\xff" + canary, want: "UTF-8"},
		"a label two fields have":                 {push: provider.Push{RemoteKey: "dup", Property: "token"}, want: `labelled "token"`},
		"two items with the title":                {push: provider.Push{RemoteKey: "twice"}, want: "2 items"},
		"deleting a label two fields have":        {push: provider.Push{RemoteKey: "dup", Property: "token"}, delete: true, want: `labelled "token"`},
		"deleting a file":                         {push: provider.Push{RemoteKey: "cert", Property: "tls.crt"}, delete: true, want: "DOCUMENT"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			value := tc.value
			if value == "" {
				value = canary
			}
			var err error
			if tc.delete {
				err = pusher.DeleteSecret(context.Background(), tc.push)
			} else {
				err = pusher.PushSecret(context.Background(), []byte(value), tc.push)
			}
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("the error does not say %s: %v", tc.want, err)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("the error carries the value: %v", err)
			}
		})
	}
	if diff := cmp.Diff(map[string]int{"CreateItem": 0, "UpdateItem": 0, "DeleteItem": 0}, writes(h.emu)); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}

	t.Run("a read-only token is refused, and told why", func(t *testing.T) {
		h.emu.AddReadOnlyToken("ro-" + canary)
		h.creds.SetSecret(namespace, "ro-token", "token", "ro-"+canary)
		ro := h.client(func(op *secretstore.OnePasswordProvider) { op.Auth.SecretRef.ConnectToken.Name = "ro-token" }).(provider.Pusher)
		h.emu.PutItem("staging", onepassemu.Item{Title: "db", Fields: []onepassemu.Field{{Label: "password", Value: canary}}})
		for what, err := range map[string]error{
			"create": ro.PushSecret(context.Background(), []byte(canary), provider.Push{RemoteKey: "new"}),
			"update": ro.PushSecret(context.Background(), []byte(canary), provider.Push{RemoteKey: "db"}),
			"delete": ro.DeleteSecret(context.Background(), provider.Push{RemoteKey: "db"}),
		} {
			if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "may not write") {
				t.Errorf("%s: want a 403 that says the token may not write, got %v", what, err)
			}
			if err != nil && strings.Contains(err.Error(), canary) {
				t.Errorf("%s: the error carries the value or the token: %v", what, err)
			}
		}
	})
}

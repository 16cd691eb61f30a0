package onepassword_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/onepassemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

func TestGetSecret(t *testing.T) {
	h := newHarness(t)
	h.emu.PutItem("staging", onepassemu.Item{Title: "db", Tags: []string{"prod"}, Fields: []onepassemu.Field{
		{Label: "username", Value: "admin", Purpose: "USERNAME"},
		{Label: "password", Value: canary, Type: "CONCEALED", Purpose: "PASSWORD"},
		{Label: "a.b", Value: "dot"},
		{Label: "api key", Value: "k", Section: "extra"},
		{Value: "no label"},
	}})
	h.emu.PutItem("shared", onepassemu.Item{Title: "db", Fields: []onepassemu.Field{{Label: "password", Value: "shared-pw"}}})
	h.emu.PutItem("shared", onepassemu.Item{Title: "only-shared", Fields: []onepassemu.Field{{Label: "password", Value: "s"}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "cert", Category: "DOCUMENT",
		Fields: []onepassemu.Field{{Label: "notesPlain", Value: "a note"}},
		Files: []onepassemu.File{
			{Name: "tls.crt", Content: []byte("CRT " + canary)},
			{Name: "tls.key", Content: []byte("KEY " + canary)},
		}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "deploy", Fields: []onepassemu.Field{{Label: "password", Value: "p"}},
		Files: []onepassemu.File{{Name: "id_rsa", Content: []byte{0, 1, 0xfe}}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "empty-doc", Category: "DOCUMENT"})
	h.emu.PutItem("staging", onepassemu.Item{Title: "dup-fields", Fields: []onepassemu.Field{{Label: "token", Value: "1"}, {Label: "token", Value: "2"}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "twice", Fields: []onepassemu.Field{{Label: "password", Value: "1"}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "twice", Fields: []onepassemu.Field{{Label: "password", Value: "2"}}})
	byID := h.emu.PutItem("shared", onepassemu.Item{Title: "titled", Fields: []onepassemu.Field{{Label: "password", Value: "by id"}}})
	c := h.client(nil)

	tests := map[string]struct {
		key, property string
		want          string
		notFound      bool // else, with want empty, another error
	}{
		"the password field without a property":       {key: "db", want: canary},
		"a field by label":                            {key: "db", property: "username", want: "admin"},
		"a label with a dot, whole":                   {key: "db", property: "a.b", want: "dot"},
		"a field in a section":                        {key: "db", property: "api key", want: "k"},
		"field/ chooses a field":                      {key: "db", property: "field/username", want: "admin"},
		"field/ alone is the password field":          {key: "db", property: "field/", want: canary},
		"the higher-priority vault's item wins":       {key: "db", property: "password", want: canary},
		"a lower-priority vault when the first lacks": {key: "only-shared", want: "s"},
		"a document's first file without a property":  {key: "cert", want: "CRT " + canary},
		"a document's file by name":                   {key: "cert", property: "tls.key", want: "KEY " + canary},
		"field/ reads a field of a document":          {key: "cert", property: "field/notesPlain", want: "a note"},
		"file/ reads a file of a login":               {key: "deploy", property: "file/id_rsa", want: "\x00\x01\xfe"},
		"an item ID instead of a title":               {key: byID, want: "by id"},
		"a missing item":                              {key: "nope", notFound: true},
		"a missing field":                             {key: "db", property: "nope", notFound: true},
		"a missing file":                              {key: "cert", property: "nope.pem", notFound: true},
		"a document without files":                    {key: "empty-doc", notFound: true},
		"a login without a password field":            {key: "dup-fields", notFound: true},
		"two fields with the label asked for":         {key: "dup-fields", property: "token"},
		"two items with the title in one vault":       {key: "twice"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := read(c, tc.key, tc.property)
			switch {
			case tc.notFound:
				if !errors.Is(err, provider.ErrNotFound) {
					t.Fatalf("want ErrNotFound, got %q, %v", got, err)
				}
			case tc.want == "":
				if err == nil || errors.Is(err, provider.ErrNotFound) {
					t.Fatalf("want an error other than not found, got %q, %v", got, err)
				}
			case err != nil || got != tc.want:
				t.Fatalf("want %q, got %q, %v", tc.want, got, err)
			}
		})
	}

	if _, err := c.GetSecret(context.Background(), provider.Ref{Key: "db", Version: "2"}); err == nil || errors.Is(err, provider.ErrNotFound) {
		t.Errorf("a version must be refused, not found or read: %v", err)
	}
}

func TestExtractAndMetadata(t *testing.T) {
	h := newHarness(t)
	h.emu.PutItem("staging", onepassemu.Item{Title: "db", Tags: []string{"prod", "eu"}, Fields: []onepassemu.Field{
		{Label: "username", Value: "admin"},
		{Label: "password", Value: canary},
		{Label: "a.b", Value: "dot"},
		{Value: "unlabelled"},
	}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "cert", Category: "DOCUMENT", Files: []onepassemu.File{
		{Name: "tls.crt", Content: []byte("crt")}, {Name: "tls.key", Content: []byte("key")},
	}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "dup", Fields: []onepassemu.Field{{Label: "x", Value: "1"}, {Label: "x", Value: "2"}}})
	c := h.client(nil)

	tests := map[string]struct {
		key     string
		want    map[string][]byte
		wantErr bool
	}{
		"a login's labelled fields": {key: "db", want: map[string][]byte{"username": []byte("admin"), "password": []byte(canary), "a.b": []byte("dot")}},
		"a document's files":        {key: "cert", want: map[string][]byte{"tls.crt": []byte("crt"), "tls.key": []byte("key")}},
		"two fields with one label": {key: "dup", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := c.GetSecret(context.Background(), provider.Ref{Key: tc.key})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Map()
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	t.Run("metadata", func(t *testing.T) {
		s, err := c.GetSecret(context.Background(), provider.Ref{Key: "db", Metadata: true})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, p := range []string{"title", "vault", "category", "tags", "version"} {
			v, err := s.Property(p)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			got[p] = string(v)
		}
		want := map[string]string{"title": "db", "vault": "staging", "category": "LOGIN", "tags": `["prod","eu"]`, "version": "1"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if v, _ := s.Value(); strings.Contains(string(v), canary) {
			t.Errorf("metadata carries a field value")
		}
	})
}

// Vault names are resolved to IDs once per client, whatever the number
// of reads and however many run at once.
func TestVaultLookupsAreCached(t *testing.T) {
	h := newHarness(t)
	h.emu.PutItem("staging", onepassemu.Item{Title: "a", Fields: []onepassemu.Field{{Label: "password", Value: "1"}}})
	h.emu.PutItem("shared", onepassemu.Item{Title: "b", Fields: []onepassemu.Field{{Label: "password", Value: "2"}}})
	c := h.client(nil)

	const reads = 20
	var wg sync.WaitGroup
	errs := make(chan error, reads)
	for i := range reads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := []string{"a", "b", "missing"}[i%3]
			if _, err := read(c, key, ""); err != nil && !errors.Is(err, provider.ErrNotFound) {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var lookups []string
	for _, r := range h.emu.Requests() {
		if r.Op == "ListVaults" {
			lookups = append(lookups, r.Filter)
		}
	}
	want := []string{`name eq "shared"`, `name eq "staging"`}
	if len(lookups) == 2 && lookups[0] > lookups[1] {
		lookups[0], lookups[1] = lookups[1], lookups[0]
	}
	if diff := cmp.Diff(want, lookups); diff != "" {
		t.Errorf("vault lookups over %d reads (-want +got):\n%s", reads, diff)
	}
	t.Logf("%d reads: %v", reads, h.emu.CallCounts())

	// Validate lists the vaults in one request, and its IDs serve reads.
	h.emu.ResetCalls()
	v := h.client(nil)
	if err := v.(provider.Validator).Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a", "b", "a", "b"} {
		if _, err := read(v, key, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.emu.Calls("ListVaults"); n != 1 {
		t.Errorf("Validate and 4 reads: want 1 ListVaults, got %d", n)
	}
}

// A vault deleted and recreated under its name is found again, within
// the read that notices.
func TestVaultRecreated(t *testing.T) {
	h := newHarness(t)
	h.emu.PutItem("shared", onepassemu.Item{Title: "b", Fields: []onepassemu.Field{{Label: "password", Value: "old"}}})
	c := h.client(nil)
	if got, err := read(c, "b", ""); err != nil || got != "old" {
		t.Fatalf("got %q, %v", got, err)
	}
	h.emu.DeleteVault("shared")
	h.emu.AddVault("shared")
	h.emu.PutItem("shared", onepassemu.Item{Title: "b", Fields: []onepassemu.Field{{Label: "password", Value: "new"}}})
	if got, err := read(c, "b", ""); err != nil || got != "new" {
		t.Fatalf("after recreation: got %q, %v", got, err)
	}
	if n := h.emu.Calls("ListVaults"); n != 3 {
		t.Errorf("want 3 vault lookups (staging, shared, shared again), got %d", n)
	}
}

// Failures read as what they are, name the item or vault, and are never
// ErrNotFound, which would let deletionPolicy delete a Secret.
func TestConnectErrors(t *testing.T) {
	h := newHarness(t)
	h.emu.PutItem("staging", onepassemu.Item{Title: "a", Fields: []onepassemu.Field{{Label: "password", Value: canary}}})
	h.emu.PutItem("shared", onepassemu.Item{Title: "b", Fields: []onepassemu.Field{{Label: "password", Value: canary}}})
	h.emu.AddToken("narrow", "staging")
	h.emu.AddToken("revoked")
	h.emu.AddToken("narrowed-later")
	h.creds.SetSecret(namespace, "narrow", "token", "narrow")
	h.creds.SetSecret(namespace, "revoked", "token", "revoked")
	h.creds.SetSecret(namespace, "later", "token", "narrowed-later")
	withToken := func(name string) provider.Client {
		return h.client(func(op *secretstore.OnePasswordProvider) { op.Auth.SecretRef.ConnectToken.Name = name })
	}

	later := withToken("later")
	if _, err := read(later, "b", ""); err != nil {
		t.Fatal(err)
	}
	h.emu.AddToken("narrowed-later", "staging")
	h.emu.RevokeToken("revoked")

	down := onepassemu.New()
	downURL := down.URL
	down.Close()

	tests := map[string]struct {
		client provider.Client
		key    string
		want   []string // substrings of the message
	}{
		"a revoked token": {
			client: withToken("revoked"), key: "a",
			want: []string{`item "a"`, "401 Unauthorized", "connectTokenSecretRef"},
		},
		"a vault the token cannot see": {
			client: withToken("narrow"), key: "b",
			want: []string{`item "b"`, `vault "shared" is not visible to the Connect token`},
		},
		"a vault taken from the token's scope": {
			client: later, key: "b",
			want: []string{`item "b"`, `vault "shared"`, "403 Forbidden", "may not read this vault"},
		},
		"a server that is down": {
			client: h.client(func(op *secretstore.OnePasswordProvider) { op.ConnectHost = downURL }), key: "a",
			want: []string{`item "a"`, "reach the Connect server"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := read(tc.client, tc.key, "")
			if err == nil || errors.Is(err, provider.ErrNotFound) {
				t.Fatalf("want an error other than not found, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
		})
	}

	t.Run("a server error", func(t *testing.T) {
		c := h.client(nil)
		h.emu.Fail("GetItem", 500, 1)
		_, err := read(c, "a", "")
		if err == nil || errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), "500") {
			t.Fatalf("want a 500 error, got %v", err)
		}
		if got, err := read(c, "a", ""); err != nil || got != canary {
			t.Fatalf("after the failure: %v", err)
		}
	})
	t.Run("validate names the vaults missing", func(t *testing.T) {
		err := withToken("narrow").(provider.Validator).Validate(context.Background())
		if err == nil || !strings.Contains(err.Error(), `vaults "shared" are not visible`) {
			t.Fatalf("got %v", err)
		}
		if err := withToken("revoked").(provider.Validator).Validate(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("got %v", err)
		}
	})
}

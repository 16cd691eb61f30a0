package onepassword_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/onepassemu"
	"github.com/secretsync/secretsync/provider"
)

// findCase is one find and what it gives: a map, or an error saying
// wantErr.
type findCase struct {
	find    provider.Find
	want    map[string][]byte
	wantErr string
}

func runFind(t *testing.T, c provider.Finder, tests map[string]findCase) {
	t.Helper()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := c.Find(context.Background(), tc.find)
			if tc.wantErr != "" {
				if err == nil || errors.Is(err, provider.ErrNotFound) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error saying %q, got %v, %v", tc.wantErr, got, err)
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
}

// The External Secrets Operator's form: path is an item's title, name
// chooses its fields and files.
func TestFind(t *testing.T) {
	h := newHarness(t)
	h.emu.PutItem("staging", onepassemu.Item{Title: "other", Tags: []string{"prod"}, Fields: []onepassemu.Field{{Label: "A", Value: "other"}, {Label: "C", Value: "3"}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "app", Tags: []string{"prod", "web"}, Fields: []onepassemu.Field{{Label: "A", Value: "1"}, {Label: "B", Value: canary}}})
	h.emu.PutItem("shared", onepassemu.Item{Title: "app", Tags: []string{"prod", "web"}, Fields: []onepassemu.Field{{Label: "A", Value: "shared"}, {Label: "D", Value: "4"}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "cert", Category: "DOCUMENT", Tags: []string{"prod"}, Files: []onepassemu.File{{Name: "tls.crt", Content: []byte("crt")}}})
	h.emu.PutItem("shared", onepassemu.Item{Title: "dup", Tags: []string{"bad"}, Fields: []onepassemu.Field{{Label: "x", Value: "1"}, {Label: "x", Value: "2"}}})
	c := h.client(nil).(provider.Finder)

	runFind(t, c, map[string]findCase{
		"path is a title, higher-priority vault first": {
			find: provider.Find{Path: "app"},
			want: map[string][]byte{"A": []byte("1"), "B": []byte(canary), "D": []byte("4")},
		},
		"name matches labels": {
			find: provider.Find{Path: "app", Name: "^A$"},
			want: map[string][]byte{"A": []byte("1")},
		},
		"tags, all of them": {
			find: provider.Find{Path: "app", Tags: map[string]string{"web": "", "prod": "ignored"}},
			want: map[string][]byte{"A": []byte("1"), "B": []byte(canary), "D": []byte("4")},
		},
		"a tag the item lacks": {
			find: provider.Find{Path: "other", Tags: map[string]string{"web": ""}},
			want: map[string][]byte{},
		},
		"a name over file names": {
			find: provider.Find{Path: "cert", Tags: map[string]string{"prod": ""}, Name: `^(C|tls\..*)$`},
			want: map[string][]byte{"tls.crt": []byte("crt")},
		},
		"a name over labels": {
			find: provider.Find{Path: "other", Name: `^(C|tls\..*)$`},
			want: map[string][]byte{"C": []byte("3")},
		},
		"nothing matches": {
			find: provider.Find{Path: "none"},
			want: map[string][]byte{},
		},
		"a bad regexp":              {find: provider.Find{Path: "app", Name: "("}, wantErr: `find.name "("`},
		"two fields with one label": {find: provider.Find{Path: "dup"}, wantErr: `has 2 fields labelled "x"`},
	})
}

// Without path, name is a regexp over titles and each item gives its
// title and its value.
func TestFindByTitle(t *testing.T) {
	h := newHarness(t)
	login := func(vault, title, password string, tags ...string) {
		h.emu.PutItem(vault, onepassemu.Item{Title: title, Tags: tags, Fields: []onepassemu.Field{
			{Label: "username", Value: "u-" + title}, {Label: "password", Value: password},
		}})
	}
	login("staging", "db-main", "staging-db", "prod", "eu")
	login("staging", "db-replica", "replica", "prod")
	login("staging", "api", canary, "prod", "web")
	login("staging", "twice", "1", "dup")
	login("staging", "twice", "2", "dup")
	login("staging", "pair", "staging-pair")
	login("shared", "db-main", "shared-db", "prod", "eu")
	login("shared", "db-archive", "archive")
	login("shared", "cache", "cache", "prod")
	login("shared", "pair", "shared-pair-1")
	login("shared", "pair", "shared-pair-2")
	login("shared", "shadow", "shared-shadow")
	h.emu.PutItem("staging", onepassemu.Item{Title: "shadow", Fields: []onepassemu.Field{{Label: "username", Value: "no password"}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "note", Tags: []string{"prod"}, Fields: []onepassemu.Field{{Label: "notesPlain", Value: "no password"}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "cert", Category: "DOCUMENT", Tags: []string{"prod"},
		Fields: []onepassemu.Field{{Label: "password", Value: "not a document's value"}},
		Files:  []onepassemu.File{{Name: "tls.crt", Content: []byte("crt")}, {Name: "tls.key", Content: []byte("key")}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "empty-doc", Category: "DOCUMENT", Tags: []string{"prod"}})
	h.emu.PutItem("shared", onepassemu.Item{Title: "two-passwords", Fields: []onepassemu.Field{{Label: "password", Value: canary}, {Label: "password", Value: canary}}})
	c := h.client(nil).(provider.Finder)

	runFind(t, c, map[string]findCase{
		"a title regexp across vaults, the first by priority winning": {
			find: provider.Find{Name: "^db-"},
			want: map[string][]byte{"db-main": []byte("staging-db"), "db-replica": []byte("replica"), "db-archive": []byte("archive")},
		},
		"a regexp matches anywhere in the title": {
			find: provider.Find{Name: "replica"},
			want: map[string][]byte{"db-replica": []byte("replica")},
		},
		"tags, all of them": {
			find: provider.Find{Tags: map[string]string{"eu": "", "prod": "ignored"}},
			want: map[string][]byte{"db-main": []byte("staging-db")},
		},
		"one tag, items without a value left out": {
			find: provider.Find{Tags: map[string]string{"prod": ""}},
			want: map[string][]byte{
				"db-main": []byte("staging-db"), "db-replica": []byte("replica"), "api": []byte(canary),
				"cert": []byte("crt"), "cache": []byte("cache"),
			},
		},
		"a regexp and tags": {
			find: provider.Find{Name: "^db-", Tags: map[string]string{"prod": ""}},
			want: map[string][]byte{"db-main": []byte("staging-db"), "db-replica": []byte("replica")},
		},
		"a document's first file": {
			find: provider.Find{Name: "^cert$"},
			want: map[string][]byte{"cert": []byte("crt")},
		},
		"an item without a password is left out": {
			find: provider.Find{Name: "^(note|api)$"},
			want: map[string][]byte{"api": []byte(canary)},
		},
		"the first vault's item takes its title, even without a value": {
			find: provider.Find{Name: "^shadow$"},
			want: map[string][]byte{},
		},
		"a duplicate in a lower-priority vault is not read": {
			find: provider.Find{Name: "^pair$"},
			want: map[string][]byte{"pair": []byte("staging-pair")},
		},
		"nothing matches": {
			find: provider.Find{Name: "^none$"},
			want: map[string][]byte{},
		},
		"two items with one title in one vault": {
			find:    provider.Find{Name: "^twice$"},
			wantErr: `vault "staging" has 2 items titled "twice"`,
		},
		"a duplicate title only tags select": {
			find:    provider.Find{Tags: map[string]string{"dup": ""}},
			wantErr: `vault "staging" has 2 items titled "twice"`,
		},
		"two password fields": {
			find:    provider.Find{Name: "^two-passwords$"},
			wantErr: `vault "shared": item "two-passwords" has 2 fields labelled "password"`,
		},
		"neither name nor tags nor path": {
			find:    provider.Find{},
			wantErr: "give find.name (a title regexp), find.tags or find.path",
		},
		"an empty tags map": {
			find:    provider.Find{Tags: map[string]string{}},
			wantErr: "give find.name",
		},
		"an invalid regexp, named": {
			find:    provider.Find{Name: "db-(["},
			wantErr: `find.name "db-([" is not an RE2 expression`,
		},
	})
}

// A find by title lists each vault once and reads only the items it
// selects: not an item a listing rules out, not one a higher-priority
// vault shadows, and no file of an item that is not a document.
func TestFindByTitleReadsOnlySelectedItems(t *testing.T) {
	h := newHarness(t)
	withAttachment := h.emu.PutItem("staging", onepassemu.Item{Title: "app-login", Tags: []string{"prod", "web"},
		Fields: []onepassemu.Field{{Label: "password", Value: "pw"}},
		Files:  []onepassemu.File{{Name: "id_rsa", Content: []byte("not read")}}})
	doc := h.emu.PutItem("staging", onepassemu.Item{Title: "app-cert", Category: "DOCUMENT", Tags: []string{"prod", "web"},
		Files: []onepassemu.File{{Name: "tls.crt", Content: []byte("crt")}, {Name: "tls.key", Content: []byte("key")}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "other", Tags: []string{"prod", "web"}, Fields: []onepassemu.Field{{Label: "password", Value: "o"}}})
	h.emu.PutItem("staging", onepassemu.Item{Title: "app-untagged", Fields: []onepassemu.Field{{Label: "password", Value: "u"}}})
	h.emu.PutItem("shared", onepassemu.Item{Title: "app-login", Tags: []string{"prod", "web"}, Fields: []onepassemu.Field{{Label: "password", Value: "shadowed"}}})
	h.emu.PutItem("shared", onepassemu.Item{Title: "app-web-only", Tags: []string{"web"}, Fields: []onepassemu.Field{{Label: "password", Value: "w"}}})
	cache := h.emu.PutItem("shared", onepassemu.Item{Title: "app-cache", Tags: []string{"prod", "web"}, Fields: []onepassemu.Field{{Label: "password", Value: "c"}}})
	c := h.client(nil).(provider.Finder)

	got, err := c.Find(context.Background(), provider.Find{Name: "^app-", Tags: map[string]string{"web": "", "prod": ""}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"app-login": []byte("pw"), "app-cert": []byte("crt"), "app-cache": []byte("c")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}

	wantCalls := map[string]int{"ListVaults": 2, "ListItems": 2, "GetItem": 3, "ListFiles": 1}
	if diff := cmp.Diff(wantCalls, h.emu.CallCounts()); diff != "" {
		t.Errorf("Connect requests (-want +got):\n%s", diff)
	}
	var read, filters []string
	for _, r := range h.emu.Requests() {
		switch r.Op {
		case "GetItem":
			read = append(read, r.Item)
		case "ListItems":
			filters = append(filters, r.Filter)
		}
	}
	wantRead := []string{withAttachment, doc, cache}
	sort.Strings(read)
	sort.Strings(wantRead)
	if diff := cmp.Diff(wantRead, read); diff != "" {
		t.Errorf("items read (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{`tag eq "prod"`, `tag eq "prod"`}, filters); diff != "" {
		t.Errorf("listing filters (-want +got):\n%s", diff)
	}

	// A duplicate is refused before any item is read.
	h.emu.PutItem("shared", onepassemu.Item{Title: "app-cache", Tags: []string{"prod", "web"}, Fields: []onepassemu.Field{{Label: "password", Value: "c2"}}})
	h.emu.ResetCalls()
	if _, err := c.Find(context.Background(), provider.Find{Name: "^app-cache$"}); err == nil {
		t.Fatal("want an error for two items titled app-cache")
	}
	if diff := cmp.Diff(map[string]int{"ListItems": 2}, h.emu.CallCounts()); diff != "" {
		t.Errorf("Connect requests (-want +got):\n%s", diff)
	}
}

package onepassemu_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/onepassemu"
)

func send(t *testing.T, emu *onepassemu.Server, token, method, path, body string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, emu.URL+path, bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := emu.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, b}
}

// Items are created, replaced and deleted as the Connect API reference
// describes, and the answers to bad writes have its status codes and
// error shape.
func TestWrites(t *testing.T) {
	emu := onepassemu.New()
	defer emu.Close()
	v := emu.AddVault("prod")
	other := emu.AddVault("other")
	emu.AddReadOnlyToken("reader")
	tok := onepassemu.Token

	a := send(t, emu, tok, "POST", "/v1/vaults/"+v+"/items", `{"title":"db","category":"SERVER","vault":{"id":"`+v+`"},"tags":["t"],
		"sections":[{"id":"s1","label":"extra"}],
		"fields":[{"label":"password","type":"CONCEALED","value":"p1"},{"label":"host","value":"h","section":{"id":"s1"}}]}`)
	if a.status != 200 {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	var created struct {
		ID      string
		Version int
		Fields  []struct {
			ID, Label, Type string
			Section         *struct{ ID string }
		}
	}
	if err := json.Unmarshal(a.body, &created); err != nil || len(created.ID) != 26 || created.Version != 1 || len(created.Fields) != 2 {
		t.Fatalf("created item: %s", a.body)
	}
	if f := created.Fields[1]; f.ID == "" || f.Type != "STRING" || f.Section == nil || f.Section.ID != "s1" {
		t.Errorf("a field without ID and type, in a section, reads back as %+v", f)
	}
	want := []onepassemu.Item{{ID: created.ID, Title: "db", Category: "SERVER", Tags: []string{"t"}, Fields: []onepassemu.Field{
		{ID: created.Fields[0].ID, Label: "password", Value: "p1", Type: "CONCEALED"},
		{ID: created.Fields[1].ID, Label: "host", Value: "h", Type: "STRING", Section: "extra"},
	}, Files: []onepassemu.File{}}}
	if diff := cmp.Diff(want, emu.Items("prod")); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}

	path := "/v1/vaults/" + v + "/items/" + created.ID
	a = send(t, emu, tok, "PUT", path, `{"id":"`+created.ID+`","title":"db","category":"SERVER","vault":{"id":"`+v+`"},"fields":[{"id":"f","label":"password","type":"CONCEALED","value":"p2"}]}`)
	var replaced struct {
		Version int
		Tags    []string
	}
	if err := json.Unmarshal(a.body, &replaced); a.status != 200 || err != nil || replaced.Version != 2 || replaced.Tags != nil {
		t.Errorf("replace: %d %s", a.status, a.body)
	}

	item := func(id string) string {
		return `{"id":"` + id + `","title":"x","category":"SERVER","vault":{"id":"` + v + `"}}`
	}
	bad := map[string]struct {
		token, method, path, body string
		status                    int
	}{
		"a category the reference does not list": {tok, "POST", "/v1/vaults/" + v + "/items", `{"title":"x","category":"THING","vault":{"id":"` + v + `"}}`, 400},
		"a field type it does not list":          {tok, "POST", "/v1/vaults/" + v + "/items", `{"title":"x","category":"LOGIN","vault":{"id":"` + v + `"},"fields":[{"type":"SECRET"}]}`, 400},
		"no vault in the item":                   {tok, "POST", "/v1/vaults/" + v + "/items", `{"title":"x","category":"LOGIN"}`, 400},
		"another vault in the item":              {tok, "POST", "/v1/vaults/" + v + "/items", `{"title":"x","category":"LOGIN","vault":{"id":"` + other + `"}}`, 400},
		"a body that is no item":                 {tok, "POST", "/v1/vaults/" + v + "/items", `[`, 400},
		"an unknown vault":                       {tok, "POST", "/v1/vaults/nope/items", item(""), 404},
		"a read-only token creating":             {"reader", "POST", "/v1/vaults/" + v + "/items", item(""), 403},
		"a read-only token replacing":            {"reader", "PUT", path, item(created.ID), 403},
		"a read-only token deleting":             {"reader", "DELETE", path, "", 403},
		"another id than the path's":             {tok, "PUT", path, item("zzz"), 400},
		"replacing an unknown item":              {tok, "PUT", "/v1/vaults/" + v + "/items/zzz", item(""), 404},
		"no token":                               {"", "DELETE", path, "", 401},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			a := send(t, emu, tc.token, tc.method, tc.path, tc.body)
			var e struct {
				Status  int
				Message string
			}
			if a.status != tc.status || json.Unmarshal(a.body, &e) != nil || e.Status != tc.status || e.Message == "" {
				t.Errorf("want %d and Connect's error shape, got %d %s", tc.status, a.status, a.body)
			}
		})
	}
	if got := emu.Items("prod"); len(got) != 1 || got[0].Fields[0].Value != "p2" {
		t.Fatalf("a refused write changed the vault: %+v", got)
	}

	if a := send(t, emu, tok, "DELETE", path, ""); a.status != 204 || len(a.body) != 0 {
		t.Errorf("delete: %d %s", a.status, a.body)
	}
	if a := send(t, emu, tok, "DELETE", path, ""); a.status != 404 {
		t.Errorf("delete again: %d %s", a.status, a.body)
	}
	if len(emu.Items("prod")) != 0 {
		t.Error("the item is still there")
	}
	counts := emu.CallCounts()
	if counts["CreateItem"] != 8 || counts["UpdateItem"] != 4 || counts["DeleteItem"] != 4 {
		t.Errorf("calls: %v", counts)
	}
}

package onepassemu_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/onepassemu"
)

type answer struct {
	status int
	body   []byte
}

func call(t *testing.T, emu *onepassemu.Server, token, path string, q url.Values) answer {
	t.Helper()
	u := emu.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := emu.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, b}
}

func TestAuthAndScope(t *testing.T) {
	emu := onepassemu.New()
	defer emu.Close()
	prod := emu.AddVault("prod")
	dev := emu.AddVault("dev")
	emu.AddToken("dev-only", "dev")

	tests := map[string]struct {
		token, path string
		status      int
		message     string
	}{
		"no token":                   {path: "/v1/vaults", status: 401, message: "Invalid token signature"},
		"an unknown token":           {token: "nope", path: "/v1/vaults", status: 401, message: "Invalid token signature"},
		"a vault out of scope":       {token: "dev-only", path: "/v1/vaults/" + prod + "/items", status: 403},
		"a vault in scope":           {token: "dev-only", path: "/v1/vaults/" + dev + "/items", status: 200},
		"an unknown vault":           {token: onepassemu.Token, path: "/v1/vaults/zzz", status: 404, message: "vault not found"},
		"an unknown item":            {token: onepassemu.Token, path: "/v1/vaults/" + dev + "/items/zzz", status: 404, message: "item not found"},
		"an unknown path":            {token: onepassemu.Token, path: "/v2/things", status: 404},
		"the heartbeat without auth": {path: "/heartbeat", status: 200},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := call(t, emu, tc.token, tc.path, nil)
			if a.status != tc.status {
				t.Fatalf("want %d, got %d: %s", tc.status, a.status, a.body)
			}
			if tc.status >= 400 {
				var e struct {
					Status  int    `json:"status"`
					Message string `json:"message"`
				}
				if err := json.Unmarshal(a.body, &e); err != nil || e.Status != tc.status || (tc.message != "" && e.Message != tc.message) {
					t.Errorf("error body %s", a.body)
				}
			}
		})
	}
	var vaults []struct{ Name string }
	_ = json.Unmarshal(call(t, emu, "dev-only", "/v1/vaults", nil).body, &vaults)
	if len(vaults) != 1 || vaults[0].Name != "dev" {
		t.Errorf("a scoped token lists only its vaults: %+v", vaults)
	}
}

func TestItemsFiltersAndFiles(t *testing.T) {
	emu := onepassemu.New()
	defer emu.Close()
	v := emu.AddVault("prod")
	emu.PutItem("prod", onepassemu.Item{Title: "db", Tags: []string{"a"}, Fields: []onepassemu.Field{{Label: "password", Value: "p", Section: "s"}}})
	doc := emu.PutItem("prod", onepassemu.Item{Title: `say "hi"`, Category: "DOCUMENT", Tags: []string{"a", "b"}, Files: []onepassemu.File{{Name: "f.txt", Content: []byte("hello")}}})

	titles := func(filter string) []string {
		a := call(t, emu, onepassemu.Token, "/v1/vaults/"+v+"/items", url.Values{"filter": {filter}})
		if a.status != 200 {
			return []string{strconv.Itoa(a.status)}
		}
		var items []struct {
			Title  string
			Fields []any
		}
		_ = json.Unmarshal(a.body, &items)
		out := []string{}
		for _, it := range items {
			if it.Fields != nil {
				t.Errorf("a listing shows fields")
			}
			out = append(out, it.Title)
		}
		return out
	}
	got := map[string][]string{
		"all":            titles(""),
		"title":          titles(`title eq "db"`),
		"escaped quotes": titles(`title eq "say \"hi\""`),
		"tag":            titles(`tag eq "b"`),
		"bad":            titles(`title co "d"`),
	}
	want := map[string][]string{
		"all": {"db", `say "hi"`}, "title": {"db"}, "escaped quotes": {`say "hi"`}, "tag": {`say "hi"`}, "bad": {"400"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	var item struct {
		Files []struct {
			ID          string
			Size        int
			ContentPath string `json:"content_path"`
		}
	}
	_ = json.Unmarshal(call(t, emu, onepassemu.Token, "/v1/vaults/"+v+"/items/"+doc, nil).body, &item)
	if len(item.Files) != 1 || item.Files[0].Size != 5 {
		t.Fatalf("files: %+v", item.Files)
	}
	if a := call(t, emu, onepassemu.Token, item.Files[0].ContentPath, nil); string(a.body) != "hello" {
		t.Errorf("content: %d %q", a.status, a.body)
	}
	var inline []struct{ Content []byte }
	_ = json.Unmarshal(call(t, emu, onepassemu.Token, "/v1/vaults/"+v+"/items/"+doc+"/files", url.Values{"inline_files": {"true"}}).body, &inline)
	if len(inline) != 1 || string(inline[0].Content) != "hello" {
		t.Errorf("inline: %+v", inline)
	}

	emu.Fail("GetItem", 503, 1)
	if a := call(t, emu, onepassemu.Token, "/v1/vaults/"+v+"/items/"+doc, nil); a.status != 503 {
		t.Errorf("injected failure: %d", a.status)
	}
	if a := call(t, emu, onepassemu.Token, "/v1/vaults/"+v+"/items/"+doc, nil); a.status != 200 {
		t.Errorf("after the failure: %d", a.status)
	}
	if got := emu.Calls("GetItem"); got != 3 {
		t.Errorf("GetItem calls: %d", got)
	}
	for _, r := range emu.Requests() {
		if r.Op == "GetItem" && (r.Vault != v || r.Item != doc) {
			t.Errorf("GetItem recorded as %+v, want vault %s and item %s", r, v, doc)
		}
	}
}

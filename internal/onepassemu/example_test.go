package onepassemu_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/secretsync/secretsync/internal/onepassemu"
)

// A client finds a vault by name and an item by title, as Connect
// clients do, and the server counts the calls.
func Example() {
	emu := onepassemu.New()
	defer emu.Close()
	emu.AddVault("prod")
	emu.PutItem("prod", onepassemu.Item{Title: "db", Fields: []onepassemu.Field{{Label: "password", Value: "s3cret"}}})

	get := func(path string, q url.Values) []map[string]any {
		req, _ := http.NewRequest(http.MethodGet, emu.URL+path+"?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+onepassemu.Token)
		resp, err := emu.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return nil
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			var e map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&e)
			fmt.Println(e["status"], e["message"])
			return nil
		}
		var list []map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&list)
		return list
	}
	vaults := get("/v1/vaults", url.Values{"filter": {`name eq "prod"`}})
	fmt.Println(len(vaults), "vault named", vaults[0]["name"])
	items := get("/v1/vaults/"+vaults[0]["id"].(string)+"/items", url.Values{"filter": {`title eq "db"`}})
	fmt.Println(len(items), "item titled", items[0]["title"], "listed without fields:", items[0]["fields"] == nil)
	get("/v1/vaults/nope/items", nil)
	fmt.Println(emu.CallCounts())
	// Output:
	// 1 vault named prod
	// 1 item titled db listed without fields: true
	// 404 vault not found
	// map[ListItems:2 ListVaults:1]
}

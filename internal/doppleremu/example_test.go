package doppleremu_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/secretsync/secretsync/internal/doppleremu"
)

// A download answers with an ETag; asking again with it costs a 304.
func Example() {
	emu := doppleremu.New()
	defer emu.Close()
	emu.SetSecret("auth-api", "prd", "API_KEY", "k")
	emu.AddServiceToken("dp.st.prd.example", "auth-api", "prd")

	etag := ""
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, emu.URL+"/v3/configs/config/secrets/download?format=json&name_transformer=camel", nil)
		req.Header.Set("Authorization", "Bearer dp.st.prd.example")
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := emu.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		etag = resp.Header.Get("ETag")
		fmt.Println(strings.TrimSpace(fmt.Sprint(resp.StatusCode, " ", string(body))))
	}
	fmt.Println(emu.Calls("download"), "downloads,", emu.CallsWithStatus("download", http.StatusNotModified), "not modified")
	// Output:
	// 200 {"apiKey":"k"}
	// 304
	// 2 downloads, 1 not modified
}

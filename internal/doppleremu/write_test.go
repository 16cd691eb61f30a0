package doppleremu_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/doppleremu"
)

func write(t *testing.T, emu *doppleremu.Server, tok, method, path string, q url.Values, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, emu.URL+path+"?"+q.Encode(), bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := emu.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Updates and deletes change the config as Doppler's API reference
// describes, and bad writes are answered with its status codes and error
// shape.
func TestWrites(t *testing.T) {
	emu := doppleremu.New()
	defer emu.Close()
	emu.SetSecret("p", "prd", "USER", "admin")
	emu.AddConfig("p", "dev")
	emu.AddServiceToken("st", "p", "prd")
	emu.AddReadOnlyServiceToken("ro", "p", "prd")
	pt := doppleremu.PersonalToken

	status, body := write(t, emu, "st", "POST", "/v3/configs/config/secrets", nil, `{"secrets":{"URL":"${USER}@db","PASSWORD":"p1"}}`)
	var answer struct {
		Secrets map[string]struct{ Raw, Computed string }
		Success bool
	}
	if err := json.Unmarshal(body, &answer); status != 200 || err != nil || !answer.Success || len(answer.Secrets) != 3 || answer.Secrets["URL"].Computed != "admin@db" || answer.Secrets["URL"].Raw != "${USER}@db" {
		t.Fatalf("update: %d %s", status, body)
	}
	status, _ = write(t, emu, pt, "POST", "/v3/configs/config/secrets", nil, `{"project":"p","config":"prd","change_requests":[
		{"name":"PASS","originalName":"PASSWORD","value":"p2"},
		{"name":"URL","originalName":"URL","value":null,"shouldDelete":true}]}`)
	if status != 200 {
		t.Fatalf("change requests: %d", status)
	}
	if diff := cmp.Diff(map[string]string{"USER": "admin", "PASS": "p2"}, emu.Secrets("p", "prd")); diff != "" {
		t.Errorf("after the writes (-want +got):\n%s", diff)
	}

	bad := map[string]struct {
		tok, method, path string
		q                 url.Values
		body              string
		status            int
	}{
		"both secrets and change_requests": {"st", "POST", "/v3/configs/config/secrets", nil, `{"secrets":{"A":"1"},"change_requests":[]}`, 400},
		"neither":                          {"st", "POST", "/v3/configs/config/secrets", nil, `{}`, 400},
		"a name Doppler cannot hold":       {"st", "POST", "/v3/configs/config/secrets", nil, `{"secrets":{"lower":"1"}}`, 400},
		"a name starting with a digit":     {"st", "POST", "/v3/configs/config/secrets", nil, `{"secrets":{"1A":"1"}}`, 400},
		"a value that is no string":        {"st", "POST", "/v3/configs/config/secrets", nil, `{"secrets":{"A":1}}`, 400},
		"a body that is no JSON":           {"st", "POST", "/v3/configs/config/secrets", nil, `{`, 400},
		"a read-only token updating":       {"ro", "POST", "/v3/configs/config/secrets", nil, `{"secrets":{"A":"1"}}`, 403},
		"a read-only token deleting":       {"ro", "DELETE", "/v3/configs/config/secret", url.Values{"name": {"USER"}}, "", 403},
		"a service token, another config":  {"st", "POST", "/v3/configs/config/secrets", nil, `{"project":"p","config":"dev","secrets":{"A":"1"}}`, 403},
		"a missing config":                 {pt, "POST", "/v3/configs/config/secrets", nil, `{"project":"p","config":"stg","secrets":{"A":"1"}}`, 404},
		"deleting a missing secret":        {"st", "DELETE", "/v3/configs/config/secret", url.Values{"name": {"NOPE"}}, "", 404},
		"an unknown token":                 {"nope", "DELETE", "/v3/configs/config/secret", url.Values{"name": {"USER"}}, "", 401},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			status, body := write(t, emu, tc.tok, tc.method, tc.path, tc.q, tc.body)
			var e struct {
				Messages []string
				Success  bool
			}
			if status != tc.status || json.Unmarshal(body, &e) != nil || e.Success || len(e.Messages) != 1 {
				t.Errorf("want %d and Doppler's error shape, got %d %s", tc.status, status, body)
			}
		})
	}
	if diff := cmp.Diff(map[string]string{"USER": "admin", "PASS": "p2"}, emu.Secrets("p", "prd")); diff != "" {
		t.Errorf("a refused write changed the config (-want +got):\n%s", diff)
	}

	if status, body := write(t, emu, "st", "DELETE", "/v3/configs/config/secret", url.Values{"name": {"PASS"}}, ""); status != 204 || len(body) != 0 {
		t.Errorf("delete: %d %s", status, body)
	}
	if diff := cmp.Diff(map[string]string{"USER": "admin"}, emu.Secrets("p", "prd")); diff != "" {
		t.Errorf("after the delete (-want +got):\n%s", diff)
	}
	if emu.Calls("update") != 11 || emu.Calls("delete") != 4 {
		t.Errorf("calls: update %d, delete %d", emu.Calls("update"), emu.Calls("delete"))
	}
}

package doppleremu_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/doppleremu"
)

func get(t *testing.T, emu *doppleremu.Server, auth, path string, q url.Values) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, emu.URL+path+"?"+q.Encode(), nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := emu.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func TestAuthAndScope(t *testing.T) {
	emu := doppleremu.New()
	defer emu.Close()
	emu.SetSecret("p", "prd", "A", "1")
	emu.SetSecret("p", "dev", "A", "2")
	emu.AddServiceToken("st", "p", "prd")
	bearer := func(tok string) string { return "Bearer " + tok }
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("st:"))

	tests := map[string]struct {
		auth    string
		query   url.Values
		status  int
		message string
		value   string
	}{
		"no token":                         {query: url.Values{"name": {"A"}}, status: 401, message: "Invalid Auth token"},
		"an unknown token":                 {auth: bearer("nope"), query: url.Values{"name": {"A"}}, status: 401, message: "Invalid Auth token"},
		"a service token, no config":       {auth: bearer("st"), query: url.Values{"name": {"A"}}, status: 200, value: "1"},
		"basic auth with the token":        {auth: basic, query: url.Values{"name": {"A"}}, status: 200, value: "1"},
		"a service token, another config":  {auth: bearer("st"), query: url.Values{"name": {"A"}, "project": {"p"}, "config": {"dev"}}, status: 403},
		"a personal token needs a project": {auth: bearer(doppleremu.PersonalToken), query: url.Values{"name": {"A"}}, status: 400},
		"a personal token, any config":     {auth: bearer(doppleremu.PersonalToken), query: url.Values{"name": {"A"}, "project": {"p"}, "config": {"dev"}}, status: 200, value: "2"},
		"a missing config":                 {auth: bearer(doppleremu.PersonalToken), query: url.Values{"name": {"A"}, "project": {"p"}, "config": {"stg"}}, status: 404, message: "Could not find requested config 'stg'"},
		"a missing secret":                 {auth: bearer("st"), query: url.Values{"name": {"B"}}, status: 404, message: "Could not find requested secret"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			status, _, body := get(t, emu, tc.auth, "/v3/configs/config/secret", tc.query)
			if status != tc.status {
				t.Fatalf("want %d, got %d: %s", tc.status, status, body)
			}
			if status != 200 {
				var e struct {
					Messages []string
					Success  bool
				}
				if err := json.Unmarshal(body, &e); err != nil || e.Success || len(e.Messages) != 1 || (tc.message != "" && e.Messages[0] != tc.message) {
					t.Errorf("error body %s", body)
				}
				return
			}
			var s struct {
				Name  string
				Value struct{ Raw, Computed string }
			}
			if err := json.Unmarshal(body, &s); err != nil || s.Name != "A" || s.Value.Computed != tc.value {
				t.Errorf("body %s", body)
			}
		})
	}
}

func TestDownloadFormatsAndETags(t *testing.T) {
	emu := doppleremu.New()
	defer emu.Close()
	emu.SetSecret("p", "prd", "DB_USER", "admin")
	emu.SetSecret("p", "prd", "DB_URL", `pg://${DB_USER}@"db"`)
	auth := "Bearer " + doppleremu.PersonalToken
	q := func(kv ...string) url.Values {
		v := url.Values{"project": {"p"}, "config": {"prd"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	got := map[string]string{}
	for name, query := range map[string]url.Values{
		"json":        q(),
		"camel":       q("name_transformer", "camel"),
		"env":         q("format", "env"),
		"yaml":        q("format", "yaml"),
		"docker":      q("format", "docker"),
		"dotnet-json": q("format", "dotnet-json"),
		"only some":   q("secrets", "DB_USER"),
		"bad format":  q("format", "xml"),
	} {
		status, _, body := get(t, emu, auth, "/v3/configs/config/secrets/download", query)
		if status != 200 {
			got[name] = http.StatusText(status)
			continue
		}
		got[name] = string(body)
	}
	want := map[string]string{
		"json":        `{"DB_URL":"pg://admin@\"db\"","DB_USER":"admin"}`,
		"camel":       `{"dbUrl":"pg://admin@\"db\"","dbUser":"admin"}`,
		"env":         "DB_URL=\"pg://admin@\\\"db\\\"\"\nDB_USER=\"admin\"\n",
		"yaml":        "DB_URL: \"pg://admin@\\\"db\\\"\"\nDB_USER: \"admin\"\n",
		"docker":      "DB_URL=pg://admin@\"db\"\nDB_USER=admin\n",
		"dotnet-json": `{"DbUrl":"pg://admin@\"db\"","DbUser":"admin"}`,
		"only some":   `{"DB_USER":"admin"}`,
		"bad format":  "Bad Request",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	conditional := func(etag string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, emu.URL+"/v3/configs/config/secrets/download?"+q().Encode(), nil)
		req.Header.Set("Authorization", auth)
		req.Header.Set("If-None-Match", etag)
		resp, err := emu.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("ETag")
	}
	_, h, _ := get(t, emu, auth, "/v3/configs/config/secrets/download", q())
	etag := h.Get("ETag")
	if status, _ := conditional(etag); status != 304 {
		t.Errorf("unchanged: want 304, got %d", status)
	}
	if status, _ := conditional("W/" + etag); status != 304 {
		t.Errorf("weak comparison: want 304, got %d", status)
	}
	emu.SetSecret("p", "prd", "DB_USER", "root")
	if status, newTag := conditional(etag); status != 200 || newTag == etag {
		t.Errorf("changed: want 200 and a new ETag, got %d %s", status, newTag)
	}
	if n, nm := emu.Calls("download"), emu.CallsWithStatus("download", 304); n != 12 || nm != 2 {
		t.Errorf("counts: %d downloads, %d not modified", n, nm)
	}
}

func TestThrottle(t *testing.T) {
	emu := doppleremu.New()
	defer emu.Close()
	emu.Throttle(2, "7")
	for i, want := range []int{429, 429, 200} {
		status, h, _ := get(t, emu, "Bearer "+doppleremu.PersonalToken, "/v3/me", nil)
		if status != want || (status == 429 && h.Get("Retry-After") != "7") {
			t.Errorf("request %d: %d, Retry-After %q", i, status, h.Get("Retry-After"))
		}
	}
	if n := emu.CallsWithStatus("me", 429); n != 2 {
		t.Errorf("throttled: %d", n)
	}
}

func TestTransform(t *testing.T) {
	got := map[string]string{}
	for _, tr := range []string{"upper-camel", "camel", "lower-snake", "tf-var", "dotnet-env", "lower-kebab", "dotnet"} {
		got[tr], _ = doppleremu.Transform(tr, "SMTP__USER_NAME")
	}
	want := map[string]string{
		"upper-camel": "SmtpUserName", "camel": "smtpUserName", "lower-snake": "smtp__user_name", "tf-var": "TF_VAR_smtp__user_name",
		"dotnet-env": "Smtp__UserName", "lower-kebab": "smtp--user-name", "dotnet": "Smtp:UserName",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok := doppleremu.Transform("shout", "A"); ok {
		t.Error("an unknown transformer")
	}
}

func TestHold(t *testing.T) {
	emu := doppleremu.New()
	defer emu.Close()
	release := emu.Hold()
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, emu.URL+"/v3/me", nil)
		req.Header.Set("Authorization", "Bearer "+doppleremu.PersonalToken)
		resp, err := emu.Client().Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	for emu.Held() != 1 {
		time.Sleep(5 * time.Millisecond)
	}
	if n := emu.Calls("me"); n != 0 {
		t.Errorf("a held request is counted: %d", n)
	}
	release()
	release()
	if status := <-done; status != 200 {
		t.Errorf("released: %d", status)
	}
	if held, n := emu.Held(), emu.Calls("me"); held != 0 || n != 1 {
		t.Errorf("after release: %d held, %d counted", held, n)
	}
	// Requests after the release are not held.
	if status, _, _ := get(t, emu, "Bearer "+doppleremu.PersonalToken, "/v3/me", nil); status != 200 {
		t.Errorf("after release: %d", status)
	}
}

// An OIDC identity exchanges a token its key signed, with its audience
// and subject, for a token bound to its config, until that expires.
func TestOIDCLogin(t *testing.T) {
	emu := doppleremu.New()
	defer emu.Close()
	emu.SetSecret("p", "prd", "A", "1")
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged, _ := rsa.GenerateKey(rand.Reader, 2048)
	emu.AddOIDCIdentity(doppleremu.OIDCIdentity{ID: "id", Project: "p", Config: "prd", Key: &key.PublicKey, Audience: emu.URL, Subject: "system:serviceaccount:ns:sa", TTL: time.Hour})
	jwt := func(k *rsa.PrivateKey, claims map[string]any) string {
		enc := func(v any) string {
			b, _ := json.Marshal(v)
			return base64.RawURLEncoding.EncodeToString(b)
		}
		signed := enc(map[string]string{"alg": "RS256"}) + "." + enc(claims)
		d := sha256.Sum256([]byte(signed))
		sig, _ := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
		return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	good := map[string]any{"sub": "system:serviceaccount:ns:sa", "aud": []string{emu.URL}, "exp": time.Now().Add(time.Hour).Unix()}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range good {
			c[kk] = vv
		}
		c[k] = v
		return c
	}
	tests := map[string]struct {
		identity, token string
		want            int
	}{
		"a good token":        {identity: "id", token: jwt(key, good), want: http.StatusOK},
		"an unknown identity": {identity: "other", token: jwt(key, good), want: http.StatusUnauthorized},
		"a forged token":      {identity: "id", token: jwt(forged, good), want: http.StatusUnauthorized},
		"another audience":    {identity: "id", token: jwt(key, with("aud", []string{"vault"})), want: http.StatusUnauthorized},
		"another subject":     {identity: "id", token: jwt(key, with("sub", "system:serviceaccount:ns:other")), want: http.StatusUnauthorized},
		"an expired token":    {identity: "id", token: jwt(key, with("exp", time.Now().Add(-time.Minute).Unix())), want: http.StatusUnauthorized},
		"no token":            {identity: "id", want: http.StatusBadRequest},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"identity": tc.identity, "token": tc.token})
			resp, err := emu.Client().Post(emu.URL+"/v3/auth/oidc", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct {
				Success   bool   `json:"success"`
				Token     string `json:"token"`
				ExpiresAt string `json:"expires_at"`
			}
			json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want != http.StatusOK {
				return
			}
			if _, err := time.Parse(time.RFC3339, out.ExpiresAt); err != nil || !out.Success {
				t.Fatalf("answer %+v", out)
			}
			if code, _, b := get(t, emu, "Bearer "+out.Token, "/v3/configs/config/secret", url.Values{"name": {"A"}}); code != http.StatusOK {
				t.Errorf("reading with the issued token: status %d, %s", code, b)
			}
		})
	}
}

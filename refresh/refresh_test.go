package refresh_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/refresh"
)

type call struct {
	store engine.StoreKey
	key   string
}

func TestHandler(t *testing.T) {
	var got []call
	h, err := refresh.NewHandler(refresh.Config{
		Changed: func(s engine.StoreKey, k string) int { got = append(got, call{s, k}); return 1 },
		Token:   []byte("tok"), HMACKey: []byte("key"), Rate: 1000, Burst: 1000, MaxBody: 4096, MaxKeys: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	cluster := engine.StoreKey{Kind: "ClusterSecretStore", Name: "vault"}
	sign := func(body string) string {
		m := hmac.New(sha256.New, []byte("key"))
		m.Write([]byte(body))
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	tests := map[string]struct {
		method, query, body, auth, sig string
		wantCode                       int
		wantBody                       string
		want                           []call
	}{
		"native": {body: `{"store":{"kind":"SecretStore","namespace":"team-a","name":"aws"},"keys":["app/db"]}`, auth: "Bearer tok",
			wantCode: 202, wantBody: `{"refreshed":1}`, want: []call{{engine.StoreKey{Kind: "SecretStore", Namespace: "team-a", Name: "aws"}, "app/db"}}},
		"signed instead of a token": {body: `{"store":{"kind":"ClusterSecretStore","name":"vault"},"keys":["k"]}`, sig: sign(`{"store":{"kind":"ClusterSecretStore","name":"vault"},"keys":["k"]}`),
			wantCode: 202, want: []call{{cluster, "k"}}},
		"vault event": {query: "store=ClusterSecretStore/vault", body: `{"data":{"event":{"metadata":{"path":"secret/data/app/db"}}}}`, auth: "Bearer tok",
			wantCode: 202, want: []call{{cluster, "secret/data/app/db"}, {cluster, "secret/app/db"}, {cluster, "app/db"}}},
		"eventbridge": {query: "store=ClusterSecretStore/vault", body: `{"detail":{"requestParameters":{"secretId":"arn:aws:secretsmanager:us-east-1:1:secret:app/db-AbCdEf"}}}`, auth: "Bearer tok",
			wantCode: 202, want: []call{{cluster, "arn:aws:secretsmanager:us-east-1:1:secret:app/db-AbCdEf"}, {cluster, "app/db-AbCdEf"}, {cluster, "app/db"}}},
		"event grid": {query: "store=ClusterSecretStore/vault", body: `[{"eventType":"Microsoft.KeyVault.SecretNewVersionCreated","data":{"ObjectName":"db"}}]`, auth: "Bearer tok",
			wantCode: 202, want: []call{{cluster, "db"}}},
		"event grid handshake": {query: "store=ClusterSecretStore/vault", body: `[{"eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","data":{"validationCode":"abc"}}]`, auth: "Bearer tok",
			wantCode: 200, wantBody: `{"validationResponse":"abc"}`},
		"pubsub": {query: "store=ClusterSecretStore/vault", body: `{"message":{"attributes":{"secretId":"projects/p/secrets/db","eventType":"SECRET_VERSION_ADD"}}}`, auth: "Bearer tok",
			wantCode: 202, want: []call{{cluster, "projects/p/secrets/db"}, {cluster, "db"}}},
		"no auth":        {body: `{"keys":["k"]}`, wantCode: 401},
		"wrong token":    {body: `{"keys":["k"]}`, auth: "Bearer nope", wantCode: 401},
		"bad signature":  {body: `{"keys":["k"]}`, sig: sign("other"), wantCode: 401},
		"GET":            {method: "GET", auth: "Bearer tok", wantCode: 405},
		"too large":      {body: `{"keys":["` + strings.Repeat("k", 5000) + `"]}`, auth: "Bearer tok", wantCode: 413},
		"not JSON":       {body: `keys=k`, auth: "Bearer tok", wantCode: 400},
		"no store":       {body: `{"keys":["k"]}`, auth: "Bearer tok", wantCode: 400},
		"bad store":      {query: "store=Secret/x", body: `{"keys":["k"]}`, auth: "Bearer tok", wantCode: 400},
		"too many keys":  {body: `{"store":{"kind":"ClusterSecretStore","name":"vault"},"keys":["a","b","c","d"]}`, auth: "Bearer tok", wantCode: 400},
		"unknown format": {query: "store=ClusterSecretStore/vault", body: `{"hello":"world"}`, auth: "Bearer tok", wantCode: 400},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got = nil
			method := tc.method
			if method == "" {
				method = "POST"
			}
			req := httptest.NewRequest(method, "/refresh?"+tc.query, strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.sig != "" {
				req.Header.Set("X-Secretsync-Signature", tc.sig)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.wantCode {
				t.Fatalf("code %d (%s), want %d", rec.Code, rec.Body.String(), tc.wantCode)
			}
			if tc.wantBody != "" && strings.TrimSpace(rec.Body.String()) != tc.wantBody {
				t.Errorf("body %s, want %s", rec.Body.String(), tc.wantBody)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(call{})); diff != "" {
				t.Errorf("keys refreshed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHandlerRateLimitAndConfig(t *testing.T) {
	if _, err := refresh.NewHandler(refresh.Config{Changed: func(engine.StoreKey, string) int { return 0 }}); err == nil {
		t.Error("an endpoint without a token or an HMAC key was built")
	}
	h, err := refresh.NewHandler(refresh.Config{Changed: func(engine.StoreKey, string) int { return 0 }, Token: []byte("t"), Rate: 1, Burst: 2})
	if err != nil {
		t.Fatal(err)
	}
	codes := map[int]int{}
	for i := 0; i < 5; i++ {
		req := httptest.NewRequest("POST", "/", strings.NewReader(`{"store":{"kind":"ClusterSecretStore","name":"s"},"keys":["k"]}`))
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		codes[rec.Code]++
	}
	if codes[http.StatusAccepted] != 2 || codes[http.StatusTooManyRequests] != 3 {
		t.Errorf("codes %v, want 2 served and 3 refused by the burst of 2", codes)
	}
}

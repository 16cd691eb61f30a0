package webhook

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

const (
	ns = "team-a"
	// tokenCanary has characters a URL query must escape.
	tokenCanary  = "CANARY-wh-token&x=1 y/z"
	otherCanary  = "CANARY-other-value"
	bodyCanary   = "CANARY-response-body"
	outputCanary = "CANARY-generated"
)

func ptr[T any](v T) *T { return &v }

// noCanary fails when err quotes a planted value.
func noCanary(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), "CANARY-") {
		t.Errorf("error quotes a secret value: %v", err)
	}
}

func testCreds() *fake.Credentials {
	c := &fake.Credentials{}
	c.SetSecret(ns, "api", "token", tokenCanary)
	c.SetSecret(ns, "other", "value", otherCanary)
	c.SetSecret("team-b", "api", "token", "CANARY-team-b")
	for _, name := range []string{ns + "/api", ns + "/other", "team-b/api"} {
		n, s, _ := strings.Cut(name, "/")
		c.SetSecretLabels(n, s, map[string]string{LabelType: LabelTypeWebhook})
	}
	return c
}

// received is what a test server saw.
type received struct {
	Method, Path, Query, Body string
	Header                    http.Header
}

// recorder is a test server that records each request and answers with
// the status and body it is set to.
type recorder struct {
	mu     sync.Mutex
	reqs   []received
	status int
	body   string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, received{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(b), Header: r.Header.Clone()})
	status, body := rec.status, rec.body
	rec.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (rec *recorder) requests() []received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]received(nil), rec.reqs...)
}

func generateWebhook(t *testing.T, spec generators.WebhookSpec, opts ...Option) (map[string][]byte, error) {
	t.Helper()
	obj := &generators.Webhook{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gen"}, Spec: spec}
	before := obj.DeepCopy()
	res, err := New(opts...).Generate(context.Background(), obj, testCreds(), ns)
	noCanary(t, err)
	if diff := cmp.Diff(before, obj); diff != "" {
		t.Errorf("Generate changed the resource (-before +after):\n%s", diff)
	}
	if err == nil && (res.TTL != 0 || res.State != nil) {
		t.Errorf("TTL %v, State %v; want neither", res.TTL, res.State)
	}
	return res.Values, err
}

func TestWebhookSendsTemplatedRequest(t *testing.T) {
	rec := &recorder{body: `{"user":"svc","password":"` + outputCanary + `","n":1.50,"big":12345678901234567890,"ok":true,"none":null,` +
		`"obj":{"b":[1,"<&>"],"a":{}},"list":[]}`}
	srv := httptest.NewServer(rec)
	defer srv.Close()

	got, err := generateWebhook(t, generators.WebhookSpec{
		Method: http.MethodPost,
		URL:    srv.URL + "/generate/{{ .other.value }}?key={{ .auth.token }}",
		Headers: map[string]string{
			"Authorization": "Bearer {{ .auth.token }}",
			"X-Other":       "{{ .other.value | upper }}",
			"X-Plain":       "plain",
		},
		Body: `{"token":"{{ .auth.token }}","other":"{{ .other.value }}"}`,
		Secrets: []generators.WebhookSecret{
			{Name: "auth", SecretRef: secretstore.SecretKeySelector{Name: "api", Key: "token"}},
			{Name: "other", SecretRef: secretstore.SecretKeySelector{Name: "other", Key: "value", Namespace: ptr(ns)}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{
		"user":     []byte("svc"),
		"password": []byte(outputCanary),
		"n":        []byte("1.50"),
		"big":      []byte("12345678901234567890"),
		"ok":       []byte("true"),
		"none":     {},
		"obj":      []byte(`{"a":{},"b":[1,"<&>"]}`),
		"list":     []byte(`[]`),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}

	reqs := rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests; want 1", len(reqs))
	}
	r := reqs[0]
	q, _ := url.ParseQuery(r.Query)
	for what, pair := range map[string][2]string{
		"method":                {http.MethodPost, r.Method},
		"path":                  {"/generate/" + otherCanary, r.Path},
		"query key, unescaped":  {tokenCanary, q.Get("key")},
		"query has only key":    {"1", fmt.Sprint(len(q))},
		"Authorization header":  {"Bearer " + tokenCanary, r.Header.Get("Authorization")},
		"X-Other header":        {strings.ToUpper(otherCanary), r.Header.Get("X-Other")},
		"X-Plain header":        {"plain", r.Header.Get("X-Plain")},
		"body, values unquoted": {`{"token":"` + tokenCanary + `","other":"` + otherCanary + `"}`, r.Body},
	} {
		if diff := cmp.Diff(pair[0], pair[1]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", what, diff)
		}
	}
}

func TestWebhookDefaultsToGETWithoutBody(t *testing.T) {
	rec := &recorder{body: `{"a":"b"}`}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	if _, err := generateWebhook(t, generators.WebhookSpec{URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	r := rec.requests()[0]
	if r.Method != http.MethodGet || r.Body != "" {
		t.Errorf("method %s, body %q; want GET and none", r.Method, r.Body)
	}
}

func TestWebhookJSONPath(t *testing.T) {
	const doc = `{
		"data": {"user": "u", "password": "` + outputCanary + `"},
		"we.ird name": {"k": "v"},
		"items": [{"first": "1"}, {"second": "2"}],
		"wrapped": "{\"inner\": \"` + outputCanary + `\"}",
		"text": "` + bodyCanary + `",
		"num": 7
	}`
	tests := map[string]struct {
		path    string
		want    map[string][]byte
		wantErr string
	}{
		"no path: the whole response": {
			path: "",
			want: nil, // checked below by key count
		},
		"the root": {
			path: "$",
		},
		"dot name": {
			path: "$.data",
			want: map[string][]byte{"user": []byte("u"), "password": []byte(outputCanary)},
		},
		"bracket name": {
			path: `$["data"]`,
			want: map[string][]byte{"user": []byte("u"), "password": []byte(outputCanary)},
		},
		"quoted name with a dot and a space": {
			path: `$['we.ird name']`,
			want: map[string][]byte{"k": []byte("v")},
		},
		"index": {
			path: "$.items[1]",
			want: map[string][]byte{"second": []byte("2")},
		},
		"negative index": {
			path: "$.items[-2]",
			want: map[string][]byte{"first": []byte("1")},
		},
		"a string holding JSON is parsed": {
			path: "$.wrapped",
			want: map[string][]byte{"inner": []byte(outputCanary)},
		},
		"missing key": {
			path:    "$.data.missing",
			wantErr: `result.jsonPath "$.data.missing": $["data"] has no key "missing"`,
		},
		"index out of range": {
			path:    "$.items[2]",
			wantErr: `index 2 is out of range at $["items"], an array of 2`,
		},
		"key of an array": {
			path:    "$.items.first",
			wantErr: `$["items"] is a JSON array, not an object`,
		},
		"index of an object": {
			path:    "$.data[0]",
			wantErr: `$["data"] is a JSON object, not an array`,
		},
		"a string that is not JSON": {
			path:    "$.text",
			wantErr: `the value at result.jsonPath "$.text" is a string that does not hold JSON`,
		},
		"a number": {
			path:    "$.num",
			wantErr: `the value at result.jsonPath "$.num" is a JSON number, not an object`,
		},
		"an array": {
			path:    "$.items",
			wantErr: "is a JSON array, not an object",
		},
		"no $": {
			path:    "data",
			wantErr: "it must start with $",
		},
		"wildcard": {
			path:    "$.items[*]",
			wantErr: "a wildcard ([*]) selects a list",
		},
		"dot wildcard": {
			path:    "$.data.*",
			wantErr: "a wildcard (*) selects a list",
		},
		"filter": {
			path:    "$.items[?(@.first)]",
			wantErr: "a filter ([?...]) selects a list",
		},
		"slice": {
			path:    "$.items[0:1]",
			wantErr: "a slice ([a:b]) selects a list",
		},
		"union": {
			path:    "$.items[0,1]",
			wantErr: "a union ([a,b]) selects a list",
		},
		"recursive descent": {
			path:    "$..first",
			wantErr: "recursive descent (..) selects a list",
		},
		"unclosed bracket": {
			path:    "$.items[0",
			wantErr: "the [ at offset 7 is not closed",
		},
		"unclosed quote": {
			path:    "$['data",
			wantErr: "is not closed by ']",
		},
		"not an index": {
			path:    "$[data]",
			wantErr: "[data] at offset 1 is not an index nor a quoted name",
		},
		"trailing dot": {
			path:    "$.data.",
			wantErr: "a name is missing after the dot",
		},
	}
	rec := &recorder{body: doc}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := generateWebhook(t, generators.WebhookSpec{URL: srv.URL, Result: generators.WebhookResult{JSONPath: tc.path}})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if len(got) != 6 || string(got["num"]) != "7" || string(got["text"]) != bodyCanary {
					t.Errorf("the whole response gave keys %d: %q, %q", len(got), got["num"], got["text"])
				}
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWebhookErrors(t *testing.T) {
	secretsAuth := []generators.WebhookSecret{{Name: "auth", SecretRef: secretstore.SecretKeySelector{Name: "api", Key: "token"}}}
	tests := map[string]struct {
		status  int
		body    string
		spec    func(url string) generators.WebhookSpec
		wantErr string
		is      error
		noCall  bool
	}{
		"a non-2xx status names it and the host, never the body nor the query": {
			status: http.StatusInternalServerError,
			body:   `{"error":"` + bodyCanary + `"}`,
			spec: func(u string) generators.WebhookSpec {
				return generators.WebhookSpec{Method: "PUT", URL: u + "/x?t={{ .auth.token }}", Secrets: secretsAuth}
			},
			wantErr: "Webhook team-a/gen: PUT to host 127.0.0.1:",
		},
		"not found is an error too": {
			status:  http.StatusNotFound,
			body:    bodyCanary,
			spec:    func(u string) generators.WebhookSpec { return generators.WebhookSpec{URL: u} },
			wantErr: "status 404 Not Found",
		},
		"a response that is not JSON": {
			body:    bodyCanary + `{`,
			spec:    func(u string) generators.WebhookSpec { return generators.WebhookSpec{URL: u} },
			wantErr: "the response is not JSON",
		},
		"JSON followed by more": {
			body:    `{"a":"b"} {"c":"` + bodyCanary + `"}`,
			spec:    func(u string) generators.WebhookSpec { return generators.WebhookSpec{URL: u} },
			wantErr: "the response is not JSON",
		},
		"a response that is an array": {
			body:    `["` + bodyCanary + `"]`,
			spec:    func(u string) generators.WebhookSpec { return generators.WebhookSpec{URL: u} },
			wantErr: "the response is a JSON array, not an object",
		},
		"a response one byte over the limit": {
			body:    `{"k":"` + strings.Repeat("a", MaxResponseSize-7) + `"}`,
			spec:    func(u string) generators.WebhookSpec { return generators.WebhookSpec{URL: u} },
			wantErr: "the response is larger than 1048576 bytes",
		},
		"a missing Secret key": {
			spec: func(u string) generators.WebhookSpec {
				return generators.WebhookSpec{URL: u, Secrets: []generators.WebhookSecret{
					{Name: "auth", SecretRef: secretstore.SecretKeySelector{Name: "api", Key: "nope"}}}}
			},
			wantErr: `spec.secrets[0] (auth).secretRef: read key "nope" of Secret team-a/api`,
			is:      provider.ErrNotFound,
			noCall:  true,
		},
		"a Secret in another namespace": {
			spec: func(u string) generators.WebhookSpec {
				return generators.WebhookSpec{URL: u, Secrets: []generators.WebhookSecret{
					{Name: "auth", SecretRef: secretstore.SecretKeySelector{Name: "api", Key: "token", Namespace: ptr("team-b")}}}}
			},
			wantErr: `may only name namespace "team-a", not "team-b"`,
			noCall:  true,
		},
		"a secret without a key": {
			spec: func(u string) generators.WebhookSpec {
				return generators.WebhookSpec{URL: u, Secrets: []generators.WebhookSecret{
					{Name: "auth", SecretRef: secretstore.SecretKeySelector{Name: "api"}}}}
			},
			wantErr: "spec.secrets[0] (auth): secretRef needs name and key",
			noCall:  true,
		},
		"a secret without a name": {
			spec: func(u string) generators.WebhookSpec {
				return generators.WebhookSpec{URL: u, Secrets: []generators.WebhookSecret{
					{SecretRef: secretstore.SecretKeySelector{Name: "api", Key: "token"}}}}
			},
			wantErr: "spec.secrets[0]: name is required",
			noCall:  true,
		},
		"a template naming a secret not listed": {
			spec: func(u string) generators.WebhookSpec {
				return generators.WebhookSpec{URL: u, Headers: map[string]string{"X-A": "{{ .auth.token }}{{ .missing.key }}"}, Secrets: secretsAuth}
			},
			wantErr: `spec.headers[X-A]`,
			noCall:  true,
		},
		"a template that does not parse": {
			spec: func(u string) generators.WebhookSpec {
				return generators.WebhookSpec{URL: u, Body: "{{ .auth.token ", Secrets: secretsAuth}
			},
			wantErr: `spec.body`,
			noCall:  true,
		},
		"a URL template that renders no URL": {
			spec: func(u string) generators.WebhookSpec {
				return generators.WebhookSpec{URL: "{{ .auth.token }}", Secrets: secretsAuth}
			},
			wantErr: "spec.url does not render to an http or https URL with a host",
			noCall:  true,
		},
		"no URL": {
			spec:    func(u string) generators.WebhookSpec { return generators.WebhookSpec{} },
			wantErr: "spec.url is required",
			noCall:  true,
		},
		"an invalid method": {
			spec:    func(u string) generators.WebhookSpec { return generators.WebhookSpec{URL: u, Method: "NO PE"} },
			wantErr: `spec.method: net/http: invalid method "NO PE"`,
			noCall:  true,
		},
		"a negative timeout": {
			spec: func(u string) generators.WebhookSpec {
				return generators.WebhookSpec{URL: u, Timeout: &metav1.Duration{Duration: -time.Second}}
			},
			wantErr: "spec.timeout -1s is negative",
			noCall:  true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{status: tc.status, body: tc.body}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			got, err := generateWebhook(t, tc.spec(srv.URL))
			if err == nil {
				t.Fatalf("made %d values; want an error", len(got))
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			if strings.Contains(err.Error(), "wh-token") || strings.Contains(err.Error(), "?t=") {
				t.Errorf("error quotes the URL's query: %v", err)
			}
			if n := len(rec.requests()); tc.noCall && n != 0 {
				t.Errorf("%d requests; want none", n)
			}
		})
	}
}

func TestWebhookResponseAtTheLimit(t *testing.T) {
	body := `{"k":"` + strings.Repeat("a", MaxResponseSize-8) + `"}`
	if len(body) != MaxResponseSize {
		t.Fatalf("test body is %d bytes", len(body))
	}
	srv := httptest.NewServer(&recorder{body: body})
	defer srv.Close()
	got, err := generateWebhook(t, generators.WebhookSpec{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if len(got["k"]) != MaxResponseSize-8 {
		t.Errorf("value of %d bytes", len(got["k"]))
	}
}

func TestWebhookTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	start := time.Now()
	_, err := generateWebhook(t, generators.WebhookSpec{URL: srv.URL, Timeout: &metav1.Duration{Duration: 100 * time.Millisecond}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v; want one wrapping context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s for a timeout of 100ms", d)
	}
}

func TestWebhookRedirects(t *testing.T) {
	other := &recorder{body: `{"from":"other"}`}
	otherSrv := httptest.NewServer(other)
	defer otherSrv.Close()

	var srvURL string
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/end", http.StatusFound) })
	mux.HandleFunc("/end", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Key") != tokenCanary {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"from":"same"}`)
	})
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherSrv.URL+"/steal", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, srvURL+"/loop", http.StatusFound) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL

	header := map[string]string{"X-Key": "{{ .auth.token }}"}
	secrets := []generators.WebhookSecret{{Name: "auth", SecretRef: secretstore.SecretKeySelector{Name: "api", Key: "token"}}}
	tests := map[string]struct {
		path    string
		want    map[string][]byte
		wantErr string
	}{
		"to the same host, with the headers": {path: "/start", want: map[string][]byte{"from": []byte("same")}},
		"to another host is refused":         {path: "/away", wantErr: "refused a redirect from host " + strings.TrimPrefix(srv.URL, "http://") + " to host " + strings.TrimPrefix(otherSrv.URL, "http://")},
		"too many":                           {path: "/loop", wantErr: "stopped after 5 redirects"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := generateWebhook(t, generators.WebhookSpec{URL: srv.URL + tc.path, Headers: header, Secrets: secrets})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
	if n := len(other.requests()); n != 0 {
		t.Errorf("the other host got %d requests; want none", n)
	}
}

func TestCheckRedirectRefusesDowngrade(t *testing.T) {
	first, _ := http.NewRequest(http.MethodGet, "https://example.com/a", nil)
	next, _ := http.NewRequest(http.MethodGet, "http://example.com/b", nil)
	err := checkRedirect(next, []*http.Request{first})
	if err == nil || err.Error() != "refused a redirect from https to http" {
		t.Errorf("error %v; want the downgrade refused", err)
	}
}

func certPEM(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// otherCA returns a self-signed CA certificate that signed nothing:
// httptest's TLS servers all share one certificate.
func otherCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "other CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestWebhookTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(&recorder{body: `{"k":"v"}`})
	// Handshakes that fail on purpose would log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()

	creds := testCreds()
	creds.SetSecret(ns, "ca", "ca.crt", string(certPEM(srv)))
	creds.SetSecretLabels(ns, "ca", map[string]string{LabelType: LabelTypeWebhook})
	creds.SetConfigMap(ns, "ca", "ca.crt", string(certPEM(srv)))
	creds.SetConfigMap(ns, "junk", "ca.crt", "CANARY-not-a-cert")
	creds.SetConfigMap("team-b", "ca", "ca.crt", string(certPEM(srv)))

	tests := map[string]struct {
		caBundle   []byte
		caProvider *secretstore.CAProvider
		opts       []Option
		wantErr    string
	}{
		"caBundle": {caBundle: certPEM(srv)},
		"caBundle with the HTTP client option": {
			caBundle: certPEM(srv),
			opts:     []Option{WithHTTPClient(&http.Client{Transport: &http.Transport{}})},
		},
		"caProvider Secret": {
			caProvider: &secretstore.CAProvider{Type: secretstore.CAProviderTypeSecret, Name: "ca", Key: "ca.crt"},
		},
		"caProvider ConfigMap": {
			caProvider: &secretstore.CAProvider{Type: secretstore.CAProviderTypeConfigMap, Name: "ca", Key: "ca.crt"},
		},
		"the HTTP client option's roots without a CA in the spec": {
			opts: []Option{WithHTTPClient(srv.Client())},
		},
		"no CA: the system roots do not know the server": {
			wantErr: "certificate",
		},
		"another CA": {
			caBundle: otherCA(t),
			wantErr:  "certificate",
		},
		"a caBundle that is not PEM": {
			caBundle: []byte("CANARY-junk"),
			wantErr:  "spec.caBundle holds no PEM certificate",
		},
		"a caProvider key that is not PEM": {
			caProvider: &secretstore.CAProvider{Type: secretstore.CAProviderTypeConfigMap, Name: "junk", Key: "ca.crt"},
			wantErr:    `spec.caProvider: key "ca.crt" of ConfigMap team-a/junk holds no PEM certificate`,
		},
		"a caProvider in another namespace": {
			caProvider: &secretstore.CAProvider{Type: secretstore.CAProviderTypeConfigMap, Name: "ca", Key: "ca.crt", Namespace: ptr("team-b")},
			wantErr:    `may only name namespace "team-a", not "team-b"`,
		},
		"a caProvider without a key": {
			caProvider: &secretstore.CAProvider{Type: secretstore.CAProviderTypeSecret, Name: "ca"},
			wantErr:    "spec.caProvider: name and key are required",
		},
		"a caProvider of an unknown type": {
			caProvider: &secretstore.CAProvider{Type: "Vault", Name: "ca", Key: "ca.crt"},
			wantErr:    `spec.caProvider: type "Vault" is not Secret or ConfigMap`,
		},
		"a CA with a client whose transport is not an *http.Transport": {
			caBundle: certPEM(srv),
			opts:     []Option{WithHTTPClient(&http.Client{Transport: roundTripper(http.DefaultTransport.RoundTrip)})},
			wantErr:  "a CA bundle needs an *http.Transport",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := &generators.Webhook{Spec: generators.WebhookSpec{URL: srv.URL, CABundle: tc.caBundle, CAProvider: tc.caProvider}}
			res, err := New(tc.opts...).Generate(context.Background(), obj, creds, ns)
			noCanary(t, err)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string][]byte{"k": []byte("v")}, res.Values); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestWebhookTakesOnlyWebhooks(t *testing.T) {
	tests := map[string]struct {
		obj  runtime.Object
		want string
	}{
		"another kind": {obj: &generators.Password{}, want: "the Webhook generator takes a *generators.Webhook, not *generators.Password"},
		"nil":          {obj: (*generators.Webhook)(nil), want: "the Webhook generator takes a *generators.Webhook, not *generators.Webhook"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New().Generate(context.Background(), tc.obj, nil, ns)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v; want %q", err, tc.want)
			}
		})
	}
}

// As in ESO, a Webhook generator reads only Secrets labelled for it.
func TestWebhookReadsOnlyLabelledSecrets(t *testing.T) {
	creds := &fake.Credentials{}
	creds.SetSecret(ns, "api", "token", tokenCanary)
	_, err := New().Generate(context.Background(), &generators.Webhook{Spec: generators.WebhookSpec{
		URL:     "http://127.0.0.1:1/never",
		Secrets: []generators.WebhookSecret{{Name: "auth", SecretRef: secretstore.SecretKeySelector{Name: "api", Key: "token"}}},
	}}, creds, ns)
	if err == nil || !strings.Contains(err.Error(), "is not labelled external-secrets.io/type=webhook") || strings.Contains(err.Error(), tokenCanary) {
		t.Errorf("an unlabelled Secret: %v", err)
	}
}

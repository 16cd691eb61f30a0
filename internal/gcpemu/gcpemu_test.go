package gcpemu_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/secretsync/secretsync/internal/gcpemu"
)

const project = "acme-prod"

// newClient returns the real Secret Manager client, talking to emu.
func newClient(t *testing.T, emu *gcpemu.Server, auth ...option.ClientOption) *secretmanager.Client {
	t.Helper()
	opts := []option.ClientOption{option.WithEndpoint(emu.Addr)}
	for _, d := range emu.DialOptions() {
		opts = append(opts, option.WithGRPCDialOption(d))
	}
	if len(auth) == 0 {
		auth = []option.ClientOption{option.WithoutAuthentication()}
	}
	c, err := secretmanager.NewClient(context.Background(), append(opts, auth...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// errorIs fails unless err has code and a message containing msg.
func errorIs(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	st, _ := status.FromError(err)
	if err == nil || st.Code() != code || !strings.Contains(st.Message(), msg) {
		t.Errorf("want %s containing %q, got %v", code, msg, err)
	}
}

func TestVersions(t *testing.T) {
	emu := gcpemu.New(project)
	defer emu.Close()
	c := newClient(t, emu)
	ctx := context.Background()
	num := emu.ProjectNumber(project)

	sec, err := c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{
		Parent: "projects/" + project, SecretId: "db",
		Secret: &secretmanagerpb.Secret{Labels: map[string]string{"team": "a"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "projects/" + num + "/secrets/db"; sec.GetName() != want {
		t.Errorf("name %s, want %s: responses name projects by number", sec.GetName(), want)
	}
	_, err = c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/" + project + "/secrets/db/versions/latest"})
	errorIs(t, err, codes.NotFound, "Secret [projects/"+num+"/secrets/db] not found or has no versions.")
	for _, v := range []string{"v1", "v2", "v3"} {
		if _, err := c.AddSecretVersion(ctx, &secretmanagerpb.AddSecretVersionRequest{Parent: "projects/" + project + "/secrets/db", Payload: &secretmanagerpb.SecretPayload{Data: []byte(v)}}); err != nil {
			t.Fatal(err)
		}
	}
	emu.SetAlias("db", "stable", 1)
	name := func(v string) string { return "projects/" + project + "/secrets/db/versions/" + v }
	access := func(v string) (string, error) {
		resp, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name(v)})
		return string(resp.GetPayload().GetData()), err
	}
	for v, want := range map[string]string{"latest": "v3", "2": "v2", "stable": "v1", num: ""} {
		got, err := access(v)
		if v == num {
			errorIs(t, err, codes.NotFound, "not found")
			continue
		}
		if err != nil || got != want {
			t.Errorf("version %s: got %q, %v; want %q", v, got, err, want)
		}
	}

	if _, err := c.DisableSecretVersion(ctx, &secretmanagerpb.DisableSecretVersionRequest{Name: name("3")}); err != nil {
		t.Fatal(err)
	}
	_, err = access("latest")
	errorIs(t, err, codes.FailedPrecondition, "Secret Version [projects/"+num+"/secrets/db/versions/3] is in DISABLED state.")
	if _, err := c.DestroySecretVersion(ctx, &secretmanagerpb.DestroySecretVersionRequest{Name: name("3")}); err != nil {
		t.Fatal(err)
	}
	_, err = access("3")
	errorIs(t, err, codes.FailedPrecondition, "is in DESTROYED state.")
	_, err = c.EnableSecretVersion(ctx, &secretmanagerpb.EnableSecretVersionRequest{Name: name("3")})
	errorIs(t, err, codes.FailedPrecondition, "is in DESTROYED state.")

	var states []string
	it := c.ListSecretVersions(ctx, &secretmanagerpb.ListSecretVersionsRequest{Parent: "projects/" + project + "/secrets/db"})
	for {
		v, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, v.GetName()[strings.LastIndex(v.GetName(), "/")+1:]+"="+v.GetState().String())
	}
	if diff := cmp.Diff([]string{"3=DESTROYED", "2=ENABLED", "1=ENABLED"}, states); diff != "" {
		t.Errorf("versions, newest first (-want +got):\n%s", diff)
	}
	resp, err := c.ListSecretVersions(ctx, &secretmanagerpb.ListSecretVersionsRequest{Parent: "projects/" + project + "/secrets/db", Filter: "state:DESTROYED"}).Next()
	if err != nil || !strings.HasSuffix(resp.GetName(), "/versions/3") {
		t.Errorf("state filter: got %v, %v", resp.GetName(), err)
	}

	got, err := c.GetSecret(ctx, &secretmanagerpb.GetSecretRequest{Name: "projects/" + project + "/secrets/db"})
	if err != nil || got.GetLabels()["team"] != "a" || got.GetVersionAliases()["stable"] != 1 {
		t.Errorf("GetSecret: %v, %v", got, err)
	}
	for _, bad := range []string{"db", "projects/p/secrets/a/b", "projects/p/secrets/d%20b/versions/1", "projects/p/locations/x.y/secrets/db/versions/1"} {
		_, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: bad})
		errorIs(t, err, codes.InvalidArgument, "Invalid resource field value")
	}
	if err := c.DeleteSecret(ctx, &secretmanagerpb.DeleteSecretRequest{Name: "projects/" + num + "/secrets/db"}); err != nil {
		t.Fatal(err)
	}
	_, err = access("1")
	errorIs(t, err, codes.NotFound, "not found")
}

// Regional secrets live apart from global ones of the same ID.
func TestLocations(t *testing.T) {
	emu := gcpemu.New(project)
	defer emu.Close()
	c := newClient(t, emu)
	ctx := context.Background()
	emu.PutSecret("db", "global")
	emu.PutSecret("projects/"+project+"/locations/us-east1/secrets/db", "regional")
	for name, want := range map[string]string{
		"projects/" + project + "/secrets/db/versions/latest":                    "global",
		"projects/" + project + "/locations/us-east1/secrets/db/versions/latest": "regional",
	} {
		resp, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name})
		if err != nil || string(resp.GetPayload().GetData()) != want {
			t.Errorf("%s: got %q, %v", name, resp.GetPayload().GetData(), err)
		}
	}
	if n, data, ok := emu.Latest("projects/" + project + "/locations/us-east1/secrets/db"); !ok || n != 1 || string(data) != "regional" {
		t.Errorf("Latest of the regional secret: version %d, %q, %v", n, data, ok)
	}
	if _, _, ok := emu.Latest("missing"); ok {
		t.Error("Latest of a missing secret: ok")
	}
	ids := list(t, c, &secretmanagerpb.ListSecretsRequest{Parent: "projects/" + project + "/locations/us-east1"})
	if diff := cmp.Diff([]string{"db"}, ids); diff != "" {
		t.Errorf("regional listing (-want +got):\n%s", diff)
	}
	_, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/" + project + "/locations/europe-west4/secrets/db/versions/latest"})
	errorIs(t, err, codes.NotFound, "not found")
}

func list(t *testing.T, c *secretmanager.Client, req *secretmanagerpb.ListSecretsRequest) []string {
	t.Helper()
	var ids []string
	it := c.ListSecrets(context.Background(), req)
	for {
		s, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return ids
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.GetName()[strings.LastIndex(s.GetName(), "/")+1:])
	}
}

func TestListSecrets(t *testing.T) {
	emu := gcpemu.New(project)
	defer emu.Close()
	c := newClient(t, emu)
	labels := map[string]map[string]string{
		"app-db":   {"team": "payments", "env": "prod"},
		"app-api":  {"team": "payments", "env": "dev"},
		"other-db": {"team": "search", "env": "prod"},
		"zapp":     {},
		"bare":     {},
	}
	for id, l := range labels {
		emu.PutSecret(id, "v")
		emu.SetLabels(id, l)
	}
	tests := map[string]struct {
		filter  string
		want    []string
		wantErr string
	}{
		"everything":               {want: []string{"app-api", "app-db", "bare", "other-db", "zapp"}},
		"name contains":            {filter: "name:app", want: []string{"app-api", "app-db", "zapp"}},
		"name equals":              {filter: "name=bare", want: []string{"bare"}},
		"a label":                  {filter: "labels.team=payments", want: []string{"app-api", "app-db"}},
		"a label with has":         {filter: "labels.env:prod", want: []string{"app-db", "other-db"}},
		"a quoted label":           {filter: `labels.env="prod"`, want: []string{"app-db", "other-db"}},
		"a label's presence":       {filter: "labels.team:*", want: []string{"app-api", "app-db", "other-db"}},
		"terms joined":             {filter: "labels.team=payments labels.env=prod", want: []string{"app-db"}},
		"terms joined with AND":    {filter: "labels.env=prod AND name:other", want: []string{"other-db"}},
		"no match":                 {filter: "labels.team=nobody"},
		"an unknown field":         {filter: "owner=me", wantErr: `unknown field "owner"`},
		"OR, which it cannot do":   {filter: "name:a OR name:b", wantErr: `"OR" is not supported`},
		"negation, which neither":  {filter: "-labels.env=prod", wantErr: "is not supported"},
		"a term without an answer": {filter: "labels.env", wantErr: "expected FIELD:VALUE"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			it := c.ListSecrets(context.Background(), &secretmanagerpb.ListSecretsRequest{Parent: "projects/" + project, Filter: tc.filter})
			var ids []string
			for {
				s, err := it.Next()
				if errors.Is(err, iterator.Done) {
					break
				}
				if tc.wantErr != "" {
					errorIs(t, err, codes.InvalidArgument, tc.wantErr)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, s.GetName()[strings.LastIndex(s.GetName(), "/")+1:])
			}
			if tc.wantErr != "" {
				t.Fatalf("want an error containing %q", tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, ids); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPagination(t *testing.T) {
	emu := gcpemu.New(project)
	defer emu.Close()
	c := newClient(t, emu)
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		emu.PutSecret(fmt.Sprintf("s%d", i), "v")
	}
	emu.SetMaxPageSize(3)
	ids := list(t, c, &secretmanagerpb.ListSecretsRequest{Parent: "projects/" + project, PageSize: 100})
	if len(ids) != 7 || emu.Calls("ListSecrets") != 3 {
		t.Errorf("got %d secrets in %d pages, want 7 in 3", len(ids), emu.Calls("ListSecrets"))
	}
	var tokens []string
	for _, r := range emu.Requests("ListSecrets") {
		tokens = append(tokens, r.(*secretmanagerpb.ListSecretsRequest).GetPageToken())
	}
	if tokens[0] != "" || tokens[1] == "" || tokens[2] == "" || tokens[1] == tokens[2] {
		t.Errorf("page tokens %q", tokens)
	}

	emu.SetMaxPageSize(25000)
	_, err := c.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: "projects/" + project, PageToken: tokens[1], Filter: "name:s"}).Next()
	errorIs(t, err, codes.InvalidArgument, "Invalid page token.")
	_, err = c.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: "projects/" + project, PageToken: "garbage"}).Next()
	errorIs(t, err, codes.InvalidArgument, "Invalid page token.")
	page, err := c.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: "projects/" + project, PageSize: 2}).Next()
	if err != nil || page == nil {
		t.Fatal(err)
	}
	if req := emu.Requests("ListSecrets"); req[len(req)-1].(*secretmanagerpb.ListSecretsRequest).GetPageSize() != 2 {
		t.Errorf("the page size did not reach the server")
	}
}

func TestAuthentication(t *testing.T) {
	emu := gcpemu.New(project)
	defer emu.Close()
	emu.PutSecret("db", "v")
	emu.RequireAuthentication()
	emu.AddAccessToken("good", "serviceAccount:a@b", time.Now().Add(time.Hour))
	emu.AddAccessToken("old", "serviceAccount:a@b", time.Now().Add(-time.Second))
	ctx := context.Background()
	req := &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/" + project + "/secrets/db/versions/latest"}
	bearer := func(tok string) option.ClientOption {
		return option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok}))
	}
	_, err := newClient(t, emu).AccessSecretVersion(ctx, req)
	errorIs(t, err, codes.Unauthenticated, "Request had invalid authentication credentials")
	for _, tok := range []string{"old", "unknown"} {
		_, err := newClient(t, emu, bearer(tok)).AccessSecretVersion(ctx, req)
		errorIs(t, err, codes.Unauthenticated, "Request had invalid authentication credentials")
	}
	if _, err := newClient(t, emu, bearer("good")).AccessSecretVersion(ctx, req); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"serviceAccount:a@b"}, emu.Callers("AccessSecretVersion")); diff != "" {
		t.Errorf("callers (-want +got):\n%s", diff)
	}
	if n := emu.Calls("AccessSecretVersion"); n != 4 {
		t.Errorf("%d calls counted, want 4: refused ones count too", n)
	}
}

func TestFaults(t *testing.T) {
	emu := gcpemu.New(project)
	defer emu.Close()
	emu.PutSecret("db", "v")
	c := newClient(t, emu)
	ctx := context.Background()
	access := func() error {
		_, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/" + project + "/secrets/db/versions/1"})
		return err
	}
	emu.FailNext("AccessSecretVersion", codes.Internal, 2)
	errorIs(t, access(), codes.Internal, "injected Internal")
	errorIs(t, access(), codes.Internal, "injected Internal")
	if err := access(); err != nil {
		t.Errorf("after two injected errors: %v", err)
	}
	emu.FailNext("*", codes.PermissionDenied, 1)
	errorIs(t, access(), codes.PermissionDenied, "Permission 'secretmanager.versions.access' denied for resource 'projects/acme-prod/secrets/db/versions/1' (or it may not exist).")
	emu.Deny("AccessSecretVersion")
	errorIs(t, access(), codes.PermissionDenied, "secretmanager.versions.access")
	emu.Allow("AccessSecretVersion")
	if err := access(); err != nil {
		t.Error(err)
	}
	emu.CorruptPayloads(true)
	resp, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/" + project + "/secrets/db/versions/1"})
	if err != nil || resp.GetPayload().GetDataCrc32C() == 2115381066 {
		t.Errorf("a corrupted payload kept its checksum: %v", err)
	}
	if diff := cmp.Diff(map[string]int{"AccessSecretVersion": 7}, emu.CallCounts()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	emu.ResetCalls()
	if n := len(emu.CallCounts()) + len(emu.Requests("AccessSecretVersion")); n != 0 {
		t.Errorf("ResetCalls left %d entries", n)
	}
}

func signJWT(key *rsa.PrivateKey, header, claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(header) + "." + enc(claims)
	digest := sha256.Sum256([]byte(signed))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func post(t *testing.T, u string, form url.Values, bearer string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func TestSTS(t *testing.T) {
	emu := gcpemu.New(project)
	defer emu.Close()
	const (
		issuer = "https://kubernetes.default.svc"
		pool   = "acme-prod.svc.id.goog"
		idp    = "https://container.googleapis.com/v1/projects/acme-prod/locations/europe-west4/clusters/prod-1"
	)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged, _ := rsa.GenerateKey(rand.Reader, 2048)
	emu.TrustIssuer(issuer, &key.PublicKey)
	emu.AddWorkloadPool(gcpemu.WorkloadPool{Pool: pool, Provider: idp, Issuer: issuer})
	token := func(k *rsa.PrivateKey, mod func(map[string]any)) string {
		claims := map[string]any{"iss": issuer, "sub": "system:serviceaccount:team-a:reader", "aud": []string{pool}, "exp": time.Now().Add(time.Hour).Unix()}
		if mod != nil {
			mod(claims)
		}
		return signJWT(k, map[string]any{"alg": "RS256"}, claims)
	}
	form := func(mod func(url.Values)) url.Values {
		f := url.Values{
			"grant_type":           {gcpemu.GrantTypeTokenExchange},
			"audience":             {"identitynamespace:" + pool + ":" + idp},
			"subject_token_type":   {gcpemu.TokenTypeJWT},
			"requested_token_type": {gcpemu.TokenTypeAccessToken},
			"scope":                {"https://www.googleapis.com/auth/cloud-platform"},
			"subject_token":        {token(key, nil)},
		}
		if mod != nil {
			mod(f)
		}
		return f
	}
	tests := map[string]struct {
		form      url.Values
		wantError string
	}{
		"a good token":       {form: form(nil)},
		"a wrong grant type": {form: form(func(f url.Values) { f.Set("grant_type", "client_credentials") }), wantError: "unsupported_grant_type"},
		"a SAML token":       {form: form(func(f url.Values) { f.Set("subject_token_type", "urn:ietf:params:oauth:token-type:saml2") }), wantError: "invalid_request"},
		"another cluster":    {form: form(func(f url.Values) { f.Set("audience", "identitynamespace:"+pool+":https://elsewhere") }), wantError: "invalid_target"},
		"a forged signature": {form: form(func(f url.Values) { f.Set("subject_token", token(forged, nil)) }), wantError: "Invalid JWT signature."},
		"another issuer": {form: form(func(f url.Values) {
			f.Set("subject_token", token(key, func(c map[string]any) { c["iss"] = "https://evil" }))
		}), wantError: "does not match the expected ones"},
		"an expired token": {form: form(func(f url.Values) {
			f.Set("subject_token", token(key, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }))
		}), wantError: "The token has expired."},
		"another audience": {form: form(func(f url.Values) { f.Set("subject_token", token(key, func(c map[string]any) { c["aud"] = "vault" })) }), wantError: "The audience in ID Token does not match"},
		"not a JWT":        {form: form(func(f url.Values) { f.Set("subject_token", "opaque") }), wantError: "Unable to parse the ID Token."},
		"an unsigned token": {form: form(func(f url.Values) {
			f.Set("subject_token", strings.TrimRight(token(key, nil), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"))
		}), wantError: "Invalid JWT signature."},
		"no requested type ok": {form: form(func(f url.Values) { f.Del("requested_token_type") })},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, body := post(t, emu.STSURL(), tc.form, "")
			if tc.wantError == "" {
				if code != http.StatusOK || body["access_token"] == "" || body["token_type"] != "Bearer" || body["issued_token_type"] != gcpemu.TokenTypeAccessToken {
					t.Fatalf("status %d, body %v", code, body)
				}
				return
			}
			if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body["error"], " ", body["error_description"]), tc.wantError) {
				t.Errorf("status %d, body %v; want 400 with %q", code, body, tc.wantError)
			}
			if strings.Contains(fmt.Sprint(body), tc.form.Get("subject_token")) {
				t.Errorf("the error echoes the token")
			}
		})
	}

	// The federated token authenticates gRPC calls as the ServiceAccount,
	// and impersonates only the Google service accounts IAM allows.
	_, body := post(t, emu.STSURL(), form(nil), "")
	fed := body["access_token"].(string)
	emu.PutSecret("db", "v")
	emu.RequireAuthentication()
	c := newClient(t, emu, option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fed})))
	if _, err := c.AccessSecretVersion(context.Background(), &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/" + project + "/secrets/db/versions/1"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"serviceAccount:" + pool + "[team-a/reader]"}, emu.Callers("AccessSecretVersion")); diff != "" {
		t.Errorf("callers (-want +got):\n%s", diff)
	}
	const gsa = "secrets@acme-prod.iam.gserviceaccount.com"
	impersonate := func(bearer string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, emu.URL+"/v1/projects/-/serviceAccounts/"+gsa+":generateAccessToken", strings.NewReader(`{"scope":["https://www.googleapis.com/auth/cloud-platform"]}`))
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, _ := impersonate(fed); code != http.StatusForbidden {
		t.Errorf("impersonation without a binding: status %d, want 403", code)
	}
	emu.AllowImpersonation(gsa, "serviceAccount:"+pool+"[team-a/reader]")
	if code, out := impersonate(fed); code != http.StatusOK || out["accessToken"] == nil || out["expireTime"] == nil {
		t.Errorf("impersonation: status %d, %v", code, out)
	}
	if code, _ := impersonate("unknown"); code != http.StatusUnauthorized {
		t.Errorf("impersonation with an unknown token: status %d, want 401", code)
	}
	want := map[string]int{"sts.token": 12, "iamcredentials.generateAccessToken": 3, "AccessSecretVersion": 1}
	if diff := cmp.Diff(want, emu.CallCounts()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// A service-account key works with oauth2's own JWT flow, until deleted.
func TestServiceAccountKeys(t *testing.T) {
	emu := gcpemu.New(project)
	defer emu.Close()
	key, err := emu.NewServiceAccountKey("reader@acme-prod.iam.gserviceaccount.com")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := google.JWTConfigFromJSON(key, "https://www.googleapis.com/auth/cloud-platform")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TokenURL != emu.TokenURL() {
		t.Errorf("token_uri %s, want %s", cfg.TokenURL, emu.TokenURL())
	}
	tok, err := cfg.TokenSource(context.Background()).Token()
	if err != nil || !strings.HasPrefix(tok.AccessToken, "ya29.") || time.Until(tok.Expiry) < 50*time.Minute {
		t.Fatalf("token %+v, %v", tok, err)
	}
	emu.DeleteServiceAccountKey(key)
	_, err = cfg.TokenSource(context.Background()).Token()
	if err == nil || !strings.Contains(err.Error(), "Invalid JWT Signature.") {
		t.Errorf("a deleted key: %v", err)
	}
	// An assertion for another audience is refused.
	other, _ := emu.NewServiceAccountKey("other@acme-prod.iam.gserviceaccount.com")
	cfg, _ = google.JWTConfigFromJSON(other, "https://www.googleapis.com/auth/cloud-platform")
	cfg.Audience = "https://oauth2.googleapis.com/token"
	if _, err := cfg.TokenSource(context.Background()).Token(); err == nil || !strings.Contains(err.Error(), "Failed audience check") {
		t.Errorf("another audience: %v", err)
	}
}

func TestMetadataServer(t *testing.T) {
	emu := gcpemu.New(project)
	defer emu.Close()
	emu.SetMetadata("instance/attributes/cluster-name", "prod-1")
	get := func(path string, flavor bool) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+emu.MetadataHost()+"/computeMetadata/v1/"+path, nil)
		if flavor {
			req.Header.Set("Metadata-Flavor", "Google")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("instance/attributes/cluster-name", true); code != 200 || body != "prod-1" {
		t.Errorf("got %d %q", code, body)
	}
	if code, _ := get("instance/attributes/cluster-name", false); code != http.StatusForbidden {
		t.Errorf("without Metadata-Flavor: %d, want 403", code)
	}
	if code, _ := get("instance/attributes/cluster-location", true); code != http.StatusNotFound {
		t.Errorf("an unset value: %d, want 404", code)
	}
}

// A federation provider exchanges its issuer's tokens carrying an allowed
// audience for principal:// tokens, which signJwt lets sign as a Google
// service account that allows them.
func TestFederationAndSignJwt(t *testing.T) {
	emu := gcpemu.New(project)
	defer emu.Close()
	const (
		issuer = "https://onprem.example.com"
		name   = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/k8s/providers/onprem"
		gsa    = "vault-login@acme-prod.iam.gserviceaccount.com"
	)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	emu.TrustIssuer(issuer, &key.PublicKey)
	emu.AddFederationProvider(gcpemu.FederationProvider{Name: name, Issuer: issuer})
	exchange := func(aud string) (int, map[string]any) {
		tok := signJWT(key, map[string]any{"alg": "RS256"}, map[string]any{"iss": issuer, "sub": "system:serviceaccount:ci:runner", "aud": []string{aud}, "exp": time.Now().Add(time.Hour).Unix()})
		return post(t, emu.STSURL(), url.Values{
			"grant_type": {gcpemu.GrantTypeTokenExchange}, "audience": {name}, "subject_token_type": {gcpemu.TokenTypeJWT},
			"scope": {"https://www.googleapis.com/auth/cloud-platform"}, "subject_token": {tok},
		}, "")
	}
	if code, body := exchange("https:" + name); code != http.StatusOK || body["access_token"] == nil {
		t.Fatalf("the default audience: status %d, %v", code, body)
	}
	if code, body := exchange("vault"); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body), "The audience in ID Token does not match") {
		t.Errorf("another audience: status %d, %v", code, body)
	}
	_, body := exchange("https:" + name)
	fed := body["access_token"].(string)
	sign := func() (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, emu.URL+"/v1/projects/-/serviceAccounts/"+gsa+":signJwt", strings.NewReader(`{"payload":"{\"sub\":\"`+gsa+`\",\"aud\":\"vault/app\"}"}`))
		req.Header.Set("Authorization", "Bearer "+fed)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, _ := sign(); code != http.StatusForbidden {
		t.Errorf("signJwt without a binding: status %d, want 403", code)
	}
	emu.AllowImpersonation(gsa, "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/k8s/subject/system:serviceaccount:ci:runner")
	code, out := sign()
	if code != http.StatusOK {
		t.Fatalf("signJwt: status %d, %v", code, out)
	}
	kid, pub, err := emu.SystemKey(gsa)
	if err != nil {
		t.Fatal(err)
	}
	signed, _ := out["signedJwt"].(string)
	parts := strings.Split(signed, ".")
	if len(parts) != 3 || out["keyId"] != kid {
		t.Fatalf("signJwt answered %v", out)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("the signature does not verify with the system key: %v", err)
	}
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if want := `{"sub":"` + gsa + `","aud":"vault/app"}`; string(claims) != want {
		t.Errorf("claims %s, want the payload %s", claims, want)
	}
}

// The writes PushSecret makes: CreateSecret with its metadata,
// UpdateSecret by field mask and DeleteSecret, with Secret Manager's codes
// for what exists, what does not, and stale etags.
func TestWrites(t *testing.T) {
	emu := gcpemu.New(project)
	defer emu.Close()
	c := newClient(t, emu)
	ctx := context.Background()
	num := emu.ProjectNumber(project)
	name := "projects/" + project + "/secrets/db"
	automatic := &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{Automatic: &secretmanagerpb.Replication_Automatic{}}}

	created, err := c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{
		Parent: "projects/" + project, SecretId: "db",
		Secret: &secretmanagerpb.Secret{
			Labels:      map[string]string{"managed-by": "external-secrets"},
			Annotations: map[string]string{"owner": "team-a"},
			Topics:      []*secretmanagerpb.Topic{{Name: "projects/" + project + "/topics/rotations"}},
			Replication: &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_UserManaged_{UserManaged: &secretmanagerpb.Replication_UserManaged{
				Replicas: []*secretmanagerpb.Replication_UserManaged_Replica{{Location: "us-east1", CustomerManagedEncryption: &secretmanagerpb.CustomerManagedEncryption{KmsKeyName: "projects/p/locations/us-east1/keyRings/r/cryptoKeys/k"}}},
			}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := emu.Secret("db")
	if got.GetReplication().GetUserManaged().GetReplicas()[0].GetCustomerManagedEncryption().GetKmsKeyName() == "" ||
		got.GetTopics()[0].GetName() != "projects/"+project+"/topics/rotations" || got.GetAnnotations()["owner"] != "team-a" {
		t.Errorf("created secret lost its metadata: %v", got)
	}
	_, err = c.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/" + project, SecretId: "db", Secret: &secretmanagerpb.Secret{Replication: automatic}})
	errorIs(t, err, codes.AlreadyExists, "Secret [projects/"+num+"/secrets/db] already exists.")

	for what, req := range map[string]*secretmanagerpb.CreateSecretRequest{
		"regional replication": {Parent: "projects/" + project + "/locations/us-east1", SecretId: "r", Secret: &secretmanagerpb.Secret{Replication: automatic}},
		"global cmek":          {Parent: "projects/" + project, SecretId: "g", Secret: &secretmanagerpb.Secret{CustomerManagedEncryption: &secretmanagerpb.CustomerManagedEncryption{KmsKeyName: "k"}}},
		"no replicas":          {Parent: "projects/" + project, SecretId: "g", Secret: &secretmanagerpb.Secret{Replication: &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_UserManaged_{UserManaged: &secretmanagerpb.Replication_UserManaged{}}}}},
		"bad topic":            {Parent: "projects/" + project, SecretId: "g", Secret: &secretmanagerpb.Secret{Topics: []*secretmanagerpb.Topic{{Name: "rotations"}}}},
	} {
		_, err := c.CreateSecret(ctx, req)
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: want InvalidArgument, got %v", what, err)
		}
	}

	update := func(etag string, paths ...string) (*secretmanagerpb.Secret, error) {
		return c.UpdateSecret(ctx, &secretmanagerpb.UpdateSecretRequest{
			Secret: &secretmanagerpb.Secret{
				Name: name, Etag: etag,
				Labels:      map[string]string{"managed-by": "external-secrets", "env": "prod"},
				Annotations: map[string]string{},
				Replication: automatic,
			},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
		})
	}
	updated, err := update(created.GetEtag(), "labels", "annotations")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"managed-by": "external-secrets", "env": "prod"}, updated.GetLabels()); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if len(updated.GetAnnotations()) != 0 || len(updated.GetTopics()) != 1 || updated.GetEtag() == created.GetEtag() {
		t.Errorf("update changed what its mask leaves out, or kept its etag: %v", updated)
	}
	_, err = update(created.GetEtag(), "labels")
	errorIs(t, err, codes.FailedPrecondition, "etag")
	_, err = update("", "replication")
	errorIs(t, err, codes.InvalidArgument, "immutable")
	_, err = update("")
	errorIs(t, err, codes.InvalidArgument, "update_mask")
	_, err = c.UpdateSecret(ctx, &secretmanagerpb.UpdateSecretRequest{Secret: &secretmanagerpb.Secret{Name: name + "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}}})
	errorIs(t, err, codes.NotFound, "not found")

	err = c.DeleteSecret(ctx, &secretmanagerpb.DeleteSecretRequest{Name: name, Etag: created.GetEtag()})
	errorIs(t, err, codes.FailedPrecondition, "etag")
	if err := c.DeleteSecret(ctx, &secretmanagerpb.DeleteSecretRequest{Name: name, Etag: updated.GetEtag()}); err != nil {
		t.Fatal(err)
	}
	err = c.DeleteSecret(ctx, &secretmanagerpb.DeleteSecretRequest{Name: name})
	errorIs(t, err, codes.NotFound, "not found")
	if emu.Secret("db") != nil {
		t.Error("the secret is still there")
	}
	want := map[string]int{"CreateSecret": 6, "UpdateSecret": 5, "DeleteSecret": 3}
	for m, n := range want {
		if got := emu.Calls(m); got != n {
			t.Errorf("%s called %d times, want %d", m, got, n)
		}
	}
}

package azureemu_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/azureemu"
)

const (
	app    = "11111111-2222-3333-4444-555555555555"
	secret = "s3cret"
)

func newServer(t *testing.T) *azureemu.Server {
	t.Helper()
	emu := azureemu.New("vault")
	t.Cleanup(emu.Close)
	emu.AddApp(azureemu.App{ClientID: app, Secrets: []string{secret}})
	return emu
}

// token gets an access token from the emulator's Entra ID with a raw
// client credentials request.
func token(t *testing.T, emu *azureemu.Server, host string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := emu.Client().PostForm("https://"+host+"/"+azureemu.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func secretForm(scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {app}, "client_secret": {secret}, "scope": {scope}}
}

func get(t *testing.T, emu *azureemu.Server, rawURL, bearer string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := emu.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestVaultAuthentication(t *testing.T) {
	emu := newServer(t)
	emu.SetSecret("db", "v")
	_, pub := token(t, emu, "login.microsoftonline.com", secretForm("https://vault.azure.net/.default"))
	_, gov := token(t, emu, "login.microsoftonline.us", secretForm("https://vault.usgovcloudapi.net/.default"))
	emu.SetTokenLifetime(-time.Minute)
	_, expired := token(t, emu, "login.microsoftonline.com", secretForm("https://vault.azure.net/.default"))

	const challenge = `Bearer authorization="https://login.microsoftonline.com/` + azureemu.TenantID + `", resource="https://vault.azure.net"`
	tests := map[string]struct {
		url, bearer   string
		wantStatus    int
		wantInBody    string
		wantChallenge string
	}{
		"no token: the challenge": {url: emu.VaultURL + "secrets/db?api-version=7.5", wantStatus: 401,
			wantInBody: "AKV10000", wantChallenge: challenge},
		"a token": {url: emu.VaultURL + "secrets/db?api-version=7.5", bearer: pub["access_token"].(string), wantStatus: 200, wantInBody: `"value":"v"`},
		"the same vault in the US Government cloud": {url: "https://vault.vault.usgovcloudapi.net/secrets/db?api-version=7.5", bearer: gov["access_token"].(string),
			wantStatus: 200, wantInBody: `"id":"https://vault.vault.usgovcloudapi.net/secrets/db/`},
		"a token for another cloud": {url: emu.VaultURL + "secrets/db?api-version=7.5", bearer: gov["access_token"].(string), wantStatus: 401,
			wantInBody: "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://vault.usgovcloudapi.net.", wantChallenge: challenge},
		"an expired token":      {url: emu.VaultURL + "secrets/db?api-version=7.5", bearer: expired["access_token"].(string), wantStatus: 401, wantInBody: "TokenExpired"},
		"a token never issued":  {url: emu.VaultURL + "secrets/db?api-version=7.5", bearer: "forged", wantStatus: 401, wantInBody: "AKV10001"},
		"no API version":        {url: emu.VaultURL + "secrets/db", bearer: pub["access_token"].(string), wantStatus: 400, wantInBody: "BadParameter"},
		"directly, on loopback": {url: emu.URL + "/secrets/db?api-version=7.5", bearer: pub["access_token"].(string), wantStatus: 200, wantInBody: `"value":"v"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, body := get(t, emu, tc.url, tc.bearer)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(body, tc.wantInBody) {
				t.Errorf("got %d %s, want %d with %s", resp.StatusCode, body, tc.wantStatus, tc.wantInBody)
			}
			if got := resp.Header.Get("WWW-Authenticate"); tc.wantChallenge != "" && got != tc.wantChallenge {
				t.Errorf("challenge %q, want %q", got, tc.wantChallenge)
			}
		})
	}
}

func TestTokenEndpoint(t *testing.T) {
	emu := newServer(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const issuer, subject = "https://issuer.example", "system:serviceaccount:ns:sa"
	emu.TrustIssuer(issuer, &key.PublicKey)
	const fedApp = "22222222-2222-3333-4444-555555555555"
	emu.AddApp(azureemu.App{ClientID: fedApp, Federated: []azureemu.FederatedCredential{{Issuer: issuer, Subject: subject}}})
	const keylessApp = "44444444-2222-3333-4444-555555555555"
	emu.AddApp(azureemu.App{ClientID: keylessApp, Federated: []azureemu.FederatedCredential{{Issuer: "https://keyless.example", Subject: subject}}})
	untrusted, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(k *rsa.PrivateKey, iss, sub, aud string, exp time.Duration) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, nil)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		tok, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: iss, Subject: sub, Audience: jwt.Audience{aud},
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)), Expiry: jwt.NewNumericDate(now.Add(exp))}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	federated := func(assertion string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {fedApp}, "scope": {"https://vault.azure.net/.default"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	}
	tests := map[string]struct {
		host       string
		form       url.Values
		wantStatus int
		wantAADSTS string
	}{
		"a client secret":                         {form: secretForm("https://vault.azure.net/.default"), wantStatus: 200},
		"a wrong secret":                          {form: url.Values{"grant_type": {"client_credentials"}, "client_id": {app}, "client_secret": {"nope"}, "scope": {"https://vault.azure.net/.default"}}, wantStatus: 401, wantAADSTS: "AADSTS7000215"},
		"an unknown app":                          {form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"x"}, "client_secret": {secret}, "scope": {"https://vault.azure.net/.default"}}, wantStatus: 400, wantAADSTS: "AADSTS700016"},
		"another cloud's vault":                   {form: secretForm("https://vault.usgovcloudapi.net/.default"), wantStatus: 400, wantAADSTS: "AADSTS500011"},
		"a scope without /.default":               {form: secretForm("https://vault.azure.net"), wantStatus: 400, wantAADSTS: "AADSTS1002012"},
		"a federated token":                       {form: federated(sign(key, issuer, subject, azureemu.FederatedAudience, time.Hour)), wantStatus: 200},
		"a federated token signed by another key": {form: federated(sign(untrusted, issuer, subject, azureemu.FederatedAudience, time.Hour)), wantStatus: 401, wantAADSTS: "AADSTS700211"},
		"another subject":                         {form: federated(sign(key, issuer, "system:serviceaccount:ns:other", azureemu.FederatedAudience, time.Hour)), wantStatus: 400, wantAADSTS: "AADSTS70021"},
		"an untrusted issuer":                     {form: federated(sign(key, "https://other.example", subject, azureemu.FederatedAudience, time.Hour)), wantStatus: 400, wantAADSTS: "AADSTS70021"},
		"an issuer whose key is not trusted": {form: func() url.Values {
			f := federated(sign(key, "https://keyless.example", subject, azureemu.FederatedAudience, time.Hour))
			f.Set("client_id", keylessApp)
			return f
		}(), wantStatus: 400, wantAADSTS: "AADSTS50166"},
		"the wrong audience":      {form: federated(sign(key, issuer, subject, "sts.amazonaws.com", time.Hour)), wantStatus: 400, wantAADSTS: "AADSTS700212"},
		"an expired token":        {form: federated(sign(key, issuer, subject, azureemu.FederatedAudience, -time.Second)), wantStatus: 400, wantAADSTS: "AADSTS700024"},
		"not a JWT":               {form: federated("not-a-jwt"), wantStatus: 400, wantAADSTS: "AADSTS50027"},
		"the US Government cloud": {host: "login.microsoftonline.us", form: secretForm("https://vault.usgovcloudapi.net/.default"), wantStatus: 200},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			host := tc.host
			if host == "" {
				host = "login.microsoftonline.com"
			}
			status, body := token(t, emu, host, tc.form)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %v", status, tc.wantStatus, body)
			}
			if tc.wantAADSTS == "" {
				if body["access_token"] == "" || body["token_type"] != "Bearer" {
					t.Errorf("no token: %v", body)
				}
				return
			}
			desc, _ := body["error_description"].(string)
			if !strings.HasPrefix(desc, tc.wantAADSTS+":") || !strings.Contains(desc, "\r\nTrace ID: ") {
				t.Errorf("description %q, want %s and a trace ID line", desc, tc.wantAADSTS)
			}
		})
	}
}

func TestListPagination(t *testing.T) {
	emu := newServer(t)
	for i := 0; i < 7; i++ {
		emu.SetSecret(fmt.Sprintf("s-%d", i), "v")
	}
	emu.SetPageSize(3)
	cred, err := azidentity.NewClientSecretCredential(azureemu.TenantID, app, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: azcore.ClientOptions{Transport: emu.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := azsecrets.NewClient(emu.VaultURL, cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: emu.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	pager := client.NewListSecretPropertiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Value {
			names = append(names, p.ID.Name())
		}
	}
	if diff := cmp.Diff([]string{"s-0", "s-1", "s-2", "s-3", "s-4", "s-5", "s-6"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if n := emu.Calls("secrets/list"); n != 3 {
		t.Errorf("%d pages, want 3", n)
	}

	// maxresults asks for smaller pages; a bad skip token is refused.
	_, pub := token(t, emu, "login.microsoftonline.com", secretForm("https://vault.azure.net/.default"))
	resp, body := get(t, emu, emu.VaultURL+"secrets?api-version=7.5&maxresults=2", pub["access_token"].(string))
	var page struct {
		Value    []json.RawMessage `json:"value"`
		NextLink string            `json:"nextLink"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil || resp.StatusCode != 200 || len(page.Value) != 2 || !strings.Contains(page.NextLink, "maxresults=2") {
		t.Errorf("maxresults=2: %d %s", resp.StatusCode, body)
	}
	if resp, body := get(t, emu, emu.VaultURL+"secrets?api-version=7.5&$skiptoken=bogus", pub["access_token"].(string)); resp.StatusCode != 400 {
		t.Errorf("a bogus skip token: %d %s", resp.StatusCode, body)
	}

	// Secrets set through the SDK are listed and read like the others.
	if _, err := client.SetSecret(context.Background(), "s-9", azsecrets.SetSecretParameters{Value: to.Ptr("nine"), Tags: map[string]*string{"env": to.Ptr("dev")}}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := client.GetSecret(context.Background(), "s-9", "", nil)
	if err != nil || *got.Value != "nine" || *got.Tags["env"] != "dev" {
		t.Errorf("s-9: %+v, %v", got, err)
	}
}

func TestFaults(t *testing.T) {
	emu := newServer(t)
	emu.SetSecret("db", "v")
	_, pub := token(t, emu, "login.microsoftonline.com", secretForm("https://vault.azure.net/.default"))
	bearer := pub["access_token"].(string)
	dbURL := emu.VaultURL + "secrets/db?api-version=7.5"

	emu.Throttle("secrets/get", 1, 1500*time.Millisecond)
	resp, body := get(t, emu, dbURL, bearer)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || !strings.Contains(body, `"code":"Throttled"`) {
		t.Errorf("throttled: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp, _ := get(t, emu, dbURL, bearer); resp.StatusCode != 200 {
		t.Errorf("after the throttle: %d", resp.StatusCode)
	}
	emu.Deny(app, "secrets/get")
	if resp, body := get(t, emu, dbURL, bearer); resp.StatusCode != 403 || !strings.Contains(body, "does not have secrets get permission") {
		t.Errorf("denied: %d %s", resp.StatusCode, body)
	}
	emu.Allow(app, "secrets/get")
	emu.SetEnabled(azureemu.Secrets, "db", false)
	if resp, body := get(t, emu, dbURL, bearer); resp.StatusCode != 403 || !strings.Contains(body, "SecretDisabled") {
		t.Errorf("disabled: %d %s", resp.StatusCode, body)
	}
	want := map[string]int{"token": 1, "secrets/get": 4}
	if diff := cmp.Diff(want, emu.CallCounts()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if n := emu.Throttled("secrets/get"); n != 1 {
		t.Errorf("%d throttled, want 1", n)
	}

	// Names the emulator does not play do not resolve.
	_, err := emu.Client().Get("https://other.vault.azure.net/secrets/db?api-version=7.5")
	var dns *net.DNSError
	if !errors.As(err, &dns) || !dns.IsNotFound {
		t.Errorf("want a DNS error for another vault, got %v", err)
	}

	// IMDS wants the Metadata header, as the real one does.
	emu.SetSystemAssignedIdentity("33333333-0000-0000-0000-000000000000")
	resp, err = emu.Client().Get("http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("IMDS without Metadata: %d", resp.StatusCode)
	}
}

// The secret writes through the real SDK: set with attributes, update a
// version's properties, soft delete, the conflict a deleted name gets,
// recovery and purge, with Key Vault's status codes and error codes.
func TestSecretWrites(t *testing.T) {
	emu := newServer(t)
	cred, err := azidentity.NewClientSecretCredential(azureemu.TenantID, app, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: azcore.ClientOptions{Transport: emu.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := azsecrets.NewClient(emu.VaultURL, cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: emu.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	codes := func(err error) string {
		var re *azcore.ResponseError
		if !errors.As(err, &re) {
			return fmt.Sprint(err)
		}
		var body struct {
			Error struct {
				Code  string `json:"code"`
				Inner *struct {
					Code string `json:"code"`
				} `json:"innererror"`
			} `json:"error"`
		}
		raw, _ := io.ReadAll(re.RawResponse.Body)
		json.Unmarshal(raw, &body)
		out := fmt.Sprintf("%d %s", re.StatusCode, body.Error.Code)
		if body.Error.Inner != nil {
			out += " " + body.Error.Inner.Code
		}
		return out
	}

	exp := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	set, err := client.SetSecret(ctx, "db", azsecrets.SetSecretParameters{
		Value: to.Ptr("v1"), ContentType: to.Ptr("text/plain"),
		Tags:             map[string]*string{"managed-by": to.Ptr("external-secrets")},
		SecretAttributes: &azsecrets.SecretAttributes{Expires: &exp},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if set.Attributes.Expires == nil || !set.Attributes.Expires.Equal(exp) || *set.ContentType != "text/plain" {
		t.Errorf("set: %+v", set.Secret)
	}
	upd, err := client.UpdateSecretProperties(ctx, "db", "", azsecrets.UpdateSecretPropertiesParameters{
		Tags: map[string]*string{"managed-by": to.Ptr("external-secrets"), "env": to.Ptr("prod")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if upd.Value != nil || *upd.Tags["env"] != "prod" || *upd.ContentType != "text/plain" {
		t.Errorf("update: %+v", upd.Secret)
	}
	if st, _ := emu.Secret("db"); st.Versions != 1 || st.Value != "v1" || st.Tags["env"] != "prod" {
		t.Errorf("an update made a version or lost the value: %+v", st)
	}
	_, err = client.UpdateSecretProperties(ctx, "db", "0123456789abcdef0123456789abcdef", azsecrets.UpdateSecretPropertiesParameters{}, nil)
	if got := codes(err); got != "404 SecretNotFound" {
		t.Errorf("update of a missing version: %s", got)
	}

	del, err := client.DeleteSecret(ctx, "db", nil)
	if err != nil {
		t.Fatal(err)
	}
	if del.RecoveryID == nil || del.ScheduledPurgeDate == nil || del.Value != nil {
		t.Errorf("delete: %+v", del.DeletedSecret)
	}
	_, err = client.GetSecret(ctx, "db", "", nil)
	if got := codes(err); got != "404 SecretNotFound" {
		t.Errorf("get of a deleted secret: %s", got)
	}
	_, err = client.DeleteSecret(ctx, "db", nil)
	if got := codes(err); got != "404 SecretNotFound" {
		t.Errorf("delete of a deleted secret: %s", got)
	}
	_, err = client.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("v2")}, nil)
	if got := codes(err); got != "409 Conflict ObjectIsDeletedButRecoverable" {
		t.Errorf("set of a deleted name: %s", got)
	}
	if _, err := client.GetDeletedSecret(ctx, "db", nil); err != nil {
		t.Errorf("get deleted: %v", err)
	}

	emu.SetRecoveryPolls(2)
	if _, err := client.RecoverDeletedSecret(ctx, "db", nil); err != nil {
		t.Fatal(err)
	}
	_, err = client.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("v2")}, nil)
	if got := codes(err); got != "409 Conflict ObjectIsBeingRecovered" {
		t.Errorf("set while recovering: %s", got)
	}
	_, err = client.GetSecret(ctx, "db", "", nil)
	if got := codes(err); got != "404 SecretNotFound" {
		t.Errorf("get while recovering: %s", got)
	}
	got, err := client.GetSecret(ctx, "db", "", nil)
	if err != nil || *got.Value != "v1" || *got.Tags["env"] != "prod" {
		t.Errorf("recovered: %+v, %v", got.Secret, err)
	}

	if _, err := client.DeleteSecret(ctx, "db", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PurgeDeletedSecret(ctx, "db", nil); err != nil {
		t.Fatal(err)
	}
	_, err = client.PurgeDeletedSecret(ctx, "db", nil)
	if got := codes(err); got != "404 SecretNotFound" {
		t.Errorf("purge of a purged secret: %s", got)
	}
	if _, ok := emu.Secret("db"); ok {
		t.Error("a purged secret is still there")
	}
	if _, err := client.SetSecret(ctx, "db", azsecrets.SetSecretParameters{Value: to.Ptr("v3")}, nil); err != nil {
		t.Errorf("set after purge: %v", err)
	}
	want := map[string]int{"secrets/set": 4, "secrets/update": 2, "secrets/delete": 3, "deletedsecrets/get": 1, "deletedsecrets/recover": 1, "deletedsecrets/purge": 2}
	for op, n := range want {
		if got := emu.Calls(op); got != n {
			t.Errorf("%s: %d calls, want %d", op, got, n)
		}
	}
}

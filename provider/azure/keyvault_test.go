package azure_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/internal/azureemu"
	"github.com/secretsync/secretsync/provider"
)

func TestGetSecret(t *testing.T) {
	h := newHarness(t)
	v1 := h.emu.SetSecret("db", `{"user":"admin","password":"p1","nested":{"port":5432}}`)
	h.emu.SetSecret("db", `{"user":"admin","password":"p2","nested":{"port":5432}}`)
	h.emu.SetSecret("plain", "not json")
	h.emu.SetSecret("off", "hidden")
	h.emu.SetEnabled(azureemu.Secrets, "off", false)
	c := h.client(nil)

	tests := map[string]struct {
		ref      provider.Ref
		prop     string
		want     string
		wantErr  string
		notFound bool
	}{
		"the current version":             {ref: provider.Ref{Key: "db"}, prop: "password", want: "p2"},
		"with the secret/ prefix":         {ref: provider.Ref{Key: "secret/db"}, prop: "password", want: "p2"},
		"a version by ID":                 {ref: provider.Ref{Key: "db", Version: v1}, prop: "password", want: "p1"},
		"a nested property":               {ref: provider.Ref{Key: "db"}, prop: "nested.port", want: "5432"},
		"the whole value":                 {ref: provider.Ref{Key: "plain"}, want: "not json"},
		"a missing secret":                {ref: provider.Ref{Key: "nope"}, wantErr: `secret "nope" in SecretStore/team-a/azure: Key Vault GetSecret: 404 SecretNotFound: A secret with (name/id) nope was not found`, notFound: true},
		"a missing version":               {ref: provider.Ref{Key: "db", Version: "0123456789abcdef0123456789abcdef"}, wantErr: `secret "db" version "0123456789abcdef0123456789abcdef"`, notFound: true},
		"a missing property":              {ref: provider.Ref{Key: "db"}, prop: "token", wantErr: `property "token"`, notFound: true},
		"a property of a non-JSON secret": {ref: provider.Ref{Key: "plain"}, prop: "x", wantErr: "value is not JSON"},
		"a disabled secret":               {ref: provider.Ref{Key: "off"}, wantErr: "403 Forbidden (SecretDisabled): Operation get is not allowed on a disabled secret."},
		"an unknown object type":          {ref: provider.Ref{Key: "blob/db"}, wantErr: `unknown object type "blob"; prefix the name with secret/, cert/ or key/`},
		"a name Key Vault cannot hold":    {ref: provider.Ref{Key: "db_password"}, wantErr: `"db_password" is not a Key Vault name`},
		"a path below a name":             {ref: provider.Ref{Key: "secret/db/extra"}, wantErr: `"db/extra" is not a Key Vault name`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := read(c, tc.ref, tc.prop)
			checkErr(t, err, tc.wantErr, tc.notFound)
			if tc.wantErr == "" && got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExtract(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("app", `{"user":"admin","port":5432,"tls":{"enabled":true}}`)
	h.emu.SetSecret("plain", "not json")
	c := h.client(nil)

	s, err := c.GetSecret(context.Background(), provider.Ref{Key: "app"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Map()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"user": []byte("admin"), "port": []byte("5432"), "tls": []byte(`{"enabled":true}`)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Map (-want +got):\n%s", diff)
	}
	s, err = c.GetSecret(context.Background(), provider.Ref{Key: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Map(); err == nil {
		t.Error("extracting a non-JSON secret must fail")
	}
}

// Certificates read as the External Secrets Operator reads them: the
// certificate's DER, its private key in the secret of the same name; keys
// as their public JSON Web Key.
func TestCertificatesAndKeys(t *testing.T) {
	h := newHarness(t)
	cert, _, bundle := newCertificate(t, "tls.example")
	certVersion, err := h.emu.ImportCertificate("tls", bundle)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.emu.ImportKey("signing", &ec.PublicKey); err != nil {
		t.Fatal(err)
	}
	c := h.client(nil)

	t.Run("a certificate is PEM", func(t *testing.T) {
		for _, version := range []string{"", certVersion} {
			got, err := read(c, provider.Ref{Key: "cert/tls", Version: version}, "")
			if err != nil {
				t.Fatal(err)
			}
			block, rest := pem.Decode([]byte(got))
			if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
				t.Fatalf("version %q: got %q, want one PEM CERTIFICATE block", version, got)
			}
			if !bytes.Equal(block.Bytes, cert.Raw) {
				t.Errorf("version %q: the block holds %d bytes, want the certificate's %d bytes of DER", version, len(block.Bytes), len(cert.Raw))
			}
		}
	})
	t.Run("its private key is in the secret of the same name", func(t *testing.T) {
		got, err := read(c, provider.Ref{Key: "secret/tls"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if got != string(bundle) {
			t.Errorf("got %q, want the imported PEM bundle", got)
		}
	})
	t.Run("a certificate has no properties", func(t *testing.T) {
		_, err := read(c, provider.Ref{Key: "cert/tls"}, "subject")
		checkErr(t, err, "read secret/tls for the certificate with its private key", false)
		s, err := c.GetSecret(context.Background(), provider.Ref{Key: "cert/tls"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Map()
		checkErr(t, err, "a certificate is PEM, not a JSON object", false)
	})
	t.Run("a certificate's key is its public key", func(t *testing.T) {
		got, err := read(c, provider.Ref{Key: "key/tls"}, "")
		if err != nil {
			t.Fatal(err)
		}
		var jwk jose.JSONWebKey
		if err := json.Unmarshal([]byte(got), &jwk); err != nil {
			t.Fatalf("not a JSON Web Key: %v", err)
		}
		if !jwk.IsPublic() || !jwk.Valid() {
			t.Errorf("want a valid public key, got %+v", jwk)
		}
		if pub, ok := jwk.Key.(interface{ Equal(x crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
			t.Error("the key is not the certificate's public key")
		}
	})
	t.Run("a key is its public JSON Web Key", func(t *testing.T) {
		got, err := read(c, provider.Ref{Key: "key/signing"}, "")
		if err != nil {
			t.Fatal(err)
		}
		var jwk jose.JSONWebKey
		if err := json.Unmarshal([]byte(got), &jwk); err != nil {
			t.Fatalf("not a JSON Web Key: %v", err)
		}
		if pub, ok := jwk.Key.(*ecdsa.PublicKey); !ok || !pub.Equal(&ec.PublicKey) {
			t.Errorf("got %T, want the imported P-256 key", jwk.Key)
		}
		for prop, want := range map[string]string{"kty": "EC", "crv": "P-256"} {
			if got, err := read(c, provider.Ref{Key: "key/signing"}, prop); err != nil || got != want {
				t.Errorf("property %s: got %q, %v; want %q", prop, got, err, want)
			}
		}
	})
	t.Run("missing ones are not found", func(t *testing.T) {
		_, err := read(c, provider.Ref{Key: "cert/none"}, "")
		checkErr(t, err, `certificate "none" in SecretStore/team-a/azure: Key Vault GetCertificate: 404 CertificateNotFound`, true)
		_, err = read(c, provider.Ref{Key: "key/none"}, "")
		checkErr(t, err, `key "none" in SecretStore/team-a/azure: Key Vault GetKey: 404 KeyNotFound`, true)
	})
}

// metadataPolicy Fetch reads tags as the External Secrets Operator does.
func TestMetadata(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("db", "value")
	h.emu.SetTags(azureemu.Secrets, "db", map[string]string{"owner": "team-a", "env": `{"name":"prod","region":"eu"}`})
	_, _, bundle := newCertificate(t, "tls.example")
	if _, err := h.emu.ImportCertificate("tls", bundle); err != nil {
		t.Fatal(err)
	}
	h.emu.SetTags(azureemu.Certificates, "tls", map[string]string{"issuer": "internal"})
	c := h.client(nil)

	tests := map[string]struct {
		key, prop string
		want      string
		wantErr   string
	}{
		"all tags as JSON":             {key: "db", want: `{"env":"{\"name\":\"prod\",\"region\":\"eu\"}","owner":"team-a"}`},
		"one tag":                      {key: "db", prop: "owner", want: "team-a"},
		"a path into a JSON tag":       {key: "db", prop: "env.region", want: "eu"},
		"a missing tag":                {key: "db", prop: "cost-center", wantErr: `tag "cost-center": not found`},
		"the tags of a certificate":    {key: "cert/tls", prop: "issuer", want: "internal"},
		"the tags of a missing secret": {key: "none", wantErr: "404 SecretNotFound"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := read(c, provider.Ref{Key: tc.key, Metadata: true}, tc.prop)
			checkErr(t, err, tc.wantErr, tc.wantErr != "")
			if tc.wantErr == "" && got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("extracted with the secret's name", func(t *testing.T) {
		s, err := c.GetSecret(context.Background(), provider.Ref{Key: "db", Metadata: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Map()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]byte{"db_owner": []byte("team-a"), "db_env_name": []byte("prod"), "db_env_region": []byte("eu")}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Map (-want +got):\n%s", diff)
		}
	})
}

func TestFind(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 10; i++ {
		h.emu.SetSecret(fmt.Sprintf("app-%02d", i), fmt.Sprintf("v%d", i))
	}
	h.emu.SetSecret("db-password", "p")
	h.emu.SetTags(azureemu.Secrets, "db-password", map[string]string{"env": "dev", "owner": "seb"})
	h.emu.SetTags(azureemu.Secrets, "app-03", map[string]string{"env": "dev"})
	h.emu.SetSecret("app-off", "hidden")
	h.emu.SetEnabled(azureemu.Secrets, "app-off", false)
	h.emu.SetPageSize(4)
	c := h.client(nil).(provider.Finder)

	tests := map[string]struct {
		find      provider.Find
		want      []string
		wantErr   string
		wantPages int
	}{
		"by name, over every page": {find: provider.Find{Name: "^app-0[0-4]$"}, want: []string{"app-00", "app-01", "app-02", "app-03", "app-04"}, wantPages: 3},
		"by tags":                  {find: provider.Find{Tags: map[string]string{"env": "dev"}}, want: []string{"app-03", "db-password"}, wantPages: 3},
		"by two tags":              {find: provider.Find{Tags: map[string]string{"env": "dev", "owner": "seb"}}, want: []string{"db-password"}, wantPages: 3},
		"by name and tag":          {find: provider.Find{Name: "^app", Tags: map[string]string{"env": "dev"}}, want: []string{"app-03"}, wantPages: 3},
		"by name prefix":           {find: provider.Find{Path: "db-"}, want: []string{"db-password"}, wantPages: 3},
		"nothing matches":          {find: provider.Find{Name: "^none$"}, want: []string{}, wantPages: 3},
		"not a regular expression": {find: provider.Find{Name: "app-("}, wantErr: `name "app-(" is not a regular expression`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h.emu.ResetCalls()
			got, err := c.Find(context.Background(), tc.find)
			checkErr(t, err, tc.wantErr, false)
			if tc.wantErr != "" {
				return
			}
			names := []string{}
			for n := range got {
				names = append(names, n)
			}
			sort.Strings(names)
			if diff := cmp.Diff(tc.want, names); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			for _, n := range names {
				if n == "db-password" && string(got[n]) != "p" || n == "app-03" && string(got[n]) != "v3" {
					t.Errorf("%s: wrong value", n)
				}
			}
			if n := h.emu.Calls("secrets/list"); n != tc.wantPages {
				t.Errorf("%d list pages, want %d (12 secrets, 4 a page)", n, tc.wantPages)
			}
			if n := h.emu.Calls("secrets/get"); n != len(tc.want) {
				t.Errorf("%d reads, want one per match: %d", n, len(tc.want))
			}
		})
	}
	t.Run("listing denied", func(t *testing.T) {
		h.emu.Deny(appID, "secrets/list")
		defer h.emu.Allow(appID, "secrets/list")
		_, err := c.Find(context.Background(), provider.Find{Name: "app"})
		checkErr(t, err, "find secrets in SecretStore/team-a/azure: Key Vault ListSecretProperties: 403 Forbidden (AccessDenied)", false)
	})
}

// One client, one credential: a token is requested once, by Validate,
// and every SDK client answers Key Vault's challenge once.
func TestClientsAndTokensAreReused(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("db", "v")
	_, _, bundle := newCertificate(t, "tls.example")
	if _, err := h.emu.ImportCertificate("tls", bundle); err != nil {
		t.Fatal(err)
	}
	c := h.client(nil)
	if n := h.emu.Calls("token") + h.emu.Calls("challenge"); n != 0 {
		t.Fatalf("NewClient made %d requests, want none", n)
	}
	if err := c.(provider.Validator).Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := h.emu.Calls("token"); n != 1 {
		t.Fatalf("Validate made %d token requests, want 1", n)
	}
	for i := 0; i < 5; i++ {
		for _, key := range []string{"db", "cert/tls", "key/tls"} {
			if _, err := read(c, provider.Ref{Key: key}, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]int{
		// MSAL reads the authority's aliases and endpoints once.
		"instance-discovery":   1,
		"openid-configuration": 1,
		"token":                1,
		"challenge":            3, // one per SDK client: secrets, certificates, keys
		"secrets/get":          5,
		"certificates/get":     5,
		"keys/get":             5,
	}
	if diff := cmp.Diff(want, h.emu.CallCounts()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if g := h.emu.Grants(); len(g) != 1 || g[0].Method != "client_secret" || g[0].Resource != "https://vault.azure.net" {
		t.Errorf("grants: %+v", g)
	}
}

// A token is renewed before it expires, not used until Key Vault refuses
// it: the SDK renews a token in the last five minutes of its life, at
// most every 30 seconds, while the one it holds still works.
func TestTokensAreRenewedBeforeExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 31s for the SDK's renewal interval")
	}
	t.Parallel()
	h := newHarness(t)
	h.emu.SetSecret("db", "v")
	h.emu.SetTokenLifetime(4 * time.Minute)
	c := h.client(nil)
	for i := 0; i < 3; i++ {
		if _, err := read(c, provider.Ref{Key: "db"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.emu.Calls("token"); n != 1 {
		t.Fatalf("3 reads within seconds made %d token requests, want 1", n)
	}
	time.Sleep(31 * time.Second)
	if _, err := read(c, provider.Ref{Key: "db"}, ""); err != nil {
		t.Fatal(err)
	}
	// The first token had 3.5 minutes left.
	if n := h.emu.Calls("token"); n != 2 {
		t.Errorf("a read 31s later, 3.5 minutes before the token expires, made %d token requests in all, want 2", n)
	}
}

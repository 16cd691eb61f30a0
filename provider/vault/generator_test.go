package vault_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/vault/api"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/internal/pgtest"
	"github.com/secretsync/secretsync/internal/vaulttest"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/vault"
	"github.com/secretsync/secretsync/secretstore"
)

// genCanary is the AppRole secret ID the generator logs in with, and a
// parameter value in the error cases: no error may contain it.
const genCanary = "CANARY-3d1f9a7c-vault-generator"

// generatorPolicy is what the generator's AppRole token may do.
const generatorPolicy = `
path "pki/issue/*"                 { capabilities = ["update"] }
path "database/creds/*"            { capabilities = ["read"] }
path "auth/token/create"           { capabilities = ["update"] }
path "auth/token/create-orphan"    { capabilities = ["update"] }
path "kv1/*"                       { capabilities = ["create", "update", "read", "delete"] }
path "sys/leases/revoke"           { capabilities = ["update"] }
path "auth/token/revoke-accessor"  { capabilities = ["update"] }
`

// genFixture is a Vault server with an AppRole role "gen" (token TTL 1h)
// the generator logs in with, its secret ID in Secret team/approle.
type genFixture struct {
	v      *vaultServer
	creds  *creds
	roleID string
}

func newGenFixture(t *testing.T) *genFixture {
	t.Helper()
	v := startVault(t, vaulttest.Options{})
	v.mountKV("kv1", "1")
	v.policy("generator", generatorPolicy)
	v.enableAuth("approle", "approle")
	roleID, _ := v.appRole("approle", "gen", map[string]any{
		"token_policies": "generator", "token_ttl": "1h", "token_max_ttl": "2h",
	})
	v.write("auth/approle/role/gen/custom-secret-id", map[string]any{"secret_id": genCanary})
	return &genFixture{
		v:      v,
		creds:  &creds{secrets: map[string]string{"team/approle/secret-id": genCanary}},
		roleID: roleID,
	}
}

// provider returns spec.provider logging in as role.
func (f *genFixture) provider(roleID string) *secretstore.VaultProvider {
	return &secretstore.VaultProvider{
		Server: f.v.Addr,
		Auth: &secretstore.VaultAuth{AppRole: &secretstore.VaultAppRole{
			Path: "approle", RoleID: roleID, SecretRef: sel("approle", "secret-id"),
		}},
	}
}

// dynamicSecret returns a VaultDynamicSecret team/gen of UID uid-gen,
// generation 1, without client retries.
func dynamicSecret(p *secretstore.VaultProvider, method, path, params string, result generators.VaultDynamicSecretResultType) *generators.VaultDynamicSecret {
	v := &generators.VaultDynamicSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: storeNamespace, Name: "gen", UID: "uid-gen", Generation: 1},
		Spec: generators.VaultDynamicSecretSpec{
			Provider:      p,
			Method:        method,
			Path:          path,
			ResultType:    result,
			RetrySettings: &secretstore.RetrySettings{MaxRetries: ptr(int32(0))},
		},
	}
	if params != "" {
		v.Spec.Parameters = &runtime.RawExtension{Raw: []byte(params)}
	}
	return v
}

func noGenCanary(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), genCanary) {
		t.Errorf("error carries a secret value: %v", err)
	}
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func within(got, want, slack time.Duration) bool {
	return got <= want && got >= want-slack
}

func TestGeneratePKICertificate(t *testing.T) {
	f := newGenFixture(t)
	ctx := context.Background()
	if err := f.v.Client.Sys().MountWithContext(ctx, "pki", &api.MountInput{Type: "pki", Config: api.MountConfigInput{MaxLeaseTTL: "24h"}}); err != nil {
		t.Fatal(err)
	}
	f.v.write("pki/root/generate/internal", map[string]any{"common_name": "example.com", "ttl": "24h"})
	f.v.write("pki/roles/web", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "max_ttl": "2h"})
	g := vault.NewGenerator()
	t.Cleanup(func() { _ = g.Close(ctx) })
	issue := `{"common_name": "app.example.com", "ttl": "1h"}`
	pkiKeys := []string{"ca_chain", "certificate", "expiration", "issuing_ca", "private_key", "private_key_type", "serial_number"}

	tests := map[string]struct {
		method   string
		result   generators.VaultDynamicSecretResultType
		wantKeys []string
		// cert returns the PEM certificate and the CA chain.
		cert func(t *testing.T, values map[string][]byte) (cert, caChain string)
	}{
		"POST pki/issue returns the certificate, key and chain as ESO": {
			method: "POST", wantKeys: pkiKeys,
			cert: func(t *testing.T, v map[string][]byte) (string, string) {
				return string(v["certificate"]), string(v["ca_chain"])
			},
		},
		"the method is not case-sensitive, and PUT writes too": {
			method: "put", wantKeys: pkiKeys,
			cert: func(t *testing.T, v map[string][]byte) (string, string) {
				return string(v["certificate"]), string(v["ca_chain"])
			},
		},
		"Raw returns the whole response, data as JSON": {
			method: "POST", result: generators.VaultResultRaw,
			wantKeys: []string{"data", "lease_duration", "lease_id", "mount_type", "renewable", "request_id", "warnings"},
			cert: func(t *testing.T, v map[string][]byte) (string, string) {
				var data struct {
					Certificate string   `json:"certificate"`
					CAChain     []string `json:"ca_chain"`
				}
				if err := json.Unmarshal(v["data"], &data); err != nil {
					t.Fatalf("data is not JSON: %v", err)
				}
				chain, _ := json.Marshal(data.CAChain)
				return data.Certificate, string(chain)
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := dynamicSecret(f.provider(f.roleID), tc.method, "pki/issue/web", issue, tc.result)
			res, err := g.Generate(ctx, obj, f.creds, storeNamespace)
			noGenCanary(t, err)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if diff := cmp.Diff(tc.wantKeys, keys(res.Values)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			certPEM, chain := tc.cert(t, res.Values)
			block, _ := pem.Decode([]byte(certPEM))
			if block == nil {
				t.Fatalf("certificate is not PEM: %.40q", certPEM)
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if cert.Subject.CommonName != "app.example.com" {
				t.Errorf("common name %q", cert.Subject.CommonName)
			}
			var caChain []string
			if err := json.Unmarshal([]byte(chain), &caChain); err != nil || len(caChain) == 0 {
				t.Errorf("ca_chain is not a JSON array of certificates: %v", err)
			}
			if tc.result == "" {
				if string(res.Values["issuing_ca"]) != caChain[0] {
					t.Error("issuing_ca is not the first of ca_chain")
				}
				if got := string(res.Values["expiration"]); got != strconv.FormatInt(cert.NotAfter.Unix(), 10) {
					t.Errorf("expiration %s, certificate NotAfter %d", got, cert.NotAfter.Unix())
				}
			}
			// The certificate's lifetime: no lease, and not bound to the
			// generator's token.
			if !within(res.TTL, time.Hour, 10*time.Second) {
				t.Errorf("TTL %v, want about 1h", res.TTL)
			}
			if until := time.Until(cert.NotAfter); until-res.TTL > 5*time.Second || res.TTL-until > 5*time.Second {
				t.Errorf("TTL %v, certificate expires in %v", res.TTL, until)
			}
			if res.State != nil {
				t.Errorf("State %v, want none: a certificate without a lease has nothing to revoke", res.State)
			}
		})
	}
}

func TestGenerateDatabaseCredentials(t *testing.T) {
	pg := pgtest.Start(t)
	f := newGenFixture(t)
	ctx := context.Background()
	if err := f.v.Client.Sys().MountWithContext(ctx, "database", &api.MountInput{Type: "database"}); err != nil {
		t.Fatal(err)
	}
	f.v.write("database/config/pg", map[string]any{
		"plugin_name":    "postgresql-database-plugin",
		"connection_url": "postgresql://{{username}}:{{password}}@" + pg.Addr() + "/postgres?sslmode=disable",
		"username":       pgtest.Superuser,
		"password":       pg.Password,
		"allowed_roles":  "app",
	})
	f.v.write("database/roles/app", map[string]any{
		"db_name":             "pg",
		"creation_statements": []string{`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`},
		"default_ttl":         "30s",
		"max_ttl":             "1h",
	})
	// A role whose tokens live 20s: shorter than the credentials' lease.
	briefRoleID, _ := f.v.appRole("approle", "brief", map[string]any{
		"token_policies": "generator", "token_ttl": "20s", "token_max_ttl": "20s",
	})
	f.v.write("auth/approle/role/brief/custom-secret-id", map[string]any{"secret_id": genCanary})

	g := vault.NewGenerator()
	t.Cleanup(func() { _ = g.Close(ctx) })
	roleExists := func(t *testing.T, name string) bool {
		t.Helper()
		n, err := pg.Psql(ctx, pgtest.Superuser, pg.Password, "select count(*) from pg_roles where rolname = '"+name+"'")
		if err != nil {
			t.Fatal(err)
		}
		return n == "1"
	}

	tests := map[string]struct {
		roleID  string
		wantTTL time.Duration
		slack   time.Duration
	}{
		"the TTL is the lease's": {roleID: f.roleID, wantTTL: 30 * time.Second},
		"the TTL is capped at the life of the token that made the lease": {
			roleID: briefRoleID, wantTTL: 20 * time.Second, slack: 5 * time.Second,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := dynamicSecret(f.provider(tc.roleID), "", "database/creds/app", "", "")
			obj.UID = types.UID("uid-" + tc.roleID)
			res, err := g.Generate(ctx, obj, f.creds, storeNamespace)
			noGenCanary(t, err)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if diff := cmp.Diff([]string{"password", "username"}, keys(res.Values)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			user, password := string(res.Values["username"]), string(res.Values["password"])
			if got, err := pg.Psql(ctx, user, password, "select 1"); err != nil || got != "1" {
				t.Fatalf("log in to PostgreSQL with the generated credentials: %q, %v", got, err)
			}
			if !within(res.TTL, tc.wantTTL, tc.slack) {
				t.Errorf("TTL %v, want %v (less at most %v)", res.TTL, tc.wantTTL, tc.slack)
			}
			leaseID := res.State[vault.StateLeaseID]
			if !strings.HasPrefix(leaseID, "database/creds/app/") || len(res.State) != 1 {
				t.Fatalf("State %v, want a leaseID of database/creds/app", res.State)
			}
			if strings.Contains(leaseID, password) {
				t.Fatal("the State holds the password")
			}
			f.v.write("sys/leases/lookup", map[string]any{"lease_id": leaseID})

			if err := g.Revoke(ctx, obj, f.creds, storeNamespace, res.State); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if _, err := f.v.Client.Logical().WriteWithContext(ctx, "sys/leases/lookup", map[string]any{"lease_id": leaseID}); err == nil {
				t.Error("the lease is still there after Revoke")
			}
			if roleExists(t, user) {
				t.Errorf("PostgreSQL role %s still exists after Revoke", user)
			}
			// Revoking it again, as the engine may after a restart, is
			// not an error.
			if err := g.Revoke(ctx, obj, f.creds, storeNamespace, res.State); err != nil {
				t.Errorf("Revoke of a revoked lease: %v", err)
			}
		})
	}
}

func TestGenerateToken(t *testing.T) {
	f := newGenFixture(t)
	ctx := context.Background()
	g := vault.NewGenerator()
	t.Cleanup(func() { _ = g.Close(ctx) })
	create := `{"policies": ["default"], "ttl": "30m", "meta": {"team": "payments"}}`
	authKeys := []string{"accessor", "client_token", "entity_id", "identity_policies", "lease_duration", "metadata", "mfa_requirement", "orphan", "policies", "renewable", "token_policies"}

	tests := map[string]struct {
		path     string
		result   generators.VaultDynamicSecretResultType
		wantKeys []string
		token    func(t *testing.T, v map[string][]byte) string
		orphan   string
	}{
		"Auth returns the auth section of auth/token/create": {
			path: "auth/token/create", result: generators.VaultResultAuth, wantKeys: authKeys,
			token:  func(t *testing.T, v map[string][]byte) string { return string(v["client_token"]) },
			orphan: "false",
		},
		"an orphan token from auth/token/create-orphan": {
			path: "auth/token/create-orphan", result: generators.VaultResultAuth, wantKeys: authKeys,
			token:  func(t *testing.T, v map[string][]byte) string { return string(v["client_token"]) },
			orphan: "true",
		},
		"Raw holds the auth section as JSON": {
			path: "auth/token/create", result: generators.VaultResultRaw,
			wantKeys: []string{"auth", "data", "lease_duration", "lease_id", "mount_type", "renewable", "request_id", "warnings"},
			token: func(t *testing.T, v map[string][]byte) string {
				var a api.SecretAuth
				if err := json.Unmarshal(v["auth"], &a); err != nil {
					t.Fatalf("auth is not JSON: %v", err)
				}
				return a.ClientToken
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := dynamicSecret(f.provider(f.roleID), "POST", tc.path, create, tc.result)
			res, err := g.Generate(ctx, obj, f.creds, storeNamespace)
			noGenCanary(t, err)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if diff := cmp.Diff(tc.wantKeys, keys(res.Values)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if tc.orphan != "" {
				if got := string(res.Values["orphan"]); got != tc.orphan {
					t.Errorf("orphan %q, want %q", got, tc.orphan)
				}
				if got := string(res.Values["lease_duration"]); got != "1800" {
					t.Errorf("lease_duration %q, want 1800", got)
				}
				if got := string(res.Values["policies"]); got != `["default"]` {
					t.Errorf("policies %q, want JSON", got)
				}
				if got := string(res.Values["metadata"]); got != `{"team":"payments"}` {
					t.Errorf("metadata %q, want JSON", got)
				}
			}
			// The generator's own token lives an hour: 30m is less.
			if !within(res.TTL, 30*time.Minute, 5*time.Second) {
				t.Errorf("TTL %v, want 30m", res.TTL)
			}
			token := tc.token(t, res.Values)
			made, err := f.v.NewClient(token)
			if err != nil {
				t.Fatal(err)
			}
			self, err := made.Auth().Token().LookupSelfWithContext(ctx)
			if err != nil {
				t.Fatalf("the made token does not work: %v", err)
			}
			accessor, _ := self.Data["accessor"].(string)
			if diff := cmp.Diff(map[string]string{vault.StateAccessor: accessor}, res.State); diff != "" {
				t.Errorf("State (-want +got):\n%s", diff)
			}

			if err := g.Revoke(ctx, obj, f.creds, storeNamespace, res.State); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if _, err := made.Auth().Token().LookupSelfWithContext(ctx); err == nil {
				t.Error("the token still works after Revoke")
			}
			if err := g.Revoke(ctx, obj, f.creds, storeNamespace, res.State); err != nil {
				t.Errorf("Revoke of a revoked token: %v", err)
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	f := newGenFixture(t)
	ctx := context.Background()
	g := vault.NewGenerator()
	t.Cleanup(func() { _ = g.Close(ctx) })
	ok := f.provider(f.roleID)
	if err := f.v.Client.Sys().MountWithContext(ctx, "pki", &api.MountInput{Type: "pki"}); err != nil {
		t.Fatal(err)
	}
	f.v.write("pki/root/generate/internal", map[string]any{"common_name": "example.com", "ttl": "24h"})
	f.v.write("pki/roles/web", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true})
	f.v.write("kv1/app", map[string]any{"password": genCanary})
	withCanaryParam := `{"common_name": "` + genCanary + `.other.com", "password": "` + genCanary + `"}`

	tests := map[string]struct {
		obj     runtime.Object
		creds   provider.Credentials
		wantErr []string // the error holds each
		is      error
		// calls are the requests to path the audit log may show.
		path  string
		calls int
	}{
		"an unknown method is refused before any request": {
			obj:     dynamicSecret(ok, "FETCH", "pki/issue/web", withCanaryParam, ""),
			wantErr: []string{"VaultDynamicSecret/team/gen", "FETCH pki/issue/web", "spec.method"},
			path:    "pki/issue/web",
		},
		"an empty response without allowEmptyResponse": {
			obj:     dynamicSecret(ok, "POST", "kv1/written", withCanaryParam, ""),
			wantErr: []string{"POST kv1/written", "empty response", "allowEmptyResponse"},
			path:    "kv1/written", calls: 1,
		},
		"Auth of a response without auth": {
			obj:     dynamicSecret(ok, "GET", "kv1/app", "", generators.VaultResultAuth),
			wantErr: []string{"GET kv1/app", "no auth"},
			path:    "kv1/app", calls: 1,
		},
		"a failing path, whose message Vault fills with a parameter": {
			obj:     dynamicSecret(ok, "POST", "pki/issue/web", withCanaryParam, ""),
			wantErr: []string{"POST pki/issue/web", "vault responded 400", "common name [redacted] not allowed"},
			path:    "pki/issue/web", calls: 1,
		},
		"a path the policy denies": {
			obj:     dynamicSecret(ok, "GET", "sys/mounts", "", ""),
			wantErr: []string{"GET sys/mounts", "permission denied"},
			is:      vault.ErrPermissionDenied,
		},
		"a path that does not exist": {
			obj:     dynamicSecret(ok, "POST", "pki/issue/nope", withCanaryParam, ""),
			wantErr: []string{"POST pki/issue/nope"},
		},
		"parameters that are not an object": {
			obj:     dynamicSecret(ok, "POST", "pki/issue/web", `["`+genCanary+`"]`, ""),
			wantErr: []string{"spec.parameters: not a JSON object"},
		},
		"an unknown resultType": {
			obj:     dynamicSecret(ok, "GET", "kv1/app", "", "Everything"),
			wantErr: []string{"spec.resultType"},
		},
		"no path": {
			obj:     dynamicSecret(ok, "GET", "/", "", ""),
			wantErr: []string{"spec.path: required"},
		},
		"no provider": {
			obj:     dynamicSecret(nil, "GET", "kv1/app", "", ""),
			wantErr: []string{"spec.provider: required"},
		},
		"a provider without auth method": {
			obj:     dynamicSecret(&secretstore.VaultProvider{Server: f.v.Addr, Auth: &secretstore.VaultAuth{}}, "GET", "kv1/app", "", ""),
			wantErr: []string{"spec.provider.auth: set one auth method"},
		},
		"a missing credential names the generator's field": {
			obj:     dynamicSecret(ok, "GET", "kv1/app", "", ""),
			creds:   &creds{},
			wantErr: []string{"VaultDynamicSecret/team/gen: spec.provider.auth.appRole.secretRef", `key "secret-id" of Secret team/approle`},
			is:      provider.ErrNotFound,
		},
		"a wrong secret ID fails the login, named with the path": {
			obj:     dynamicSecret(ok, "GET", "kv1/app", "", ""),
			creds:   &creds{secrets: map[string]string{"team/approle/secret-id": "CANARY-wrong-" + genCanary}},
			wantErr: []string{"GET kv1/app", "appRole auth", "auth/approle/login"},
		},
		"another kind": {
			obj:     &generators.Password{},
			wantErr: []string{"*generators.Password"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := tc.creds
			if c == nil {
				c = f.creds
			}
			if o, ok := tc.obj.(*generators.VaultDynamicSecret); ok {
				o.UID = "" // a session each, so credentials are read each time
			}
			before := 0
			if tc.path != "" {
				before = f.v.responses(tc.path)
			}
			res, err := g.Generate(ctx, tc.obj, c, storeNamespace)
			if err == nil {
				t.Fatalf("Generate returned %v, want an error", keys(res.Values))
			}
			t.Logf("error: %v", err)
			noGenCanary(t, err)
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if tc.path != "" {
				if got := f.v.responses(tc.path) - before; got != tc.calls {
					t.Errorf("%d requests to %s, want %d", got, tc.path, tc.calls)
				}
			}
		})
	}

	t.Run("allowEmptyResponse accepts an empty response", func(t *testing.T) {
		obj := dynamicSecret(ok, "POST", "kv1/written", withCanaryParam, "")
		obj.Spec.AllowEmptyResponse = true
		res, err := g.Generate(ctx, obj, f.creds, storeNamespace)
		noGenCanary(t, err)
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		if len(res.Values) != 0 || res.TTL != 0 || res.State != nil {
			t.Errorf("Result %+v, want nothing", res)
		}
	})
	t.Run("a value that is not a string is JSON", func(t *testing.T) {
		f.v.write("kv1/typed", map[string]any{"n": 5432, "on": true, "none": nil, "list": []any{"a", 1}, "s": "text"})
		res, err := g.Generate(ctx, dynamicSecret(ok, "", "kv1/typed", "", ""), f.creds, storeNamespace)
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		got := map[string]string{}
		for k, v := range res.Values {
			got[k] = string(v)
		}
		want := map[string]string{"n": "5432", "on": "true", "none": "", "list": `["a",1]`, "s": "text"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("values (-want +got):\n%s", diff)
		}
		// KV v1 has no leases, but a lease_duration that tells readers
		// when to read again: the mount's default, 768h.
		if res.TTL != 768*time.Hour || res.State != nil {
			t.Errorf("a KV v1 read: TTL %v, State %v; want 768h and no State", res.TTL, res.State)
		}
	})
	t.Run("Revoke of an empty state calls nothing", func(t *testing.T) {
		if err := g.Revoke(ctx, dynamicSecret(nil, "", "", "", ""), nil, storeNamespace, nil); err != nil {
			t.Errorf("Revoke: %v", err)
		}
		if err := g.Revoke(ctx, &generators.UUID{}, nil, storeNamespace, map[string]string{"leaseID": "x"}); err == nil {
			t.Error("Revoke of another kind succeeded")
		}
	})
}

func TestGeneratorSessions(t *testing.T) {
	f := newGenFixture(t)
	ctx := context.Background()
	g := vault.NewGenerator()
	create := `{"policies": ["default"], "ttl": "1h"}`
	generate := func(t *testing.T, obj *generators.VaultDynamicSecret, c provider.Credentials) generator.Result {
		t.Helper()
		res, err := g.Generate(ctx, obj, c, storeNamespace)
		noGenCanary(t, err)
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		return res
	}
	obj := dynamicSecret(f.provider(f.roleID), "POST", "auth/token/create", create, generators.VaultResultAuth)

	first := generate(t, obj, f.creds)
	generate(t, obj, f.creds)
	if n := f.v.logins("approle"); n != 1 {
		t.Errorf("%d logins for two calls of one generation, want 1", n)
	}
	if n := len(generate(t, obj, f.creds).Values["client_token"]); n == 0 {
		t.Fatal("no token")
	}

	// A new generation logs in again. The replaced session's token is
	// not revoked: the tokens made with it, its children, live on.
	next := obj.DeepCopy()
	next.Generation = 2
	generate(t, next, f.creds)
	if n := f.v.logins("approle"); n != 2 {
		t.Errorf("%d logins after a new generation, want 2", n)
	}
	made, err := f.v.NewClient(string(first.Values["client_token"]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := made.Auth().Token().LookupSelfWithContext(ctx); err != nil {
		t.Errorf("a token made by the replaced session was revoked with it: %v", err)
	}
	// A call for the older generation, late, does not replace the newer
	// session.
	generate(t, obj, f.creds)
	generate(t, next, f.creds)
	if n := f.v.logins("approle"); n != 3 {
		t.Errorf("%d logins, want 3: one for the late call, none for the newer generation", n)
	}

	// A rotated credential logs in again, with the new one.
	rotated := "CANARY-rotated-" + genCanary
	f.v.write("auth/approle/role/gen/custom-secret-id", map[string]any{"secret_id": rotated})
	generate(t, next, &creds{secrets: map[string]string{"team/approle/secret-id": rotated}})
	if n := f.v.logins("approle"); n != 4 {
		t.Errorf("%d logins after a rotated secret ID, want 4", n)
	}

	// Another namespace reads its own credentials: another session.
	if _, err := g.Generate(ctx, next, f.creds, "other"); err == nil || !strings.Contains(err.Error(), "Secret other/approle") {
		t.Errorf("Generate from namespace other: %v, want the Secret of other read", err)
	}

	// Without a UID nothing is kept: a login each call.
	anon := next.DeepCopy()
	anon.UID = ""
	generate(t, anon, f.creds)
	generate(t, anon, f.creds)
	if n := f.v.logins("approle"); n != 6 {
		t.Errorf("%d logins, want 6: one each for two calls without a UID", n)
	}

	if err := g.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := made.Auth().Token().LookupSelfWithContext(ctx); err != nil {
		t.Errorf("Close revoked a made token: %v", err)
	}
	// Still usable, with new sessions.
	generate(t, next, f.creds)
	if n := f.v.logins("approle"); n != 7 {
		t.Errorf("%d logins after Close, want 7", n)
	}
	_ = g.Close(ctx)
}

// The generator logs in as Vault stores do, over TLS, with each auth
// method; the values it makes are bound to the token it logged in with,
// so their TTL is capped at that token's.
func TestGeneratorAuthMethods(t *testing.T) {
	v := startVault(t, vaulttest.Options{TLS: true})
	v.policy("generator", generatorPolicy)
	// A static token of five minutes: shorter than the tokens it makes.
	static := v.write("auth/token/create", map[string]any{"policies": []string{"generator"}, "ttl": "5m"}).Auth.ClientToken
	tokenParams := map[string]any{"token_policies": "generator", "token_ttl": "1h"}
	v.enableAuth("approle", "approle")
	roleID, secretID := v.appRole("approle", "gen", tokenParams)
	v.enableAuth("userpass", "userpass")
	v.write("auth/userpass/users/alice", map[string]any{"password": genCanary, "token_policies": "generator", "token_ttl": "1h"})
	caPEM, certPEM, keyPEM := clientCertificate(t)
	v.enableAuth("cert", "cert")
	v.write("auth/cert/certs/gen", map[string]any{"certificate": string(caPEM), "token_policies": "generator", "token_ttl": "1h"})
	c := &creds{secrets: map[string]string{
		"team/vault-token/token":   static,
		"team/approle/role-id":     roleID,
		"team/approle/secret-id":   secretID,
		"team/alice/password":      genCanary,
		"team/client-cert/tls.crt": string(certPEM),
		"team/client-cert/tls.key": string(keyPEM),
	}}

	tests := map[string]struct {
		auth    secretstore.VaultAuth
		mount   string // whose logins are counted; none for a static token
		wantTTL time.Duration
	}{
		"tokenSecretRef, whose expiry is looked up": {
			auth: secretstore.VaultAuth{TokenSecretRef: ptr(sel("vault-token", "token"))}, wantTTL: 5 * time.Minute,
		},
		"appRole with roleRef": {
			auth:  secretstore.VaultAuth{AppRole: &secretstore.VaultAppRole{Path: "approle", RoleRef: ptr(sel("approle", "role-id")), SecretRef: sel("approle", "secret-id")}},
			mount: "approle", wantTTL: 30 * time.Minute,
		},
		"userPass": {
			auth:  secretstore.VaultAuth{UserPass: &secretstore.VaultUserPassAuth{Path: "userpass", Username: "alice", SecretRef: sel("alice", "password")}},
			mount: "userpass", wantTTL: 30 * time.Minute,
		},
		"cert": {
			auth:  secretstore.VaultAuth{Cert: &secretstore.VaultCertAuth{ClientCert: sel("client-cert", "tls.crt"), SecretRef: sel("client-cert", "tls.key"), VaultRole: "gen"}},
			mount: "cert", wantTTL: 30 * time.Minute,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			g := vault.NewGenerator()
			t.Cleanup(func() { _ = g.Close(ctx) })
			before := 0
			if tc.mount != "" {
				before = v.logins(tc.mount)
			}
			p := &secretstore.VaultProvider{Server: v.Addr, CABundle: v.CACert, Auth: &tc.auth}
			obj := dynamicSecret(p, "POST", "auth/token/create", `{"policies": ["default"], "ttl": "30m"}`, generators.VaultResultAuth)
			for i := 0; i < 3; i++ {
				res, err := g.Generate(ctx, obj, c, storeNamespace)
				noGenCanary(t, err)
				if err != nil {
					t.Fatalf("Generate %d: %v", i, err)
				}
				if len(res.Values["client_token"]) == 0 || res.State[vault.StateAccessor] == "" {
					t.Fatalf("Generate %d: keys %v, State %v", i, keys(res.Values), res.State)
				}
				if !within(res.TTL, tc.wantTTL, 10*time.Second) {
					t.Errorf("Generate %d: TTL %v, want %v", i, res.TTL, tc.wantTTL)
				}
			}
			if tc.mount != "" {
				if got := v.logins(tc.mount) - before; got != 1 {
					t.Errorf("3 calls made %d logins at auth/%s, want 1", got, tc.mount)
				}
			}
		})
	}
}

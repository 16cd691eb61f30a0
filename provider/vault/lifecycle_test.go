package vault_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretsync/secretsync/internal/vaulttest"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/vault"
	"github.com/secretsync/secretsync/secretstore"
)

// appRoleServer starts Vault with kv/app/db readable by an AppRole whose
// tokens get roleParams, and returns the store spec and credentials that
// log in with it.
func appRoleServer(t *testing.T, roleParams map[string]any) (*vaultServer, secretstore.VaultProvider, *creds) {
	v := startVault(t, vaulttest.Options{})
	v.mountKV("kv", "2")
	v.putV2("kv", "app/db", map[string]any{"user": "admin", "password": canary})
	v.putV2("kv", "private/db", map[string]any{"password": canary})
	v.policy("read", `path "kv/data/app/*" { capabilities = ["read"] }`)
	v.enableAuth("approle", "approle")
	params := map[string]any{"token_policies": "read"}
	for k, val := range roleParams {
		params[k] = val
	}
	roleID, secretID := v.appRole("approle", "app", params)
	spec := secretstore.VaultProvider{Server: v.Addr, Path: ptr("kv"), Auth: &secretstore.VaultAuth{
		AppRole: &secretstore.VaultAppRole{Path: "approle", RoleID: roleID, SecretRef: sel("approle", "secret-id")},
	}}
	return v, spec, &creds{secrets: map[string]string{"team/approle/secret-id": secretID}}
}

func mustRead(t *testing.T, c provider.Client) {
	t.Helper()
	got, err := readValue(context.Background(), c, provider.Ref{Key: "app/db"}, "user")
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(got) != "admin" {
		t.Fatalf("read %q, want admin", got)
	}
}

// One client serves 100 reconciles with one login; ESO's way, a client per
// reconcile, logs in 100 times. The audit log counts what reached Vault.
// The p50 latency of a read through the provider is logged.
func TestTokenReuse(t *testing.T) {
	v, spec, c := appRoleServer(t, map[string]any{"token_ttl": "1h"})
	ctx := context.Background()
	const reconciles = 100

	client := newClient(t, store(spec), c)
	took := make([]time.Duration, 0, reconciles)
	for i := 0; i < reconciles; i++ {
		start := time.Now()
		mustRead(t, client)
		took = append(took, time.Since(start))
	}
	logins := v.logins("approle")
	if logins != 1 {
		t.Errorf("%d reconciles through one client made %d logins, want 1", reconciles, logins)
	}
	if got := v.count("read", "kv/data/app/db"); got != reconciles {
		t.Errorf("the audit log has %d reads, want %d", got, reconciles)
	}
	first := took[0]
	slices.Sort(took)
	t.Logf("logins per %d reconciles: %d; read latency p50 %v, p90 %v; the first read, with the login, %v",
		reconciles, logins, took[len(took)/2], took[len(took)*9/10], first)

	for i := 0; i < reconciles; i++ {
		perReconcile := newClient(t, store(spec), c)
		mustRead(t, perReconcile)
		if err := perReconcile.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := v.logins("approle") - logins; got != reconciles {
		t.Errorf("%d clients made %d logins, want %d", reconciles, got, reconciles)
	}
}

// Reads that start together on a new client wait for one login.
func TestConcurrentReadsShareOneLogin(t *testing.T) {
	v, spec, c := appRoleServer(t, map[string]any{"token_ttl": "1h"})
	client := newClient(t, store(spec), c)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				if _, err := client.GetSecret(context.Background(), provider.Ref{Key: "app/db"}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := v.logins("approle"); got != 1 {
		t.Errorf("100 concurrent reads made %d logins, want 1", got)
	}
}

// BenchmarkGetSecret measures a read through the provider with a token
// already in hand.
func BenchmarkGetSecret(b *testing.B) {
	v := startVault(b, vaulttest.Options{})
	v.putV2("secret", "app/db", map[string]any{"user": "admin"})
	c := &creds{secrets: map[string]string{"team/vault-token/token": v.RootToken}}
	client := newClient(b, store(secretstore.VaultProvider{Server: v.Addr, Path: ptr("secret"),
		Auth: &secretstore.VaultAuth{TokenSecretRef: ptr(sel("vault-token", "token"))}}), c)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := client.GetSecret(ctx, provider.Ref{Key: "app/db"}); err != nil {
			b.Fatal(err)
		}
	}
}

// A token is renewed in the background before it expires, so reads go on
// past its first TTL with no second login.
func TestRenewal(t *testing.T) {
	t.Parallel() // it sleeps through token TTLs
	v, spec, c := appRoleServer(t, map[string]any{"token_ttl": "3s", "token_max_ttl": "1h"})
	client := newClient(t, store(spec), c)
	mustRead(t, client)
	// Renewals come at 2s, 4s, 6s; the token would have expired at 3s.
	time.Sleep(7 * time.Second)
	mustRead(t, client)
	if got := v.logins("approle"); got != 1 {
		t.Errorf("logins = %d, want 1", got)
	}
	if got := v.count("update", "auth/token/renew-self"); got < 2 {
		t.Errorf("renewals = %d, want at least 2", got)
	}
}

// A token that reached its max TTL cannot be renewed further: the next
// read logs in again.
func TestReloginAfterMaxTTL(t *testing.T) {
	t.Parallel() // it sleeps through token TTLs
	v, spec, c := appRoleServer(t, map[string]any{"token_ttl": "2s", "token_max_ttl": "3s"})
	client := newClient(t, store(spec), c)
	mustRead(t, client)
	time.Sleep(4 * time.Second)
	mustRead(t, client)
	if got := v.logins("approle"); got != 2 {
		t.Errorf("logins = %d, want 2", got)
	}
}

// A token Vault no longer accepts (here revoked by an operator) makes the
// read fail with permission denied once; the client checks its token, logs
// in again and the read succeeds.
func TestReloginAfterRevocation(t *testing.T) {
	v, spec, c := appRoleServer(t, map[string]any{"token_ttl": "1h"})
	client := newClient(t, store(spec), c)
	mustRead(t, client)
	v.revokeAll()
	mustRead(t, client)
	mustRead(t, client)
	if got := v.logins("approle"); got != 2 {
		t.Errorf("logins = %d, want 2", got)
	}
}

// A renewal that fails leaves the client to log in on the next read.
func TestReloginAfterFailedRenewal(t *testing.T) {
	t.Parallel() // it sleeps through token TTLs
	v, spec, c := appRoleServer(t, map[string]any{"token_ttl": "3s", "token_max_ttl": "1h"})
	client := newClient(t, store(spec), c)
	mustRead(t, client)
	v.revokeAll()
	lookups := v.responses("auth/token/lookup-self")
	time.Sleep(2500 * time.Millisecond) // past the renewal at 2s, which fails
	mustRead(t, client)
	if got := v.logins("approle"); got != 2 {
		t.Errorf("logins = %d, want 2", got)
	}
	// The failed renewal, not a denied read, sent the client to log in:
	// it never had to ask Vault whether its token was still good.
	if got := v.responses("auth/token/lookup-self") - lookups; got != 0 {
		t.Errorf("lookups = %d, want 0", got)
	}
}

// A path the token's policies deny is permission denied, and is not
// mistaken for a token Vault rejected: no second login.
func TestPermissionDenied(t *testing.T) {
	v, spec, c := appRoleServer(t, map[string]any{"token_ttl": "1h"})
	client := newClient(t, store(spec), c)
	for i := 0; i < 3; i++ {
		_, err := client.GetSecret(context.Background(), provider.Ref{Key: "private/db"})
		noCanary(t, err)
		if !errors.Is(err, vault.ErrPermissionDenied) {
			t.Fatalf("err = %v, want permission denied", err)
		}
		if errors.Is(err, provider.ErrNotFound) {
			t.Errorf("permission denied also reads as not found: %v", err)
		}
		if !strings.Contains(err.Error(), "kv/data/private/db") {
			t.Errorf("error %q does not name the path", err)
		}
	}
	if got := v.logins("approle"); got != 1 {
		t.Errorf("logins = %d, want 1", got)
	}
}

// Close revokes a token the client obtained, and leaves a static one.
func TestClose(t *testing.T) {
	v, spec, c := appRoleServer(t, map[string]any{"token_ttl": "1h"})
	ctx := context.Background()

	client := newClient(t, store(spec), c)
	mustRead(t, client)
	if got := len(v.liveTokens()); got != 1 {
		t.Fatalf("live tokens before Close = %d, want 1", got)
	}
	if err := client.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := v.liveTokens(); len(got) != 0 {
		t.Errorf("live tokens after Close = %v, want none", got)
	}
	if _, err := client.GetSecret(ctx, provider.Ref{Key: "app/db"}); !errors.Is(err, vault.ErrClosed) {
		t.Errorf("GetSecret after Close: err = %v, want ErrClosed", err)
	}
	if err := client.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}

	static := v.write("auth/token/create", map[string]any{"policies": []string{"read"}, "ttl": "1h"}).Auth.ClientToken
	c.secrets["team/vault-token/token"] = static
	spec.Auth = &secretstore.VaultAuth{TokenSecretRef: ptr(sel("vault-token", "token"))}
	tokenClient := newClient(t, store(spec), c)
	mustRead(t, tokenClient)
	if err := tokenClient.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := v.Client.Auth().Token().LookupWithContext(ctx, static); err != nil {
		t.Errorf("the static token was revoked: %v", err)
	}
}

// Validate looks the token up and reads no secret.
func TestValidate(t *testing.T) {
	v, spec, c := appRoleServer(t, map[string]any{"token_ttl": "1h"})
	client := newClient(t, store(spec), c)
	if err := client.Validate(context.Background()); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if got := v.count("", "auth/token/lookup-self"); got != 1 {
		t.Errorf("lookups = %d, want 1", got)
	}
	if got := v.count("read", "kv/"); got != 0 {
		t.Errorf("Validate read %d secrets", got)
	}

	c.secrets["team/approle/secret-id"] = canary
	bad := newClient(t, store(spec), c)
	err := bad.Validate(context.Background())
	noCanary(t, err)
	if err == nil || !strings.Contains(err.Error(), "invalid role or secret ID") {
		t.Errorf("Validate with a wrong secret ID = %v", err)
	}
}

func TestSealed(t *testing.T) {
	v, spec, c := appRoleServer(t, map[string]any{"token_ttl": "1h"})
	ctx := context.Background()
	client := newClient(t, store(spec), c)
	mustRead(t, client)
	if err := v.Client.Sys().SealWithContext(ctx); err != nil {
		t.Fatalf("seal: %v", err)
	}
	_, err := client.GetSecret(ctx, provider.Ref{Key: "app/db"})
	noCanary(t, err)
	if !errors.Is(err, vault.ErrSealed) {
		t.Errorf("GetSecret: err = %v, want sealed", err)
	}
	err = client.Validate(ctx)
	if !errors.Is(err, vault.ErrSealed) {
		t.Errorf("Validate: err = %v, want sealed", err)
	}
	t.Logf("sealed: %v", err)
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := &creds{secrets: map[string]string{"team/approle/secret-id": canary}}
	spec := secretstore.VaultProvider{Server: "http://" + addr, Path: ptr("kv"), Auth: &secretstore.VaultAuth{
		AppRole: &secretstore.VaultAppRole{RoleID: "r", SecretRef: sel("approle", "secret-id")},
	}}
	client := newClient(t, store(spec), c)
	_, err = client.GetSecret(context.Background(), provider.Ref{Key: "app/db"})
	noCanary(t, err)
	if !errors.Is(err, vault.ErrUnreachable) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v, want unreachable, connection refused", err)
	}
	t.Logf("unreachable: %v", err)
}

// Every failure a test here provokes with the canary in play, in one place:
// no error string carries it.
func TestNoSecretInErrors(t *testing.T) {
	v, spec, c := appRoleServer(t, map[string]any{"token_ttl": "1h"})
	ctx := context.Background()
	v.enableAuth("userpass", "userpass")
	v.write("auth/userpass/users/alice", map[string]any{"password": "right", "token_policies": "read"})
	c.secrets["team/alice/password"] = canary
	c.secrets["team/bad-cert/tls.crt"] = canary
	c.secrets["team/bad-cert/tls.key"] = canary

	client := newClient(t, store(spec), c)
	var errs []error
	collect := func(_ any, err error) { errs = append(errs, err) }
	collect(readValue(ctx, client, provider.Ref{Key: "app/db"}, "missing"))
	collect(readValue(ctx, client, provider.Ref{Key: "app/db"}, "password.deeper"))
	collect(readValue(ctx, client, provider.Ref{Key: "private/db"}, "password"))
	collect(client.Find(ctx, provider.Find{Name: "("}))

	wrongPassword := spec
	wrongPassword.Auth = &secretstore.VaultAuth{UserPass: &secretstore.VaultUserPassAuth{Username: "alice", SecretRef: sel("alice", "password")}}
	collect(newClient(t, store(wrongPassword), c).GetSecret(ctx, provider.Ref{Key: "app/db"}))

	badCert := spec
	badCert.Auth = &secretstore.VaultAuth{Cert: &secretstore.VaultCertAuth{ClientCert: sel("bad-cert", "tls.crt"), SecretRef: sel("bad-cert", "tls.key")}}
	collect(vault.New().NewClient(ctx, store(badCert), c))

	if err := v.Client.Sys().SealWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	collect(readValue(ctx, client, provider.Ref{Key: "app/db"}, "password"))

	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: no error", i)
			continue
		}
		noCanary(t, err)
		t.Logf("case %d: %v", i, err)
	}
}

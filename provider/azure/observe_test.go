package azure_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/azure"
	"github.com/secretsync/secretsync/secretstore"
)

// callLog records the Calls a client observes.
type callLog struct {
	mu    sync.Mutex
	calls []azure.Call
}

func (l *callLog) observe(c azure.Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

func (l *callLog) get() []azure.Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

var (
	token     = azure.Call{Service: "Entra ID", Operation: "Token", Attempts: 1}
	getSecret = azure.Call{Service: "Key Vault", Operation: "GetSecret", Attempts: 1}
)

func TestCallObserver(t *testing.T) {
	wrongSecret := func(a *secretstore.AzureKVProvider) { a.AuthSecretRef.ClientSecret.Name = "wrong" }
	managedIdentity := func(a *secretstore.AzureKVProvider) {
		mi := secretstore.AzureManagedIdentity
		a.AuthType, a.AuthSecretRef, a.TenantID = &mi, nil, nil
	}
	readAll := func(keys ...string) func(*testing.T, provider.Client) {
		return func(t *testing.T, c provider.Client) {
			for _, k := range keys {
				read(c, provider.Ref{Key: k}, "") // errors are observed
			}
		}
	}
	tests := map[string]struct {
		mod  func(*secretstore.AzureKVProvider)
		do   func(*testing.T, provider.Client)
		want []azure.Call
		imds bool // needs the Instance Metadata Service
	}{
		"a Call per read, and one token for them all": {
			do: readAll("db", "cert/tls", "key/signing", "db", "secret/db"),
			want: []azure.Call{token, getSecret,
				{Service: "Key Vault", Operation: "GetCertificate", Attempts: 1},
				{Service: "Key Vault", Operation: "GetKey", Attempts: 1},
				getSecret, getSecret},
		},
		"Validate requests the token the reads use": {
			do: func(t *testing.T, c provider.Client) {
				if err := c.(provider.Validator).Validate(context.Background()); err != nil {
					t.Fatal(err)
				}
				readAll("db", "db")(t, c)
			},
			want: []azure.Call{token, getSecret, getSecret},
		},
		"concurrent reads": {
			do: func(t *testing.T, c provider.Client) {
				var wg sync.WaitGroup
				for range 20 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						readAll("db")(t, c)
					}()
				}
				wg.Wait()
			},
			want: func() []azure.Call {
				want := []azure.Call{token}
				for range 20 {
					want = append(want, getSecret)
				}
				return want
			}(),
		},
		"a missing secret is not found": {
			do:   readAll("nope", "cert/nope"),
			want: []azure.Call{token, {Service: "Key Vault", Operation: "GetSecret", Attempts: 1, Err: provider.ErrNotFound}, {Service: "Key Vault", Operation: "GetCertificate", Attempts: 1, Err: provider.ErrNotFound}},
		},
		"a Call per list page, and per secret read": {
			do: func(t *testing.T, c provider.Client) {
				if _, err := c.(provider.Finder).Find(context.Background(), provider.Find{Name: "^app-"}); err != nil {
					t.Fatal(err)
				}
			},
			// app-1, app-2 | app-3, db | tls, 2 a page.
			want: []azure.Call{token, {Service: "Key Vault", Operation: "ListSecretProperties", Attempts: 1}, getSecret, getSecret,
				{Service: "Key Vault", Operation: "ListSecretProperties", Attempts: 1}, getSecret,
				{Service: "Key Vault", Operation: "ListSecretProperties", Attempts: 1}},
		},
		"a token Entra ID refuses": {
			mod: wrongSecret,
			do:  readAll("db", "db"),
			// The challenge is answered once, by the first read.
			want: []azure.Call{{Service: "Entra ID", Operation: "Token", Attempts: 1, Err: cmpopts.AnyError},
				{Service: "Key Vault", Operation: "GetSecret", Err: cmpopts.AnyError},
				{Service: "Entra ID", Operation: "Token", Attempts: 1, Err: cmpopts.AnyError},
				{Service: "Key Vault", Operation: "GetSecret", Err: cmpopts.AnyError}},
		},
		"a managed identity's token": {
			mod:  managedIdentity,
			do:   readAll("db", "db"),
			want: []azure.Call{{Service: "Managed Identity", Operation: "Token", Attempts: 1}, getSecret, getSecret},
			imds: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if tc.imds {
				for _, v := range []string{"IDENTITY_ENDPOINT", "MSI_ENDPOINT"} {
					if _, ok := os.LookupEnv(v); ok {
						t.Skipf("%s is set: azidentity would use that host's managed identity", v)
					}
				}
			}
			h := newHarness(t)
			h.emu.SetSystemAssignedIdentity("aaaaaaaa-0000-0000-0000-000000000001")
			h.creds.SetSecret(namespace, "wrong", "client-secret", "wrong-"+canary)
			for _, n := range []string{"db", "app-1", "app-2", "app-3"} {
				h.emu.SetSecret(n, canary)
			}
			_, _, bundle := newCertificate(t, "tls.example")
			if _, err := h.emu.ImportCertificate("tls", bundle); err != nil {
				t.Fatal(err)
			}
			signing, _, _ := newCertificate(t, "signing.example")
			if _, err := h.emu.ImportKey("signing", signing.PublicKey); err != nil {
				t.Fatal(err)
			}
			h.emu.SetPageSize(2)
			var log callLog
			c := h.client(tc.mod, azure.WithCallObserver(log.observe))

			tc.do(t, c)
			got := log.get()
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("observed calls (-want +got):\n%s", diff)
			}
			for i, call := range got {
				if call.Err == nil {
					continue
				}
				if i < len(tc.want) && errors.Is(call.Err, provider.ErrNotFound) != (tc.want[i].Err == provider.ErrNotFound) {
					t.Errorf("%s %s: errors.Is(%v, provider.ErrNotFound) = %v", call.Service, call.Operation, call.Err, !(tc.want[i].Err == provider.ErrNotFound))
				}
				if strings.Contains(call.Err.Error(), canary) {
					t.Errorf("%s %s: the error carries a value or credential: %v", call.Service, call.Operation, call.Err)
				}
				var (
					resp *azcore.ResponseError
					auth *azidentity.AuthenticationFailedError
				)
				if errors.As(call.Err, &resp) || errors.As(call.Err, &auth) {
					t.Errorf("%s %s: the error wraps the SDK's, whose response holds the request's credential", call.Service, call.Operation)
				}
			}
		})
	}
}

// Observing a client changes none of its requests: tokens are still
// cached, and the challenge answered once.
func TestCallObserverAddsNoRequests(t *testing.T) {
	counts := map[bool]map[string]int{}
	for _, observed := range []bool{false, true} {
		h := newHarness(t)
		h.emu.SetSecret("db", "v")
		var opts []azure.Option
		if observed {
			opts = append(opts, azure.WithCallObserver(func(azure.Call) {}))
		}
		c := h.client(nil, opts...)
		for range 3 {
			if _, err := read(c, provider.Ref{Key: "db"}, ""); err != nil {
				t.Fatal(err)
			}
		}
		counts[observed] = h.emu.CallCounts()
	}
	if diff := cmp.Diff(counts[false], counts[true]); diff != "" {
		t.Errorf("requests (-unobserved +observed):\n%s", diff)
	}
}

package vault_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/vault"
	"github.com/secretsync/secretsync/secretstore"
)

// Example reads a property of a KV v2 secret with a token kept in a
// Kubernetes Secret. So that it runs anywhere, an HTTP server that speaks
// the one KV v2 read it needs stands in for Vault; the package's tests run
// a real Vault server.
func Example() {
	vaultServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("X-Vault-Token") != "hvs.example":
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"errors":["permission denied"]}`)
		case r.URL.Path == "/v1/kv/data/app/db":
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{
				"data":     map[string]any{"user": "admin", "password": "hunter2"},
				"metadata": map[string]any{"version": 3},
			}})
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errors":[]}`)
		}
	}))
	defer vaultServer.Close()

	kvMount := "kv"
	store := &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "vault"},
		Spec: secretstore.Spec{Provider: &secretstore.Provider{Vault: &secretstore.VaultProvider{
			Server: vaultServer.URL,
			Path:   &kvMount,
			Auth: &secretstore.VaultAuth{
				TokenSecretRef: &secretstore.SecretKeySelector{Name: "vault-token", Key: "token"},
			},
		}}},
	}
	creds := exampleCredentials{"team/vault-token/token": "hvs.example"}

	ctx := context.Background()
	client, err := vault.New().NewClient(ctx, store, creds)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.(provider.Closer).Close(ctx)

	secret, err := client.GetSecret(ctx, provider.Ref{Key: "app/db"})
	if err != nil {
		fmt.Println(err)
		return
	}
	user, err := secret.Property("user")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("user:", string(user))

	_, err = client.GetSecret(ctx, provider.Ref{Key: "app/gone"})
	fmt.Println("not found:", errors.Is(err, provider.ErrNotFound))
	// Output:
	// user: admin
	// not found: true
}

// ExampleNewGenerator registers the VaultDynamicSecret generator, as an
// operator does in its main, and makes database credentials with it. An
// HTTP server that answers the one read stands in for Vault here; the
// package's tests run a real Vault and PostgreSQL.
func ExampleNewGenerator() {
	vaultServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Vault-Token") != "hvs.example" || r.URL.Path != "/v1/database/creds/app" {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"errors":["permission denied"]}`)
			return
		}
		fmt.Fprint(w, `{"lease_id": "database/creds/app/Qx3", "lease_duration": 3600, "renewable": true,
			"data": {"username": "v-app-Qx3", "password": "example-password"}}`)
	}))
	defer vaultServer.Close()

	gens := vault.NewGenerator()
	defer gens.Close(context.Background())
	registry, err := generator.NewRegistry(gens)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("kinds:", registry.Kinds())

	dbCreds := &generators.VaultDynamicSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "db", UID: "db-uid", Generation: 1},
		Spec: generators.VaultDynamicSecretSpec{
			Path: "database/creds/app",
			Provider: &secretstore.VaultProvider{
				Server: vaultServer.URL,
				Auth: &secretstore.VaultAuth{
					TokenSecretRef: &secretstore.SecretKeySelector{Name: "vault-token", Key: "token"},
				},
			},
		},
	}
	g, err := registry.For(generators.KindVaultDynamicSecret)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The engine passes the ExternalSecret's namespace, where the token
	// Secret is read.
	res, err := g.Generate(context.Background(), dbCreds, exampleCredentials{"team/vault-token/token": "hvs.example"}, "team")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("username:", string(res.Values["username"]))
	fmt.Println("ttl:", res.TTL)
	fmt.Println("state:", res.State)
	// Output:
	// kinds: [VaultDynamicSecret]
	// username: v-app-Qx3
	// ttl: 1h0m0s
	// state: map[leaseID:database/creds/app/Qx3]
}

// exampleCredentials serves Secret keys from a map keyed
// "namespace/name/key"; a controller reads them from the cluster.
type exampleCredentials map[string]string

func (c exampleCredentials) SecretValue(_ context.Context, namespace, name, key string) ([]byte, error) {
	v, ok := c[namespace+"/"+name+"/"+key]
	if !ok {
		return nil, provider.ErrNotFound
	}
	return []byte(v), nil
}

func (c exampleCredentials) ConfigMapValue(context.Context, string, string, string) ([]byte, error) {
	return nil, provider.ErrNotFound
}

func (c exampleCredentials) ServiceAccountToken(context.Context, string, string, []string, time.Duration) (string, error) {
	return "", errors.New("no ServiceAccounts here")
}

package fake_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

// Tests program a Memory, change values while they run, and count reads.
func ExampleMemory() {
	mem := fake.NewMemory()
	mem.Set("db", []byte(`{"password":"v1"}`))
	store := &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"},
		Spec:       secretstore.Spec{Provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{}}},
	}
	client, _ := mem.Provider().NewClient(context.Background(), store, nil)

	read := func() string {
		s, err := client.GetSecret(context.Background(), provider.Ref{Key: "db"})
		if err != nil {
			return err.Error()
		}
		v, _ := s.Property("password")
		return string(v)
	}
	fmt.Println(read())
	mem.Set("db", []byte(`{"password":"v2"}`))
	fmt.Println(read())
	fmt.Println(mem.Calls("db"), "reads")
	// Output:
	// v1
	// v2
	// 2 reads
}

// A provider under test reads its credentials from memory: a Secret key,
// and tokens from a function standing in for the TokenRequest API.
func ExampleCredentials() {
	var creds fake.Credentials
	creds.SetSecret("team-a", "vault-token", "token", "s.123")
	creds.SetToken(func(_ context.Context, namespace, name string, audiences []string, _ time.Duration) (string, error) {
		return "jwt-for-" + namespace + "/" + name, nil
	})
	ctx := context.Background()

	v, err := creds.SecretValue(ctx, "team-a", "vault-token", "token")
	fmt.Println(string(v), err)
	_, err = creds.SecretValue(ctx, "team-b", "vault-token", "token")
	fmt.Println(errors.Is(err, provider.ErrNotFound), err)
	tok, _ := creds.ServiceAccountToken(ctx, "team-a", "reader", []string{"vault"}, time.Hour)
	fmt.Println(tok, creds.TokenRequests(), creds.LastAudiences())
	// Output:
	// s.123 <nil>
	// true Secret team-b/vault-token key token: not found
	// jwt-for-team-a/reader 1 [vault]
}

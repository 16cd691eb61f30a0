package provider_test

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

// A host registers the providers it serves and builds clients for stores.
func Example() {
	reg, err := provider.NewRegistry(fake.New())
	if err != nil {
		panic(err)
	}
	store := &secretstore.ClusterSecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "dev"},
		Spec: secretstore.Spec{Provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{
			Data: []secretstore.FakeProviderData{{Key: "api", Value: `{"token":"t0k3n","nested":{"id":7}}`}},
		}}},
	}
	p, err := reg.ForStore(store)
	if err != nil {
		panic(err)
	}
	client, err := p.NewClient(context.Background(), store, nil)
	if err != nil {
		panic(err)
	}
	secret, err := client.GetSecret(context.Background(), provider.Ref{Key: "api"})
	if err != nil {
		panic(err)
	}
	id, _ := secret.Property("nested.id")
	fmt.Println(string(id))

	_, err = client.GetSecret(context.Background(), provider.Ref{Key: "missing"})
	fmt.Println(errors.Is(err, provider.ErrNotFound))

	_, err = provider.NewRegistry(fake.New(), fake.New())
	fmt.Println(err)
	// Output:
	// 7
	// true
	// register provider: "fake" is already registered
}

package fake_test

import (
	"context"
	"fmt"

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

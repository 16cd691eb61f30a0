package secretstore_test

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/secretstore"
)

// GenericStore hides whether a store is namespaced or cluster-wide.
func ExampleGenericStore() {
	stores := []secretstore.GenericStore{
		&secretstore.SecretStore{
			ObjectMeta: metav1.ObjectMeta{Name: "team", Namespace: "a"},
			Spec:       secretstore.Spec{Provider: &secretstore.Provider{Vault: &secretstore.VaultProvider{Server: "https://vault:8200"}}},
		},
		&secretstore.ClusterSecretStore{
			ObjectMeta: metav1.ObjectMeta{Name: "shared"},
			Spec:       secretstore.Spec{Provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{}}},
		},
	}
	for _, s := range stores {
		name, _ := secretstore.ProviderName(s.StoreSpec())
		fmt.Println(secretstore.Ref(s), name)
	}
	// Output:
	// SecretStore/a/team vault
	// ClusterSecretStore/shared fake
}

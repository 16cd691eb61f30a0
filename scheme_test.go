package secretsync_test

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretsync/secretsync"
	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/secretstore"
)

// One call registers the whole external-secrets.io group, each Go type
// under one version, as controller-runtime requires.
func ExampleAddToScheme() {
	scheme := runtime.NewScheme()
	if err := secretsync.AddToScheme(scheme); err != nil {
		panic(err)
	}
	for _, obj := range []runtime.Object{&externalsecret.ExternalSecret{}, &secretstore.SecretStore{}, &secretstore.ClusterSecretStore{}} {
		gvks, _, err := scheme.ObjectKinds(obj)
		fmt.Println(gvks, err)
	}
	// Output:
	// [external-secrets.io/v1, Kind=ExternalSecret] <nil>
	// [external-secrets.io/v1, Kind=SecretStore] <nil>
	// [external-secrets.io/v1, Kind=ClusterSecretStore] <nil>
}

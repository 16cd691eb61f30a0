package secretsync_test

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretsync/secretsync"
)

// One call registers the whole external-secrets.io group.
func ExampleAddToScheme() {
	scheme := runtime.NewScheme()
	if err := secretsync.AddToScheme(scheme); err != nil {
		panic(err)
	}
	for _, gv := range secretsync.GroupVersions {
		for _, kind := range []string{"ExternalSecret", "SecretStore", "ClusterSecretStore"} {
			fmt.Println(gv.WithKind(kind), scheme.Recognizes(gv.WithKind(kind)))
		}
	}
	// Output:
	// external-secrets.io/v1, Kind=ExternalSecret true
	// external-secrets.io/v1, Kind=SecretStore true
	// external-secrets.io/v1, Kind=ClusterSecretStore true
	// external-secrets.io/v1beta1, Kind=ExternalSecret true
	// external-secrets.io/v1beta1, Kind=SecretStore true
	// external-secrets.io/v1beta1, Kind=ClusterSecretStore true
}

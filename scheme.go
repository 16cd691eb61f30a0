package secretsync

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/pushsecret"
	"github.com/secretsync/secretsync/secretstore"
)

// GroupVersion is the version of external-secrets.io the Go types are
// registered under: v1, the storage version. The apiserver also serves
// v1beta1 with the same schema, for manifests written for it; a client
// needs only v1, and registering one Go type under two versions makes
// controller-runtime refuse to pick one.
var GroupVersion = externalsecret.SchemeGroupVersion

var (
	// SchemeBuilder registers every kind of the external-secrets.io group.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds ExternalSecret, ClusterExternalSecret, SecretStore,
	// ClusterSecretStore and their lists to a scheme, under
	// external-secrets.io/v1, and PushSecret under v1alpha1, the one
	// version it is served at, and the generators of
	// generators.external-secrets.io/v1alpha1.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, externalsecret.KnownTypes()...)
	scheme.AddKnownTypes(GroupVersion, secretstore.KnownTypes()...)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	scheme.AddKnownTypes(pushsecret.SchemeGroupVersion, pushsecret.KnownTypes()...)
	metav1.AddToGroupVersion(scheme, pushsecret.SchemeGroupVersion)
	scheme.AddKnownTypes(generators.SchemeGroupVersion, generators.KnownTypes()...)
	metav1.AddToGroupVersion(scheme, generators.SchemeGroupVersion)
	return nil
}

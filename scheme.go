package secretsync

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/secretstore"
)

// GroupVersions are the versions of external-secrets.io served: v1, the
// storage version, and v1beta1, with the same schema.
var GroupVersions = []schema.GroupVersion{externalsecret.SchemeGroupVersion, externalsecret.V1beta1}

var (
	// SchemeBuilder registers every kind of the external-secrets.io group.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds ExternalSecret, SecretStore, ClusterSecretStore and
	// their lists to a scheme, under v1 and v1beta1.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	for _, gv := range GroupVersions {
		scheme.AddKnownTypes(gv, externalsecret.KnownTypes()...)
		scheme.AddKnownTypes(gv, secretstore.KnownTypes()...)
		metav1.AddToGroupVersion(scheme, gv)
	}
	return nil
}

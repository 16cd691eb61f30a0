package secretstore

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Group is the API group shared with the External Secrets Operator.
const Group = "external-secrets.io"

// Kinds of store.
const (
	KindSecretStore        = "SecretStore"
	KindClusterSecretStore = "ClusterSecretStore"
)

var (
	// SchemeGroupVersion is the storage version, external-secrets.io/v1.
	SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: "v1"}
	// V1beta1 is the older version served with the same schema.
	V1beta1 = schema.GroupVersion{Group: Group, Version: "v1beta1"}

	// SchemeBuilder registers the types of this package.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the store types to a scheme, under v1 and v1beta1.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	for _, gv := range []schema.GroupVersion{SchemeGroupVersion, V1beta1} {
		scheme.AddKnownTypes(gv,
			&SecretStore{}, &SecretStoreList{},
			&ClusterSecretStore{}, &ClusterSecretStoreList{},
		)
		metav1.AddToGroupVersion(scheme, gv)
	}
	return nil
}

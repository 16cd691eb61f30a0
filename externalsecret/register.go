package externalsecret

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Group is the API group shared with the External Secrets Operator.
const Group = "external-secrets.io"

// Kind is the kind of an ExternalSecret.
const Kind = "ExternalSecret"

var (
	// SchemeGroupVersion is the storage version, external-secrets.io/v1.
	SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: "v1"}
	// V1beta1 is the older version served with the same schema.
	V1beta1 = schema.GroupVersion{Group: Group, Version: "v1beta1"}
)

// KnownTypes are the types of this package a scheme registers. The module's root package registers the whole
// external-secrets.io group in one call: secretsync.AddToScheme.
func KnownTypes() []runtime.Object {
	return []runtime.Object{&ExternalSecret{}, &ExternalSecretList{}, &ClusterExternalSecret{}, &ClusterExternalSecretList{}}
}

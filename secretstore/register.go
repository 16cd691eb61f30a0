package secretstore

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/secretsync/secretsync/externalsecret"
)

// Group is the API group shared with the External Secrets Operator, the
// group of ExternalSecrets too.
const Group = externalsecret.Group

// Kinds of store.
const (
	KindSecretStore        = "SecretStore"
	KindClusterSecretStore = "ClusterSecretStore"
)

// KnownTypes are the types of this package a scheme registers. The module's root package registers the whole
// external-secrets.io group in one call: secretsync.AddToScheme.
func KnownTypes() []runtime.Object {
	return []runtime.Object{&SecretStore{}, &SecretStoreList{}, &ClusterSecretStore{}, &ClusterSecretStoreList{}}
}

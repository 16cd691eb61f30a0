// Package secretstore holds the SecretStore and ClusterSecretStore API types
// of the external-secrets.io group, schema-compatible with the External
// Secrets Operator's v1 (and v1beta1) stores, and the provider specs they
// carry.
//
// A store says how to reach one external secret store: which provider, where,
// and with which credentials. [GenericStore] hides the difference between the
// namespaced [SecretStore] and the cluster-wide [ClusterSecretStore], so code
// that reads a store does not care which kind it is.
//
// +kubebuilder:object:generate=true
// +groupName=external-secrets.io
// +versionName=v1
package secretstore

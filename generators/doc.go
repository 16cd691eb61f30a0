// Package generators holds the generator API types of the
// generators.external-secrets.io group at v1alpha1, schema-compatible
// with the External Secrets Operator's, so its manifests decode here
// unchanged.
//
// A generator makes values instead of reading them: a password, a UUID,
// short-lived credentials from Vault or a registry token. An
// ExternalSecret uses one with data[].sourceRef.generatorRef or
// dataFrom[].sourceRef.generatorRef. The generator package is the
// contract implementations serve; the engine keeps what they generate in
// the cluster, renews it before it expires and revokes it when it is
// replaced or its ExternalSecret goes.
//
// +kubebuilder:object:generate=true
// +groupName=generators.external-secrets.io
// +versionName=v1alpha1
package generators

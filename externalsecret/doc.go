// Package externalsecret holds the ExternalSecret API type of the
// external-secrets.io group, schema-compatible with the External Secrets
// Operator's v1 (and v1beta1) ExternalSecret, so manifests written for that
// operator decode here unchanged.
//
// An [ExternalSecret] says what to read from a store and how to shape the
// Kubernetes Secret that holds it. Deciding what to do with one is the job of
// package reconcile; this package only describes the data and offers small
// accessors that apply the documented defaults, such as
// [ExternalSecret.RefreshInterval] and [ExternalSecret.TargetName].
//
// +kubebuilder:object:generate=true
// +groupName=external-secrets.io
// +versionName=v1
package externalsecret

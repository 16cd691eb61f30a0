// Package pushsecret holds the PushSecret API type of the
// external-secrets.io group at v1alpha1, schema-compatible with the
// External Secrets Operator's, so its manifests decode here unchanged.
//
// A [PushSecret] writes the values of a Kubernetes Secret in its own
// namespace into external stores: the reverse of an ExternalSecret. The
// engine package carries it out ([github.com/secretsync/secretsync/engine.Engine.Push]);
// a store can be written when its provider's client is a
// [github.com/secretsync/secretsync/provider.Pusher].
//
// +kubebuilder:object:generate=true
// +groupName=external-secrets.io
// +versionName=v1alpha1
package pushsecret

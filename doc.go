// Package secretsync syncs values from external secret stores into
// Kubernetes Secrets, from the SecretStore, ClusterSecretStore and
// ExternalSecret manifests written for the External Secrets Operator.
//
// This package registers those kinds with a [k8s.io/apimachinery/pkg/runtime.Scheme]: the whole
// external-secrets.io group in one call to [AddToScheme]. The work is done by its subpackages:
//
//   - [github.com/secretsync/secretsync/engine] syncs one ExternalSecret
//     end to end: the package an operator embeds.
//   - [github.com/secretsync/secretsync/reconcile] is the pure decision
//     and the fetch under it.
//   - [github.com/secretsync/secretsync/provider] is the contract each
//     store implements, one package per store below it.
//   - [github.com/secretsync/secretsync/externalsecret] and
//     [github.com/secretsync/secretsync/secretstore] are the API types.
//   - [github.com/secretsync/secretsync/template] renders target.template.
//   - [github.com/secretsync/secretsync/rollout] hashes what a pod template
//     reads from Secrets, and [github.com/secretsync/secretsync/rollout/controller]
//     restarts the pods that read a Secret that changed.
package secretsync

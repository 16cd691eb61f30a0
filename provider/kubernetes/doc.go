// Package kubernetes is the "kubernetes" store: the Secrets of one namespace
// of a Kubernetes cluster, the local one or another, configured by
// spec.provider.kubernetes of a SecretStore or ClusterSecretStore with the
// External Secrets Operator's schema. It copies Secrets across namespaces
// and clusters.
//
// Keys mean what they mean in ESO. A key is the name of a Secret in
// spec.provider.kubernetes.remoteNamespace ("default" when empty). A
// reference without a property reads the Secret's data as one JSON object
// of strings; a property is a key of the data, or, when no key has that
// name, a key followed by a dotted path into the JSON that key holds
// ("config.db.user"). dataFrom.extract copies every key of a Secret as it
// is. metadataPolicy Fetch reads {"labels": {...}, "annotations": {...}}
// instead of the data, and a property then names "labels",
// "annotations.<name>" and so on. dataFrom.find lists the namespace, with
// find.tags as a label selector, and keeps the Secrets whose names match
// find.name; each match reads as its data's JSON object. Unlike ESO, which
// ignores find.name when find.tags is set, both must match when both are
// set. Secrets have no versions and find has no paths: a reference that
// names either is an error, not ignored.
//
// # Whose identity reads
//
// A client reads only as the credentials its store names, never as the
// controller: whether a store may read remoteNamespace is for the target
// apiserver's RBAC to decide, against those credentials. Exactly one of
// these is set, and a store with none is an error:
//
//   - auth.serviceAccount: a token for that ServiceAccount from the
//     TokenRequest API, through [provider.ServiceAccountToken], so a
//     SecretStore can only name a ServiceAccount of its own namespace.
//     The token is requested when the client is built and reused until
//     four fifths of its hour have passed, or until the apiserver rejects
//     it; never once per read.
//   - auth.token.bearerToken: a bearer token kept in a Secret.
//   - auth.cert: a client certificate and key kept in Secrets.
//   - authRef: a kubeconfig kept in a Secret. Its current context must
//     carry its credentials inline: a kubeconfig that names a file (which
//     would be read from the controller's own file system, where its own
//     token lives), an exec plugin or an auth provider is refused.
//
// The server is spec.provider.kubernetes.server.url. When that is empty or
// names the local cluster as a pod would ("kubernetes.default",
// "https://kubernetes.default.svc" and the like), the client talks to the
// cluster given to [WithLocalCluster], of which only the address and what
// is needed to trust it are kept, never its credentials. server.caBundle
// and server.caProvider (a Secret or a ConfigMap such as kube-root-ca.crt,
// read with the namespace rules of [provider.CredentialNamespace]) replace
// the CA to trust.
//
// # Errors
//
// A missing Secret, key or property wraps [provider.ErrNotFound]. A 403
// wraps [ErrPermissionDenied] and keeps the apiserver's message, which
// names the user and the namespace; a 401 wraps [ErrUnauthorized]. Errors
// name Secrets and keys, never a value or a credential. [Client.Validate]
// asks the apiserver, with a SelfSubjectAccessReview, whether the store's
// credentials may get Secrets in remoteNamespace, and reads no Secret. ESO
// asks with a SelfSubjectRulesReview first, which some authorizers cannot
// answer in full; an access review asks exactly the question.
//
// # PushSecret
//
// [Client.PushSecret] writes, as the store's credentials too, the Secret
// named by the remote key in remoteNamespace, as ESO does: with a
// property the value becomes that key of the data and the other keys are
// kept; without, the value must be a JSON object of strings and becomes
// the whole data. A Secret that does not exist is created, of type
// Opaque; one that exists keeps its type. Writes carry a field manager
// ([DefaultFieldManager] unless [WithFieldManager]) and a conflict is
// retried from a fresh read. Like ESO, the client adds no labels of its
// own. [Client.DeleteSecret] deletes the Secret or, with a property, that
// key, and the Secret when no key is left. The credentials need get,
// create, update and delete on Secrets of remoteNamespace.
//
// data[].metadata is ESO's PushSecretMetadata (apiVersion
// kubernetes.external-secrets.io/v1alpha1): spec.labels and
// spec.annotations are written to the Secret, merged with those it has
// by spec.targetMergePolicy (Merge, the default; Replace; Ignore). The
// host passes values, not the source Secret, so unlike ESO no labels or
// annotations of the source Secret are copied and spec.sourceMergePolicy
// changes nothing. spec.remoteNamespace may only name the store's own
// remoteNamespace: the host reads a pushed Secret back through the store
// to compare, and could not read one written elsewhere. Any other field
// is an error that names it.
package kubernetes

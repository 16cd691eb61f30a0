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
// The package does not write Secrets (ESO's PushSecret).
package kubernetes

// Package gcp is the "gcpsm" store: Google Cloud Secret Manager, read with
// the cloud.google.com/go/secretmanager client over gRPC, configured by the
// spec.provider.gcpsm field of a SecretStore, schema-compatible with the
// External Secrets Operator's.
//
// Credentials come from auth.secretRef (a service-account JSON key, whose
// signed assertions are exchanged at Google's OAuth 2.0 token endpoint),
// from auth.workloadIdentity, or, with neither, from Application Default
// Credentials. Workload identity is GKE's, done without the metadata
// server, as the External Secrets Operator does it: a token for the
// ServiceAccount from the TokenRequest API, with the audience
// CLUSTER_PROJECT.svc.id.goog, is exchanged at STS for a federated access
// token; when the ServiceAccount is annotated with
// iam.gke.io/gcp-service-account, that token then impersonates the Google
// service account named, through IAM Credentials' generateAccessToken.
// The cluster's project, location and name come from the spec, or from
// the GCE metadata server when it leaves them out.
// auth.workloadIdentityFederation exchanges, at STS with its audience, a
// token of serviceAccountRef (requested for that audience), a signed AWS
// request made with the keys of awsSecurityCredentials, or what credConfig's
// external account configuration names by URL; a configuration that
// reads a file or runs a program on the controller is refused. A client opens one
// gRPC connection and builds one token source; tokens are cached and
// refreshed shortly before they expire.
//
// Reads: AccessSecretVersion of the secret ID ref.Key, at a version
// number, an alias or "latest" (the default), in projects/PROJECT or,
// with spec.location, in projects/PROJECT/locations/LOCATION through the
// regional endpoint secretmanager.LOCATION.rep.googleapis.com. Values
// are bytes; properties are JSON paths. A disabled or destroyed "latest"
// fails, unless secretVersionSelectionPolicy is LatestOrFetch, which
// then reads the newest ENABLED version. metadataPolicy Fetch reads the
// secret's labels and annotations as {"labels": {...}, "annotations":
// {...}}. dataFrom.find lists with ListSecrets, a filter on the ID
// prefix and the labels, and checks IDs, the name regexp and labels
// again before reading each match; results are keyed by secret ID.
// Payload checksums (data_crc32c) are verified.
//
// Writes, for PushSecret (the client is a [provider.Pusher]), follow the
// External Secrets Operator: a missing secret is created (CreateSecret)
// with the label managed-by: external-secrets and automatic replication,
// then written with AddSecretVersion; an existing one is written only if
// it carries that label, except when a property is pushed into it. A
// property is set in the latest version's JSON object, as a new version.
// spec.data[].metadata, of apiVersion
// kubernetes.external-secrets.io/v1alpha1 and kind PushSecretMetadata,
// sets labels, annotations (both replaced, or with mergePolicy Merge
// added to), Pub/Sub topics, and at creation cmekKeyName and
// replicationLocation(s). Labels, annotations and topics are changed
// with UpdateSecret, guarded by the secret's etag; a version is added
// only when the value differs from the latest. DeleteSecret deletes the
// secret, or adds a version without the property, and deletes nothing
// that lacks the label.
//
// A missing secret or version is [provider.ErrNotFound]. Other errors
// carry the method, the gRPC code and Google's message, which names the
// resource, never a value. Failures to get an access token are reported
// as Unauthenticated and are not retried; Unavailable and
// ResourceExhausted are retried by the client library, or as bounded by
// [WithRetry].
//
// [WithCallObserver] reports each operation, for metrics, as a [Call]:
// each Secret Manager call (AccessSecretVersion, GetSecret, each page
// of ListSecrets and ListSecretVersions, and the writes) once its retries end, with the
// attempts it took and how many were refused with RESOURCE_EXHAUSTED; and
// each token request, which is not retried: "Token" at the OAuth 2.0
// token endpoint, STS's "ExchangeToken" and IAM Credentials'
// "GenerateAccessToken", where HTTP 429 counts as throttled. A Call
// carries the method and the provider's error, never a value, a token or
// a request body. Reads of the GCE metadata server and of ServiceAccount
// tokens from the TokenRequest API are not reported.
//
// [WithEndpoint], [WithGRPCDialOptions], [WithTokenURL],
// [WithSTSEndpoint] and [WithIAMCredentialsEndpoint] point the provider
// at emulators such as internal/gcpemu; without them it talks to Google
// Cloud. Tests against internal/gcpemu do not prove:
//
//   - TLS, the regional endpoints' DNS names, or anything of Google's
//     front ends; the emulator is reached over plaintext, where the client
//     library sends its bearer tokens all the same.
//   - IAM. The emulator denies what a test tells it to; the roles a real
//     store needs (roles/secretmanager.secretAccessor, and
//     secretmanager.secrets.list for dataFrom.find), conditions and
//     organisation policies are not evaluated.
//   - That Google's STS takes the GKE audience
//     identitynamespace:POOL:PROVIDER for the cluster as configured, or
//     the real shape of its errors; the emulator follows the documented
//     RFC 8693 exchange and verifies token signatures, audiences and
//     expiry against a trusted issuer key.
//   - The full filter language of ListSecrets; the emulator knows
//     name:, labels.KEY=, labels.KEY: and AND, which is what the provider
//     sends.
//   - Consistency, quotas and latency of the real service.
package gcp

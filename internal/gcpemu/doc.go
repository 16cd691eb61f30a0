// Package gcpemu is an emulator of the parts of Google Cloud Secret
// Manager, and of the token services in front of it, that secretsync
// reads, for tests. The real cloud.google.com/go/secretmanager client
// talks to it over gRPC: dial [Server.Addr] with option.WithEndpoint and
// [Server.DialOptions] (plaintext transport), and either
// option.WithoutAuthentication or an access token the server issued; the
// client library sends bearer tokens over plaintext too.
//
// The gRPC service implements secretmanagerpb.SecretManagerServiceServer:
// AccessSecretVersion (by number, alias or "latest", with data_crc32c),
// GetSecret, GetSecretVersion, ListSecrets and ListSecretVersions (page
// sizes, page tokens bound to their request, and the filters name:,
// name=, labels.KEY=, labels.KEY:, labels.KEY:* and state:, joined by
// spaces or AND), and the writes CreateSecret (labels, annotations,
// topics, replication or a regional secret's customer-managed
// encryption; ALREADY_EXISTS for an existing secret), UpdateSecret
// (update_mask labels, annotations, topics, version_aliases and a
// regional secret's customer_managed_encryption; replication is
// immutable), AddSecretVersion, Disable/Enable/DestroySecretVersion and
// DeleteSecret. UpdateSecret and DeleteSecret honour the request's etag:
// a stale one fails with FAILED_PRECONDITION, as in Secret Manager.
// Global secrets live under projects/P, regional ones under
// projects/P/locations/L; responses name projects by number, as GCP does.
// Errors have Secret Manager's codes and messages: NotFound for missing
// secrets and versions, FailedPrecondition "... is in DISABLED state."
// for unusable versions, PermissionDenied naming the permission,
// Unauthenticated for missing or unknown tokens once
// [Server.RequireAuthentication] is on.
//
// The HTTP listener at [Server.URL] serves the token endpoints:
//
//   - STS (POST /v1/token): the RFC 8693 token exchange of GKE workload
//     identity, grant_type urn:ietf:params:oauth:grant-type:token-exchange,
//     subject_token_type urn:ietf:params:oauth:token-type:jwt, audience
//     identitynamespace:POOL:PROVIDER of a [WorkloadPool]. The subject
//     token must be an RS256 JWT signed by the pool's issuer, whose key a
//     test trusts with [Server.TrustIssuer] or [Server.TrustIssuerPEM]
//     (such as a kube-apiserver's sa.pub), unexpired, with the pool in
//     its audience. Form and JSON bodies are accepted. With the audience
//     of a workload identity federation provider
//     ([Server.AddFederationProvider]), the subject token is checked
//     against that provider's issuer and allowed audiences instead, and
//     becomes a principal://iam.googleapis.com/POOL/subject/SUBJECT.
//     AWS subject tokens (signed GetCallerIdentity requests) are not
//     accepted: federation from AWS is not emulated.
//   - OAuth 2.0 (POST /token): the jwt-bearer grant of service-account
//     keys made by [Server.NewServiceAccountKey], verified against the
//     key's public half.
//   - IAM Credentials (POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken):
//     impersonation, allowed by [Server.AllowImpersonation]; and
//     EMAIL:signJwt, for the same callers, signing the payload with the
//     account's Google-managed key, whose public half [Server.SystemKey]
//     gives.
//   - The GCE metadata server (GET /computeMetadata/v1/...), with the
//     Metadata-Flavor header, for values set with [Server.SetMetadata];
//     point GCE_METADATA_HOST at [Server.MetadataHost].
//
// Tests arrange state with [Server.PutSecret], [Server.SetLabels],
// [Server.SetVersionState] and the like, inject faults with
// [Server.FailNext], [Server.Deny], [Server.SetLatency] and
// [Server.CorruptPayloads], and assert on [Server.Secret], [Server.Latest],
// [Server.Calls], [Server.Callers], [Server.Requests] and
// [Server.Authorities].
//
// What it cannot prove, compared with Google Cloud:
//
//   - IAM. Calls are allowed unless a test denies a method; roles,
//     conditions, resource-level bindings, VPC Service Controls and
//     organisation policies are not evaluated. Impersonation is a list of
//     members per service account.
//   - Google's STS and OAuth endpoints as they are: which audiences they
//     accept for a real cluster, token formats, the exact error texts,
//     clock skew allowances, and the identitybindingtoken endpoint. The
//     emulator implements the documented request shapes and verifies
//     signatures, issuers, audiences and expiry.
//   - Transport. There is no TLS, no ALTS or mTLS, no DirectPath; regional
//     endpoints are not told apart, except through the :authority
//     [Server.Authorities] records.
//   - The filter language in full: OR, NOT, negation, comparisons,
//     create_time, and the exact matching rules of ":" are not modelled.
//     ListSecrets orders by ID; GCP's order is unspecified.
//   - Limits and quotas: payload sizes, request rates, label rules, and
//     RESOURCE_EXHAUSTED happen only when injected.
//   - Consistency: every write is visible at once.
//   - Replication, CMEK and Pub/Sub topics beyond their shape: policies
//     and key names are stored and returned as given, a global secret
//     created without a replication policy reads as automatic, and
//     neither the KMS keys nor the topics (or the service agent's right
//     to use them) are checked.
//   - Everything else: rotation and expiration schedules, delayed
//     destruction, version etags, and the IAM policy methods.
package gcpemu

// Package aws is the "aws" store: AWS Secrets Manager and Systems Manager
// Parameter Store, read with aws-sdk-go-v2, configured by the
// spec.provider.aws field of a SecretStore, schema-compatible with the
// External Secrets Operator's.
//
// Credentials come from auth.secretRef (static keys, with an optional
// session token), from auth.jwt (IRSA: a ServiceAccount token from the
// TokenRequest API exchanged with AssumeRoleWithWebIdentity), or, with
// neither, from the SDK's default chain. spec.additionalRoles and then
// spec.role are assumed on top, role with externalID and sessionTags, and
// with the tags of sessionTagsPolicy (esoNamespace, esoStoreName,
// esoStoreKind, and customSessionTags with Custom; refused on a
// ClusterSecretStore, whose one session cannot name each ExternalSecret's
// namespace as ESO's do). A client builds its SDK clients and this chain
// once; each step caches its credentials and refreshes them a minute
// before they expire.
//
// Reads, for Secrets Manager: GetSecretValue by name or ARN, the version a
// VersionStage or "uuid/" and a VersionId; SecretString or SecretBinary,
// properties as JSON paths; metadataPolicy Fetch reads the tags as a JSON
// object; dataFrom.find lists with ListSecrets and reads with
// BatchGetSecretValue. For Parameter Store: GetParameter with decryption,
// the version "name:version"; dataFrom.find with GetParametersByPath, or
// DescribeParameters and GetParameters when it names tags. spec.prefix is
// prepended to every key and find path, and find results are named
// relative to it.
//
// Clients are [provider.Pusher]s, for PushSecret, with the entry metadata
// of the External Secrets Operator (kind PushSecretMetadata). Secrets
// Manager: CreateSecret, or PutSecretValue after DescribeSecret, with
// secretPushFormat (binary by default, or string), kmsKeyID, description,
// tags and resourcePolicy (a policy document read from a ConfigMap or
// Secret of the store's namespace; without it the secret's policy is
// never touched, neither read nor deleted); DeleteSecret honours
// spec.secretsManager's recoveryWindowInDays or forceDeleteWithoutRecovery.
// Parameter Store: PutParameter with secretType, kmsKeyID, tier, its
// policies, description and tags, and DeleteParameter. A property is
// merged into, or removed from, the remote JSON object. Both tag what they
// create managed-by: external-secrets, as ESO does, and neither
// overwrites nor deletes what lacks that tag ([ErrNotManaged]). Tags a
// push no longer sets are removed, but only those an earlier push set,
// which it records in the tag secretsync.io/pushed-tags; tags others add
// stay.
//
// Concurrent reads of one client are merged into BatchGetSecretValue (20
// secrets) or GetParameters (10 parameters) calls when the client is busy;
// see [WithoutBatching]. Throttling is retried with jittered exponential
// backoff, bounded by [WithRetry], and reported to [WithCallObserver].
//
// A missing secret, version or parameter, and a secret scheduled for
// deletion, are [provider.ErrNotFound]. Other errors carry AWS's code and
// message, never a value.
//
// The package also serves two generators of generators.external-secrets.io
// with the same credential chain: [ECRGenerator] (ECRAuthorizationToken, a
// docker login from ECR's or ECR Public's GetAuthorizationToken) and
// [STSGenerator] (STSSessionToken, an IAM user's temporary credentials
// from GetSessionToken, with MFA). Their tokens cannot be revoked: they
// report the tokens' lifetimes as TTLs and keep no state.
//
// Endpoints follow the SDK's rules, including the AWS_ENDPOINT_URL
// environment variables; [WithEndpoint] and [WithHTTPClient] override
// them, for emulators such as internal/awsemu.
package aws

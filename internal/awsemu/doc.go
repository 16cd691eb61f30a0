// Package awsemu is a wire-level emulator of the parts of AWS Secrets
// Manager, Systems Manager Parameter Store, STS, Amazon ECR and Amazon ECR
// Public that secretsync reads, writes and generates from, for tests and
// benchmarks. The real aws-sdk-go-v2 clients
// talk to it over HTTP: point them at [Server.URL] with a BaseEndpoint (or
// the standard AWS_ENDPOINT_URL environment variable) and sign with the
// keys the server knows.
//
// It speaks the protocols the SDK speaks: AWS JSON 1.1 (X-Amz-Target) for
// Secrets Manager, SSM, ECR and ECR Public, the query protocol with XML
// responses for STS.
// Every request must carry a valid Signature Version 4 whose credential scope
// names the server's region and the right service; unknown access keys,
// bad signatures, expired session tokens and unsigned requests are refused
// with the error codes AWS uses. Errors have AWS's shapes: a JSON
// {"__type": ..., "message": ...} body, or an STS ErrorResponse document.
//
// Operations:
//
//   - Secrets Manager: GetSecretValue (by name, ARN or partial ARN; by
//     VersionStage or VersionId), BatchGetSecretValue (SecretIdList of at
//     most 20, or Filters with pagination), ListSecrets (name, tag-key,
//     tag-value and description filters, negation, pagination) and
//     DescribeSecret (with KmsKeyId and DeletedDate); and, for PushSecret
//     and for suites that seed their own data, CreateSecret and
//     PutSecretValue (a ClientRequestToken is the VersionId, and a repeat
//     with the same value is idempotent), UpdateSecret (description, key,
//     value), TagResource, UntagResource, DeleteSecret
//     (RecoveryWindowInDays from 7 to 30, default 30, or
//     ForceDeleteWithoutRecovery, which does not report a missing secret;
//     a secret scheduled for deletion refuses reads and writes, and its
//     name, with InvalidRequestException), RestoreSecret, and
//     GetResourcePolicy, PutResourcePolicy and DeleteResourcePolicy.
//   - SSM: GetParameter (WithDecryption, String, StringList and
//     SecureString, "name:version" and "name:label" selectors),
//     GetParameters (at most 10 names), GetParametersByPath (recursive or
//     not, MaxResults, pagination), DescribeParameters (tag and path
//     filters) and ListTagsForResource; and PutParameter (Type, Tier,
//     Description, KeyId, Policies; Tags only without Overwrite, as AWS
//     requires; an overwrite keeps what it does not name),
//     AddTagsToResource, RemoveTagsFromResource and DeleteParameter.
//   - STS: AssumeRole (trust by caller, ExternalId, session tags),
//     AssumeRoleWithWebIdentity (an RS256 JWT verified against a trusted
//     issuer's public key, its aud, exp and nbf, and the role's trusted
//     subject), GetCallerIdentity, and GetSessionToken (DurationSeconds
//     from 900 to 129600, 12 hours by default; an MFA SerialNumber and
//     TokenCode checked as RFC 6238 codes of a device registered with
//     [Server.AddMFADevice], each code accepted once; refused, as on AWS,
//     to session credentials, and, as on AWS, governed by no IAM policy, so
//     [Server.Deny] does not apply to it).
//   - ECR: GetAuthorizationToken (registryIds of 12 digits, at most 10;
//     one token per registry, the account's by default; a base64
//     "AWS:password" token, expiresAt and proxyEndpoint), signed for
//     service "ecr".
//   - ECR Public: GetAuthorizationToken, signed for service "ecr-public",
//     which also needs sts:GetServiceBearerToken, as on AWS.
//
// Temporary credentials live as long as asked, or as
// [Server.SetSessionDuration] says; ECR tokens 12 hours, or as
// [Server.SetECRTokenLifetime] says. [Server.ECRTokens] and
// [Server.Sessions] list what was issued.
//
// Tests usually arrange state with helpers: [Server.PutSecret]
// (which moves AWSCURRENT to AWSPREVIOUS like PutSecretValue),
// [Server.PutParameter], [Server.AddRole], [Server.TrustIssuer],
// [Server.AddMFADevice], [Server.Deny]. They inject faults with [Server.Throttle] and
// [Server.SetLatency], and assert on [Server.Calls], [Server.Secret] and
// [Server.Parameter]. SDK clients should
// use [Server.Client], which works around an SDK quirk that otherwise
// makes a fast local server see spurious retries.
//
// What it cannot prove, compared with real AWS:
//
//   - Registries. An ECR token is not accepted anywhere: there is no
//     registry to docker login to, and its password is random text in the
//     outline of ECR's (base64 JSON), not an envelope AWS could decrypt.
//     ECR Public is served in the server's region, where AWS serves it
//     only in us-east-1.
//   - MFA. Only virtual (TOTP) devices, with a seed the server makes; no
//     hardware or FIDO keys, no resynchronisation, and no MFA context in
//     the credentials (no policy could require it anyway). The root
//     user's one-hour GetSessionToken limit is not modelled.
//   - IAM policy evaluation. Access is allowed unless a test calls
//     [Server.Deny]; resource policies, conditions, permission boundaries,
//     SCPs and the sts:TagSession permission are not modelled. Role trust
//     is a list of principals, an external ID and a web identity subject.
//   - KMS. SecureString values are "encrypted" only in the sense that
//     reading them without decryption returns an opaque string; there are
//     no keys, grants or DecryptionFailure errors. A KmsKeyId or KeyId is
//     stored as given, never checked.
//   - Resource policies. PutResourcePolicy checks that the policy is a
//     JSON object; it does not validate statements or evaluate
//     BlockPublicPolicy, and the policy grants or denies nothing.
//   - Real limits and throttling. Throttling happens only when injected;
//     request rates, payload sizes and most input constraints are not
//     enforced, apart from the documented batch sizes (20 for
//     BatchGetSecretValue, 10 for GetParameters and GetParametersByPath).
//   - Consistency. Every write is visible at once; AWS is eventually
//     consistent across endpoints, and a rotated secret can briefly read
//     its old value.
//   - Ordering and tokens. ListSecrets sorts by name and page tokens are
//     opaque offsets; AWS orders differently and its tokens expire.
//   - Endpoints and networking. One HTTP server serves every service and
//     region check; there is no TLS, DNS, FIPS or dual-stack endpoint, and
//     an unknown region is detected only through the signature scope.
//   - Tag rules. Tag keys and values are not checked against AWS's
//     character set, lengths, the 50-tag limit or the reserved "aws:"
//     prefix.
//   - Everything else: rotation Lambdas, replication, the end of a
//     recovery window (a scheduled deletion never completes), parameter
//     policies (stored, neither validated nor enforced), the rules of
//     changing a parameter's tier, the Intelligent-Tiering tier and
//     CloudTrail.
package awsemu

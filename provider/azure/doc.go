// Package azure is the "azurekv" store: Azure Key Vault, read with the Azure
// SDK for Go (azsecrets, azcertificates, azkeys and azidentity), configured
// by the spec.provider.azurekv field of a SecretStore, schema-compatible
// with the External Secrets Operator's.
//
// Credentials, by authType:
//
//   - ServicePrincipal (the default): an application's client secret or
//     client certificate (PEM with its unencrypted key, or PKCS#12 without
//     a password) from authSecretRef, its client ID from
//     authSecretRef.clientId, the tenant from spec.tenantId or
//     authSecretRef.tenantId.
//   - ManagedIdentity: the identity of the machine, through the Instance
//     Metadata Service; identityId selects a user-assigned identity by
//     client ID, or by resource ID when it starts with "/".
//   - WorkloadIdentity: a ServiceAccount token from the TokenRequest API
//     with audience api://AzureADTokenExchange ([Audience]), exchanged
//     for a Microsoft Entra ID token by a federated identity credential.
//     The client ID comes from authSecretRef.clientId or the
//     ServiceAccount's azure.workload.identity/client-id annotation, the
//     tenant from spec.tenantId, authSecretRef.tenantId or the
//     azure.workload.identity/tenant-id annotation; where several are
//     set they must agree. Without serviceAccountRef, the controller's own
//     federated token file is used, as the workload identity webhook
//     configures it.
//
// environmentType chooses the cloud: PublicCloud (the default),
// USGovernmentCloud or ChinaCloud, that is the authority host
// (login.microsoftonline.com, .us, login.chinacloudapi.cn) and the Key
// Vault resource tokens are validated for. customCloudConfig, which as in
// ESO needs useAzureSDK: true, replaces the authority with
// activeDirectoryEndpoint and the resource with keyVaultEndpoint (or
// https://vault plus keyVaultDNSSuffix), for an Azure Stack Hub
// (environmentType AzureStackCloud, which needs it) or a sovereign cloud's
// other authority; vaultUrl must end in keyVaultDNSSuffix. secretsync has
// only the azcore SDK that useAzureSDK selects in ESO, so the flag changes
// nothing else. The tenant and resource of
// each request are those of Key Vault's authentication challenge, which
// the SDK checks against the vault's domain.
//
// A client builds its credential and SDK clients once; tokens are
// fetched when first needed, cached, and refreshed before they expire,
// and a ServiceAccount token is requested only when a new access token is.
//
// Keys name an object type by prefix, as in the External Secrets Operator:
// "secret/name" or just "name" reads a secret's value, whose properties
// are JSON paths; "cert/name" a certificate as PEM (Key Vault's CER in a
// CERTIFICATE block, where the External Secrets Operator returns the bare
// DER), whose private key is in the secret of the same name; "key/name" a key's
// public JSON Web Key, whose properties are its fields. A version is Key
// Vault's version ID. metadataPolicy Fetch reads the object's tags as a
// JSON object. dataFrom.find lists secrets and reads the enabled ones
// whose names match the regular expression and that carry the tags,
// keyed by name; as in the External Secrets Operator, the secrets Key
// Vault keeps for certificates are among them.
//
// Writes, for PushSecret (the client is a [provider.Pusher]), follow the
// External Secrets Operator and are for secrets only: cert/ and key/
// keys are refused. SetSecret writes a new version tagged managed-by:
// external-secrets, with the tags, contentType and expirationDate of
// spec.data[].metadata (apiVersion kubernetes.external-secrets.io/v1alpha1,
// kind PushSecretMetadata); a secret without that tag is neither
// overwritten nor deleted. A property is set in the current version's
// JSON object. When the value is unchanged and only tags, content type or
// expiry differ, UpdateSecretProperties changes them without a new
// version. DeleteSecret is Key Vault's soft delete, not purged; pushing
// to the name again recovers the deleted secret first, if it is
// PushSecret's.
//
// A missing object or version is [provider.ErrNotFound]. Other errors
// carry Key Vault's or Microsoft Entra ID's status, code and message,
// never a value and never the trace IDs that change on every request.
// Throttled and failed requests are retried after Key Vault's Retry-After
// or a jittered exponential backoff, bounded by [WithRetry]; a throttled
// read's error says how many attempts were made and how long Key Vault
// asked to wait. [WithCallObserver] reports each Key Vault operation and
// each token request once its retries end, with how many attempts it
// took, how many were throttled, and its error, for metrics.
//
// Requests go to the vault's URL and the cloud's authority host;
// [WithHTTPClient] replaces the HTTP client, for emulators such as
// internal/azureemu, which resolves those names to itself.
package azure

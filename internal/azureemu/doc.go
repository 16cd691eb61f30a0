// Package azureemu is a wire-level emulator of the parts of Azure Key Vault,
// Microsoft Entra ID and the Instance Metadata Service that secretsync
// reads, for tests. The real Azure SDK for Go (azsecrets, azcertificates,
// azkeys, azidentity) talks to it over TLS.
//
// One [Server] plays every endpoint. Its [Server.Client] trusts the
// server's certificate and resolves the Azure names it plays to it, so SDK
// clients keep their production configuration: the vault at
// https://<name>.vault.azure.net (or .vault.usgovcloudapi.net,
// .vault.azure.cn, or, for an Azure Stack Hub that only a custom cloud
// configuration reaches, .vault.local.azurestack.external), the authority
// login.microsoftonline.com (or .us, login.chinacloudapi.cn,
// login.local.azurestack.external), challenge resource verification on, and managed
// identity through http://169.254.169.254. [Server.URL], the loopback
// address, reaches the same endpoints and plays the public cloud; Key
// Vault clients using it as the vault URL must turn challenge resource
// verification off, as its host is no vault's.
//
// Key Vault (API 7.x): get a secret, certificate or key by name and
// optional version; list secrets with maxresults and nextLink pagination;
// and for secrets the writes: set (PUT /secrets/{name}, a new current
// version with tags, content type and attributes), update a version's
// properties (PATCH /secrets/{name}/{version}), delete (DELETE
// /secrets/{name}, a soft delete: the name then reads as SecretNotFound
// and setting it fails with 409 Conflict, innererror
// ObjectIsDeletedButRecoverable), and get, recover (POST
// /deletedsecrets/{name}/recover, completed after a number of requests
// [Server.SetRecoveryPolls] sets, during which setting fails with
// ObjectIsBeingRecovered) and purge (DELETE /deletedsecrets/{name})
// deleted secrets. Every request must carry a bearer token the server issued,
// for the resource of the vault's cloud and the server's tenant
// ([TenantID]); a request without one gets 401 with the challenge
// WWW-Authenticate: Bearer authorization="https://<authority>/<tenant>",
// resource="https://vault.azure.net" that the SDK's challenge policy
// answers. Errors have Key Vault's shape and codes: SecretNotFound (404),
// Forbidden with AccessDenied or SecretDisabled (403), Throttled (429 with
// Retry-After), Unauthorized (401). Certificates are imported as Key Vault
// imports them, creating a managed secret with the PEM bundle and a managed
// key with the public key; keys give out only their public JSON Web Key.
//
// Microsoft Entra ID: the OpenID configuration MSAL reads before its first
// token request, instance discovery for authority hosts MSAL does not
// know, and the v2.0 token endpoint for the client credentials grant with
// a client secret, a client assertion signed by one of an application's
// certificates (signature, iss, sub, aud and validity checked), or a
// federated token. A federated token must match one of the application's
// federated identity credentials by issuer and subject, carry its audience
// (api://AzureADTokenExchange by default), be unexpired and be signed by
// the key [Server.TrustIssuer] registered for its issuer, such as a
// kube-apiserver's service-account key: a token the apiserver did not sign
// is refused. Errors have Entra's shape: an OAuth error and an AADSTS
// description followed by trace, correlation and timestamp lines.
//
// The Instance Metadata Service issues managed identity tokens for the
// system-assigned identity or a user-assigned one selected by client ID or
// resource ID.
//
// Tests arrange state with [Server.SetSecret], [Server.ImportCertificate],
// [Server.ImportKey], [Server.SetTags], [Server.DeleteSecret],
// [Server.AddApp] and [Server.TrustIssuer]; inject faults with
// [Server.Deny] (403) and [Server.Throttle] (429 with Retry-After); and
// assert on [Server.Secret], [Server.Calls] and [Server.Grants].
//
// What it cannot prove, compared with real Azure:
//
//   - Authorization. Access is allowed unless a test calls [Server.Deny];
//     Azure RBAC role assignments, vault access policies, network rules,
//     private endpoints and Conditional Access are not modelled.
//   - Microsoft Entra ID itself. One tenant; no consent, app roles, token
//     claims (tokens are opaque strings the server looks up, where Entra
//     issues signed JWTs), CAE, regional endpoints or token caching
//     behaviour on the server side. Federated issuers are trusted by key,
//     where Entra fetches the issuer's discovery document and JWKS over
//     the internet: an issuer URL that is not publicly reachable works
//     here and fails in Azure.
//   - The Instance Metadata Service beyond its token endpoint, and the
//     other managed identity hosts (App Service, Arc, Service Fabric,
//     Cloud Shell).
//   - Limits and throttling. Throttling happens only when injected; Key
//     Vault's real service limits and its throttling of token endpoints
//     are not enforced.
//   - Soft delete beyond secrets (certificates and keys are deleted for
//     good by [Server.Delete]), retention periods (a deleted secret is
//     kept until recovered or purged), purge protection, backups, expiry
//     and activation dates (stored, not enforced), managed HSM,
//     certificate issuance and policies, and key operations (sign, wrap,
//     rotate). Recovery finishes after a count of requests, not a time.
//   - Key Vault's validation of writes: value size (25 KB), the number
//     and length of tags, and content type length are not checked.
//   - Ordering and tokens of lists. Secrets list by name and skip tokens
//     are opaque offsets; Key Vault orders otherwise and its tokens expire.
//   - DNS, private link and sovereign-cloud differences beyond the host
//     names and resources of the public, US Government and China clouds.
package azureemu

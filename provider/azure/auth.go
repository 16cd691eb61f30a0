package azure

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

const (
	// Audience is the audience of the ServiceAccount tokens exchanged for
	// Microsoft Entra ID tokens, as workload identity federation expects.
	Audience = "api://AzureADTokenExchange"
	// ClientIDAnnotation is the ServiceAccount annotation naming the
	// application (client) ID of workload identity, as on AKS.
	ClientIDAnnotation = "azure.workload.identity/client-id"
	// TenantIDAnnotation is the ServiceAccount annotation naming the
	// tenant of workload identity, as on AKS.
	TenantIDAnnotation = "azure.workload.identity/tenant-id"

	// tokenLifetime is the shortest the TokenRequest API issues; the
	// token is exchanged at once.
	tokenLifetime = 10 * time.Minute
)

// credentialError reports a credential that could not be read. It does not
// unwrap: a missing credential is not a missing remote secret, and must
// not read as provider.ErrNotFound, which deletion policies act on.
func credentialError(store secretstore.GenericStore, what string, err error) error {
	return fmt.Errorf("%s: %s: %v", secretstore.Ref(store), what, err)
}

// credential returns the store's token credential, built as the External
// Secrets Operator builds it for each authType.
func credential(ctx context.Context, store secretstore.GenericStore, spec *secretstore.AzureKVProvider, creds provider.Credentials, opts azcore.ClientOptions) (azcore.TokenCredential, error) {
	var (
		cred azcore.TokenCredential
		err  error
	)
	switch authType(spec) {
	case secretstore.AzureManagedIdentity:
		cred, err = managedIdentity(spec, opts)
	case secretstore.AzureWorkloadIdentity:
		cred, err = workloadIdentity(ctx, store, spec, creds, opts)
	default:
		cred, err = servicePrincipal(ctx, store, spec, creds, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", secretstore.Ref(store), authType(spec), err)
	}
	return cred, nil
}

// idFrom reads an ID (client or tenant) from the spec, a Secret key or a
// ServiceAccount annotation, whichever are set; if several are, they must
// agree. Whitespace around an ID, such as the newline of a Secret made with
// echo, is dropped.
func idFrom(what string, candidates ...[2]string) (string, error) {
	var id, from string
	for _, c := range candidates {
		v := strings.TrimSpace(c[0])
		if v == "" {
			continue
		}
		if id != "" && v != id {
			return "", fmt.Errorf("%s differs between %s and %s; set it in one place", what, from, c[1])
		}
		id, from = v, c[1]
	}
	return id, nil
}

func secretKeyString(ctx context.Context, store secretstore.GenericStore, creds provider.Credentials, sel *secretstore.SecretKeySelector, what string) (string, error) {
	if sel == nil {
		return "", nil
	}
	v, err := provider.SecretKey(ctx, creds, store, *sel)
	if err != nil {
		return "", credentialError(store, what, err)
	}
	return string(v), nil
}

func specTenant(spec *secretstore.AzureKVProvider) string {
	if spec.TenantID == nil {
		return ""
	}
	return *spec.TenantID
}

func servicePrincipal(ctx context.Context, store secretstore.GenericStore, spec *secretstore.AzureKVProvider, creds provider.Credentials, opts azcore.ClientOptions) (azcore.TokenCredential, error) {
	auth := spec.AuthSecretRef
	secretTenant, err := secretKeyString(ctx, store, creds, auth.TenantID, "tenant ID")
	if err != nil {
		return nil, err
	}
	tenant, err := idFrom("the tenant ID", [2]string{specTenant(spec), "spec.provider.azurekv.tenantId"}, [2]string{secretTenant, "authSecretRef.tenantId"})
	if err != nil {
		return nil, err
	}
	clientID, err := secretKeyString(ctx, store, creds, auth.ClientID, "client ID")
	if err != nil {
		return nil, err
	}
	clientID = strings.TrimSpace(clientID)
	if clientID == "" || tenant == "" {
		return nil, fmt.Errorf("the client ID and tenant ID must not be empty")
	}
	if auth.ClientSecret != nil {
		secret, err := secretKeyString(ctx, store, creds, auth.ClientSecret, "client secret")
		if err != nil {
			return nil, err
		}
		return azidentity.NewClientSecretCredential(tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
	}
	data, err := provider.SecretKey(ctx, creds, store, *auth.ClientCertificate)
	if err != nil {
		return nil, credentialError(store, "client certificate", err)
	}
	certs, key, err := azidentity.ParseCertificates(data, nil)
	if err != nil {
		// The parser's errors can quote the input, which holds a private key.
		return nil, fmt.Errorf("authSecretRef.clientCertificate is neither PEM with a certificate and its unencrypted private key nor PKCS#12 without a password")
	}
	return azidentity.NewClientCertificateCredential(tenant, clientID, certs, key, &azidentity.ClientCertificateCredentialOptions{ClientOptions: opts})
}

// managedIdentity uses the identity of the machine the controller runs
// on; identityId selects a user-assigned identity by client ID or, when
// it is a path such as /subscriptions/..., by resource ID.
func managedIdentity(spec *secretstore.AzureKVProvider, opts azcore.ClientOptions) (azcore.TokenCredential, error) {
	o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
	if spec.IdentityID != nil && *spec.IdentityID != "" {
		if id := *spec.IdentityID; strings.HasPrefix(id, "/") {
			o.ID = azidentity.ResourceID(id)
		} else {
			o.ID = azidentity.ClientID(id)
		}
	}
	return azidentity.NewManagedIdentityCredential(o)
}

// workloadIdentity exchanges ServiceAccount tokens from the TokenRequest
// API for Microsoft Entra ID tokens, as workload identity federation does,
// without a projected token file. The client ID comes from
// authSecretRef.clientId or the ServiceAccount's ClientIDAnnotation; the
// tenant from spec.tenantId, authSecretRef.tenantId or TenantIDAnnotation.
// Without serviceAccountRef it uses the controller's own federated token,
// from the AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE
// variables the workload identity webhook sets, as the External Secrets
// Operator does.
func workloadIdentity(ctx context.Context, store secretstore.GenericStore, spec *secretstore.AzureKVProvider, creds provider.Credentials, opts azcore.ClientOptions) (azcore.TokenCredential, error) {
	var secretClientID, secretTenant string
	if auth := spec.AuthSecretRef; auth != nil {
		var err error
		if secretClientID, err = secretKeyString(ctx, store, creds, auth.ClientID, "client ID"); err != nil {
			return nil, err
		}
		if secretTenant, err = secretKeyString(ctx, store, creds, auth.TenantID, "tenant ID"); err != nil {
			return nil, err
		}
	}
	saRef := spec.ServiceAccountRef
	if saRef == nil {
		tenant, err := idFrom("the tenant ID", [2]string{specTenant(spec), "spec.provider.azurekv.tenantId"}, [2]string{secretTenant, "authSecretRef.tenantId"})
		if err != nil {
			return nil, err
		}
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts, ClientID: strings.TrimSpace(secretClientID), TenantID: tenant,
		})
	}
	sa := *saRef.DeepCopy()
	ns, err := provider.CredentialNamespace(store, sa.Namespace)
	if err != nil {
		return nil, err
	}
	var ann map[string]string
	if reader, ok := creds.(provider.ServiceAccountAnnotations); ok {
		if ann, err = reader.ServiceAccountAnnotations(ctx, ns, sa.Name); err != nil {
			return nil, credentialError(store, "read ServiceAccount "+ns+"/"+sa.Name, err)
		}
	}
	clientID, err := idFrom("the client ID", [2]string{secretClientID, "authSecretRef.clientId"}, [2]string{ann[ClientIDAnnotation], "the ServiceAccount's " + ClientIDAnnotation + " annotation"})
	if err != nil {
		return nil, err
	}
	if clientID == "" {
		return nil, fmt.Errorf("no client ID: annotate ServiceAccount %s/%s with %s, or set authSecretRef.clientId", ns, sa.Name, ClientIDAnnotation)
	}
	tenant, err := idFrom("the tenant ID", [2]string{specTenant(spec), "spec.provider.azurekv.tenantId"}, [2]string{secretTenant, "authSecretRef.tenantId"},
		[2]string{ann[TenantIDAnnotation], "the ServiceAccount's " + TenantIDAnnotation + " annotation"})
	if err != nil {
		return nil, err
	}
	if tenant == "" {
		return nil, fmt.Errorf("no tenant ID: set spec.provider.azurekv.tenantId, or annotate ServiceAccount %s/%s with %s", ns, sa.Name, TenantIDAnnotation)
	}
	st := store.Copy()
	// MSAL calls this only when it needs a new access token, so each
	// ServiceAccount token is requested just before it is exchanged.
	assertion := func(ctx context.Context) (string, error) {
		token, err := provider.ServiceAccountToken(ctx, creds, st, sa, []string{Audience}, tokenLifetime)
		if err != nil {
			return "", credentialError(st, "federated token", err)
		}
		return token, nil
	}
	return azidentity.NewClientAssertionCredential(tenant, clientID, assertion, &azidentity.ClientAssertionCredentialOptions{ClientOptions: opts})
}

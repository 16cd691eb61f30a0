package azure_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/secretsync/secretsync/internal/azureemu"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/azure"
	"github.com/secretsync/secretsync/secretstore"
)

// newClientAndRead builds a client for the store mod describes and reads
// the secret "db" with it, returning the first error of the two.
func (h *harness) newClientAndRead(mod func(*secretstore.AzureKVProvider), opts ...azure.Option) (string, error) {
	c, err := h.newClient(h.store(mod), opts...)
	if err != nil {
		return "", err
	}
	return read(c, provider.Ref{Key: "db"}, "")
}

func TestServicePrincipal(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("db", "v")
	cert, key, bundle := newCertificate(t, "sp")
	pfx, err := pkcs12.LegacyDES.Encode(key, cert, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	_, _, unknownBundle := newCertificate(t, "unknown")
	const certApp = "7e1d2c3b-4a59-4687-9a0b-c1d2e3f4a5b6"
	h.emu.AddApp(azureemu.App{ClientID: certApp, Certificates: []*x509.Certificate{cert}})
	h.creds.SetSecret(namespace, "cert-sp", "client-id", certApp+"\n")
	h.creds.SetSecret(namespace, "cert-sp", "pem", string(bundle))
	h.creds.SetSecret(namespace, "cert-sp", "pfx", string(pfx))
	h.creds.SetSecret(namespace, "cert-sp", "unknown", string(unknownBundle))
	h.creds.SetSecret(namespace, "cert-sp", "garbage", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
	h.creds.SetSecret(namespace, "azure", "tenant", azureemu.TenantID+"\n")
	h.creds.SetSecret(namespace, "azure", "other-tenant", "11111111-0000-0000-0000-000000000000")
	h.creds.SetSecret(namespace, "azure", "wrong-secret", "not-the-secret")
	h.creds.SetSecret(namespace, "azure", "unknown-app", "99999999-0000-0000-0000-000000000000")

	certificate := func(key string) func(*secretstore.AzureKVProvider) {
		return func(a *secretstore.AzureKVProvider) {
			a.AuthSecretRef = &secretstore.AzureKVAuth{
				ClientID:          &secretstore.SecretKeySelector{Name: "cert-sp", Key: "client-id"},
				ClientCertificate: &secretstore.SecretKeySelector{Name: "cert-sp", Key: key},
			}
		}
	}
	otherTenant := "22222222-0000-0000-0000-000000000000"
	tests := map[string]struct {
		mod        func(*secretstore.AzureKVProvider)
		want       string // in the error; empty for success
		wantMethod string
	}{
		"a client secret":              {wantMethod: "client_secret"},
		"a client certificate in PEM":  {mod: certificate("pem"), wantMethod: "client_certificate"},
		"a client certificate, PKCS12": {mod: certificate("pfx"), wantMethod: "client_certificate"},
		"the tenant in the Secret": {mod: func(a *secretstore.AzureKVProvider) {
			a.TenantID, a.AuthSecretRef.TenantID = nil, &secretstore.SecretKeySelector{Name: "azure", Key: "tenant"}
		}, wantMethod: "client_secret"},
		"the same tenant twice": {mod: func(a *secretstore.AzureKVProvider) {
			a.AuthSecretRef.TenantID = &secretstore.SecretKeySelector{Name: "azure", Key: "tenant"}
		}, wantMethod: "client_secret"},
		"two tenants": {mod: func(a *secretstore.AzureKVProvider) {
			a.AuthSecretRef.TenantID = &secretstore.SecretKeySelector{Name: "azure", Key: "other-tenant"}
		}, want: "ServicePrincipal: the tenant ID differs between spec.provider.azurekv.tenantId and authSecretRef.tenantId"},
		"a wrong client secret": {mod: func(a *secretstore.AzureKVProvider) { a.AuthSecretRef.ClientSecret.Key = "wrong-secret" },
			want: `secret "db" in SecretStore/team-a/azure: authentication failed: invalid_client: AADSTS7000215: Invalid client secret provided.`},
		"an unknown application": {mod: func(a *secretstore.AzureKVProvider) { a.AuthSecretRef.ClientID.Key = "unknown-app" },
			want: "authentication failed: unauthorized_client: AADSTS700016: Application with identifier '99999999-0000-0000-0000-000000000000' was not found"},
		"a certificate the application does not have": {mod: certificate("unknown"), want: "authentication failed: invalid_client: AADSTS700027: Client assertion failed signature validation."},
		"a certificate that is not one": {mod: certificate("garbage"),
			want: "SecretStore/team-a/azure: ServicePrincipal: authSecretRef.clientCertificate is neither PEM with a certificate and its unencrypted private key nor PKCS#12 without a password"},
		"a missing credential Secret": {mod: func(a *secretstore.AzureKVProvider) { a.AuthSecretRef.ClientSecret.Name = "absent" },
			want: `client secret: read key "client-secret" of Secret team-a/absent`},
		"a tenant the vault is not in": {mod: func(a *secretstore.AzureKVProvider) { a.TenantID = &otherTenant },
			want: `secret "db" in SecretStore/team-a/azure: the vault belongs to tenant ` + azureemu.TenantID + `, not to the store's tenant: set spec.provider.azurekv.tenantId to it`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			grants := len(h.emu.Grants())
			got, err := h.newClientAndRead(tc.mod)
			checkErr(t, err, tc.want, false)
			if tc.want != "" {
				return
			}
			if got != "v" {
				t.Errorf("got %q", got)
			}
			g := h.emu.Grants()
			if len(g) != grants+1 || g[len(g)-1].Method != tc.wantMethod {
				t.Errorf("want one %s grant, got %+v", tc.wantMethod, g[grants:])
			}
		})
	}
}

// environmentType picks the authority host, and so the Key Vault resource
// tokens are valid for.
func TestEnvironments(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("db", "v")
	vault := func(suffix string, env secretstore.AzureEnvironmentType) func(*secretstore.AzureKVProvider) {
		return func(a *secretstore.AzureKVProvider) {
			u := "https://" + vaultName + suffix
			a.VaultURL, a.EnvironmentType = &u, env
		}
	}
	tests := map[string]struct {
		mod          func(*secretstore.AzureKVProvider)
		want         string
		wantResource string
	}{
		"the public cloud by default": {mod: vault(".vault.azure.net", ""), wantResource: "https://vault.azure.net"},
		"US Government":               {mod: vault(".vault.usgovcloudapi.net", azure.USGovernmentCloud), wantResource: "https://vault.usgovcloudapi.net"},
		"China":                       {mod: vault(".vault.azure.cn", azure.ChinaCloud), wantResource: "https://vault.azure.cn"},
		"a US Government vault with the public cloud's authority": {mod: vault(".vault.usgovcloudapi.net", azure.PublicCloud),
			want: "AADSTS500011: The resource principal named https://vault.usgovcloudapi.net was not found in the tenant"},
		"a vault that does not exist": {mod: func(a *secretstore.AzureKVProvider) {
			u := "https://no-such-vault.vault.azure.net"
			a.VaultURL = &u
		}, want: "cannot resolve no-such-vault.vault.azure.net: check vaultUrl and environmentType"},
		"an Azure Stack Hub, through customCloudConfig": {mod: func(a *secretstore.AzureKVProvider) {
			vault(".vault.local.azurestack.external", azure.AzureStackCloud)(a)
			yes, kv, suffix := true, "https://vault.local.azurestack.external/", ".vault.local.azurestack.external"
			a.UseAzureSDK = &yes
			a.CustomCloudConfig = &secretstore.AzureCustomCloudConfig{
				ActiveDirectoryEndpoint: "https://login.local.azurestack.external/",
				KeyVaultEndpoint:        &kv,
				KeyVaultDNSSuffix:       &suffix,
			}
		}, wantResource: "https://vault.local.azurestack.external"},
		"an Azure Stack Hub, the resource from keyVaultDNSSuffix": {mod: func(a *secretstore.AzureKVProvider) {
			vault(".vault.local.azurestack.external", azure.AzureStackCloud)(a)
			yes, suffix := true, ".vault.local.azurestack.external"
			a.UseAzureSDK = &yes
			a.CustomCloudConfig = &secretstore.AzureCustomCloudConfig{
				ActiveDirectoryEndpoint: "https://login.local.azurestack.external/",
				KeyVaultDNSSuffix:       &suffix,
			}
		}, wantResource: "https://vault.local.azurestack.external"},
		"the public cloud's vault with an Azure Stack authority": {mod: func(a *secretstore.AzureKVProvider) {
			yes := true
			a.UseAzureSDK = &yes
			a.CustomCloudConfig = &secretstore.AzureCustomCloudConfig{ActiveDirectoryEndpoint: "https://login.local.azurestack.external/"}
		}, want: "AADSTS500011: The resource principal named https://vault.azure.net was not found in the tenant"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := h.newClientAndRead(tc.mod)
			checkErr(t, err, tc.want, false)
			if tc.want != "" {
				return
			}
			g := h.emu.Grants()
			if got != "v" || g[len(g)-1].Resource != tc.wantResource {
				t.Errorf("got %q with a token for %s, want one for %s", got, g[len(g)-1].Resource, tc.wantResource)
			}
		})
	}
}

func TestManagedIdentity(t *testing.T) {
	for _, v := range []string{"IDENTITY_ENDPOINT", "MSI_ENDPOINT"} {
		if _, ok := os.LookupEnv(v); ok {
			t.Skipf("%s is set: azidentity would use that host's managed identity, not the Instance Metadata Service", v)
		}
	}
	h := newHarness(t)
	h.emu.SetSecret("db", "v")
	const (
		system   = "aaaaaaaa-0000-0000-0000-000000000001"
		assigned = "bbbbbbbb-0000-0000-0000-000000000002"
		resource = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reader"
	)
	h.emu.SetSystemAssignedIdentity(system)
	h.emu.AddManagedIdentity(azureemu.ManagedIdentity{ClientID: assigned, ResourceID: resource})
	mi := func(id string) func(*secretstore.AzureKVProvider) {
		return func(a *secretstore.AzureKVProvider) {
			t := secretstore.AzureManagedIdentity
			a.AuthType, a.AuthSecretRef, a.TenantID = &t, nil, nil
			if id != "" {
				a.IdentityID = &id
			}
		}
	}
	tests := map[string]struct {
		mod      func(*secretstore.AzureKVProvider)
		want     string
		wantUser string
	}{
		"the system-assigned identity":            {mod: mi(""), wantUser: system},
		"a user-assigned identity by client ID":   {mod: mi(assigned), wantUser: assigned},
		"a user-assigned identity by resource ID": {mod: mi(resource), wantUser: assigned},
		"an identity the machine does not have": {mod: mi("cccccccc-0000-0000-0000-000000000003"),
			want: "authentication failed: invalid_request: Identity not found"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := h.newClientAndRead(tc.mod)
			checkErr(t, err, tc.want, false)
			if tc.want != "" {
				return
			}
			g := h.emu.Grants()
			if last := g[len(g)-1]; got != "v" || last.Method != "managed_identity" || last.ClientID != tc.wantUser {
				t.Errorf("got %q with %+v, want a managed identity token of %s", got, last, tc.wantUser)
			}
		})
	}
}

// Workload identity with ServiceAccount tokens from the TokenRequest API of
// a real kube-apiserver, verified by the emulator's Entra ID against the
// apiserver's signing key.
func TestWorkloadIdentity(t *testing.T) {
	h := newHarness(t)
	env := testenv.StartForTest(t)
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, sa := range []string{"reader", "stranger", "bare"} {
		if _, err := kube.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	apiserverToken := func(ctx context.Context, ns, name string, audiences []string, exp time.Duration) (string, error) {
		secs := int64(exp / time.Second)
		tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &secs},
		}, metav1.CreateOptions{})
		if apierrors.IsNotFound(err) {
			// As a host might report it; the provider must not pass it
			// on as a missing remote secret.
			return "", fmt.Errorf("%w: %w", provider.ErrNotFound, err)
		}
		if err != nil {
			return "", err
		}
		return tr.Status.Token, nil
	}
	h.creds.SetToken(apiserverToken)
	pub, err := os.ReadFile(filepath.Join(env.Dir, "sa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	issuer := env.Config.Host + "/"
	if err := h.emu.TrustIssuerPEM(issuer, pub); err != nil {
		t.Fatal(err)
	}
	const (
		wiApp     = "3c4d5e6f-7081-4293-a4b5-c6d7e8f90a1b"
		customApp = "4d5e6f70-8192-4a3b-b5c6-d7e8f90a1b2c"
	)
	subject := "system:serviceaccount:" + namespace + ":reader"
	h.emu.AddApp(azureemu.App{ClientID: wiApp, Federated: []azureemu.FederatedCredential{{Issuer: issuer, Subject: subject}}})
	h.emu.AddApp(azureemu.App{ClientID: customApp, Federated: []azureemu.FederatedCredential{{Issuer: issuer, Subject: subject, Audience: "api://custom"}}})
	annotations := map[string]string{azure.ClientIDAnnotation: wiApp, azure.TenantIDAnnotation: azureemu.TenantID}
	h.creds.SetAnnotations(namespace, "reader", annotations)
	h.creds.SetAnnotations(namespace, "stranger", annotations)
	h.creds.SetAnnotations(namespace, "bare", map[string]string{})
	h.creds.SetSecret(namespace, "wi", "client-id", customApp)
	h.emu.SetSecret("db", canary)

	wi := func(sa string) func(*secretstore.AzureKVProvider) {
		return func(a *secretstore.AzureKVProvider) {
			t := secretstore.AzureWorkloadIdentity
			a.AuthType, a.AuthSecretRef, a.TenantID = &t, nil, nil
			a.ServiceAccountRef = &secretstore.ServiceAccountSelector{Name: sa}
		}
	}

	t.Run("reads with the federated token, exchanged once", func(t *testing.T) {
		tokens := h.creds.TokenRequests()
		c := h.client(wi("reader"))
		if err := c.(provider.Validator).Validate(ctx); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if got, err := read(c, provider.Ref{Key: "db"}, ""); err != nil || got != canary {
				t.Fatalf("got %q, %v", got, err)
			}
		}
		if n := h.creds.TokenRequests() - tokens; n != 1 {
			t.Errorf("%d ServiceAccount token requests, want 1", n)
		}
		if diff := cmp.Diff([]string{azure.Audience}, h.creds.LastAudiences()); diff != "" {
			t.Errorf("audiences (-want +got):\n%s", diff)
		}
		g := h.emu.Grants()
		if last := g[len(g)-1]; last.Method != "federated" || last.ClientID != wiApp || last.Subject != subject || last.Issuer != issuer {
			t.Errorf("grant %+v", last)
		}
	})
	t.Run("the ServiceAccount's audiences are added", func(t *testing.T) {
		got, err := h.newClientAndRead(func(a *secretstore.AzureKVProvider) {
			wi("reader")(a)
			a.ServiceAccountRef.Audiences = []string{"api://custom"}
			a.AuthSecretRef = &secretstore.AzureKVAuth{ClientID: &secretstore.SecretKeySelector{Name: "wi", Key: "client-id"}}
			h.creds.SetAnnotations(namespace, "reader", map[string]string{azure.TenantIDAnnotation: azureemu.TenantID})
		})
		h.creds.SetAnnotations(namespace, "reader", annotations)
		if err != nil || got != canary {
			t.Fatalf("got %q, %v", got, err)
		}
		if diff := cmp.Diff([]string{azure.Audience, "api://custom"}, h.creds.LastAudiences()); diff != "" {
			t.Errorf("audiences (-want +got):\n%s", diff)
		}
	})

	tests := map[string]struct {
		sa    string
		mod   func(*secretstore.AzureKVProvider)
		token func(ctx context.Context, ns, name string, audiences []string, exp time.Duration) (string, error)
		want  string
	}{
		"a ServiceAccount the application does not federate": {sa: "stranger",
			want: "authentication failed: invalid_client: AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '" + issuer + "'. Assertion Subject: 'system:serviceaccount:team-a:stranger'."},
		"a token the apiserver did not sign": {sa: "reader", token: forgedToken(t, issuer, subject),
			want: "authentication failed: invalid_client: AADSTS700211"},
		"a ServiceAccount without annotations": {sa: "bare",
			want: "WorkloadIdentity: no client ID: annotate ServiceAccount team-a/bare with azure.workload.identity/client-id, or set authSecretRef.clientId"},
		"a ServiceAccount without a tenant": {sa: "bare", mod: func(a *secretstore.AzureKVProvider) {
			a.AuthSecretRef = &secretstore.AzureKVAuth{ClientID: &secretstore.SecretKeySelector{Name: "wi", Key: "client-id"}}
		}, want: "no tenant ID: set spec.provider.azurekv.tenantId, or annotate ServiceAccount team-a/bare with azure.workload.identity/tenant-id"},
		"a client ID in the spec and another in the annotation": {sa: "reader", mod: func(a *secretstore.AzureKVProvider) {
			a.AuthSecretRef = &secretstore.AzureKVAuth{ClientID: &secretstore.SecretKeySelector{Name: "wi", Key: "client-id"}}
		}, want: "the client ID differs between authSecretRef.clientId and the ServiceAccount's azure.workload.identity/client-id annotation"},
		"a ServiceAccount that does not exist": {sa: "ghost",
			want: "WorkloadIdentity: SecretStore/team-a/azure: read ServiceAccount team-a/ghost"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.token != nil {
				h.creds.SetToken(tc.token)
				defer h.creds.SetToken(apiserverToken)
			}
			_, err := h.newClientAndRead(func(a *secretstore.AzureKVProvider) {
				wi(tc.sa)(a)
				if tc.mod != nil {
					tc.mod(a)
				}
			})
			checkErr(t, err, tc.want, false)
		})
	}
}

// forgedToken returns ServiceAccount tokens with the apiserver's issuer and
// the right subject and audience, signed by a key the apiserver never had.
func forgedToken(t *testing.T, issuer, subject string) func(context.Context, string, string, []string, time.Duration) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return func(_ context.Context, _, _ string, audiences []string, exp time.Duration) (string, error) {
		return signToken(key, issuer, subject, audiences, exp)
	}
}

func signToken(key *rsa.PrivateKey, issuer, subject string, audiences []string, exp time.Duration) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now := time.Now()
	return jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: issuer, Subject: subject, Audience: audiences,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(exp)),
	}).Serialize()
}

// Without serviceAccountRef, workload identity uses the controller's own
// federated token file, as the workload identity webhook mounts it.
func TestWorkloadIdentityFromEnvironment(t *testing.T) {
	h := newHarness(t)
	h.emu.SetSecret("db", "v")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const (
		issuer  = "https://oidc.example/cluster"
		subject = "system:serviceaccount:secretsync-system:secretsync-controller"
		app     = "5e6f7081-92a3-4b4c-86d7-e8f90a1b2c3d"
	)
	h.emu.TrustIssuer(issuer, &key.PublicKey)
	h.emu.AddApp(azureemu.App{ClientID: app, Federated: []azureemu.FederatedCredential{{Issuer: issuer, Subject: subject}}})
	token, err := signToken(key, issuer, subject, []string{azure.Audience}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "azure-identity-token")
	if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AZURE_CLIENT_ID", app)
	t.Setenv("AZURE_TENANT_ID", azureemu.TenantID)
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", file)

	got, err := h.newClientAndRead(func(a *secretstore.AzureKVProvider) {
		wi := secretstore.AzureWorkloadIdentity
		a.AuthType, a.AuthSecretRef, a.TenantID = &wi, nil, nil
	})
	if err != nil || got != "v" {
		t.Fatalf("got %q, %v", got, err)
	}
	g := h.emu.Grants()
	if last := g[len(g)-1]; last.Method != "federated" || last.ClientID != app || last.Subject != subject {
		t.Errorf("grant %+v", last)
	}
}

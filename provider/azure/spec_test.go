package azure_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/provider/azure"
	"github.com/secretsync/secretsync/secretstore"
)

func TestValidateStore(t *testing.T) {
	str := func(s string) *string { return &s }
	auth := func(a secretstore.AzureAuthType) *secretstore.AzureAuthType { return &a }
	sel := func(name, key string, ns *string) *secretstore.SecretKeySelector {
		return &secretstore.SecretKeySelector{Name: name, Key: key, Namespace: ns}
	}
	other := "other"
	sp := func(ns *string) func(*secretstore.AzureKVProvider) {
		return func(a *secretstore.AzureKVProvider) {
			a.TenantID = str("tenant")
			a.AuthSecretRef = &secretstore.AzureKVAuth{ClientID: sel("sp", "id", ns), ClientSecret: sel("sp", "secret", ns)}
		}
	}
	tests := map[string]struct {
		mod     func(*secretstore.AzureKVProvider)
		cluster bool
		want    string // in the error; empty when valid
	}{
		"a service principal with a secret": {mod: sp(nil)},
		"a service principal with a certificate": {mod: func(a *secretstore.AzureKVProvider) {
			sp(nil)(a)
			a.AuthSecretRef.ClientSecret, a.AuthSecretRef.ClientCertificate = nil, sel("sp", "cert", nil)
		}},
		"the tenant in the Secret": {mod: func(a *secretstore.AzureKVProvider) {
			sp(nil)(a)
			a.TenantID, a.AuthSecretRef.TenantID = nil, sel("sp", "tenant", nil)
		}},
		"US Government cloud": {mod: func(a *secretstore.AzureKVProvider) { sp(nil)(a); a.EnvironmentType = azure.USGovernmentCloud }},
		"China cloud":         {mod: func(a *secretstore.AzureKVProvider) { sp(nil)(a); a.EnvironmentType = azure.ChinaCloud }},
		"a managed identity":  {mod: func(a *secretstore.AzureKVProvider) { a.AuthType = auth(secretstore.AzureManagedIdentity) }},
		"a user-assigned managed identity": {mod: func(a *secretstore.AzureKVProvider) {
			a.AuthType, a.IdentityID = auth(secretstore.AzureManagedIdentity), str("0b6f3a52-0000-0000-0000-000000000000")
		}},
		"workload identity": {mod: func(a *secretstore.AzureKVProvider) {
			a.AuthType, a.ServiceAccountRef = auth(secretstore.AzureWorkloadIdentity), &secretstore.ServiceAccountSelector{Name: "sa"}
		}},
		"workload identity from the controller's environment": {mod: func(a *secretstore.AzureKVProvider) {
			a.AuthType = auth(secretstore.AzureWorkloadIdentity)
		}},
		"a cluster store naming a namespace": {mod: sp(&other), cluster: true},

		"no vault URL":          {mod: func(a *secretstore.AzureKVProvider) { sp(nil)(a); a.VaultURL = nil }, want: "vaultUrl is not set"},
		"a vault URL over HTTP": {mod: func(a *secretstore.AzureKVProvider) { sp(nil)(a); a.VaultURL = str("http://v.vault.azure.net") }, want: "is not the https URL of a vault"},
		"a vault URL with a path": {mod: func(a *secretstore.AzureKVProvider) {
			sp(nil)(a)
			a.VaultURL = str("https://v.vault.azure.net/secrets/db")
		}, want: "is not the https URL of a vault"},
		"German cloud":      {mod: func(a *secretstore.AzureKVProvider) { sp(nil)(a); a.EnvironmentType = azure.GermanCloud }, want: "closed in 2021"},
		"Azure Stack":       {mod: func(a *secretstore.AzureKVProvider) { sp(nil)(a); a.EnvironmentType = azure.AzureStackCloud }, want: "AzureStackCloud needs spec.provider.azurekv.customCloudConfig"},
		"an unknown cloud":  {mod: func(a *secretstore.AzureKVProvider) { sp(nil)(a); a.EnvironmentType = "Moon" }, want: `environmentType must be PublicCloud, USGovernmentCloud, ChinaCloud or, with customCloudConfig, AzureStackCloud, not "Moon"`},
		"useAzureSDK false": {mod: func(a *secretstore.AzureKVProvider) { sp(nil)(a); no := false; a.UseAzureSDK = &no }},
		"useAzureSDK true":  {mod: func(a *secretstore.AzureKVProvider) { sp(nil)(a); yes := true; a.UseAzureSDK = &yes }},
		"customCloudConfig without useAzureSDK": {mod: func(a *secretstore.AzureKVProvider) {
			sp(nil)(a)
			a.CustomCloudConfig = &secretstore.AzureCustomCloudConfig{ActiveDirectoryEndpoint: "https://login.partner.microsoftonline.cn/"}
		}, want: "customCloudConfig requires useAzureSDK: true"},
		"customCloudConfig for China with workload identity": {mod: func(a *secretstore.AzureKVProvider) {
			yes := true
			a.VaultURL, a.EnvironmentType, a.UseAzureSDK = str("https://v.vault.azure.cn"), azure.ChinaCloud, &yes
			a.AuthType, a.ServiceAccountRef = auth(secretstore.AzureWorkloadIdentity), &secretstore.ServiceAccountSelector{Name: "sa"}
			a.CustomCloudConfig = &secretstore.AzureCustomCloudConfig{ActiveDirectoryEndpoint: "https://login.partner.microsoftonline.cn/"}
		}},
		"customCloudConfig with an authority over HTTP": {mod: func(a *secretstore.AzureKVProvider) {
			sp(nil)(a)
			yes := true
			a.UseAzureSDK = &yes
			a.CustomCloudConfig = &secretstore.AzureCustomCloudConfig{ActiveDirectoryEndpoint: "http://login.example"}
		}, want: `customCloudConfig.activeDirectoryEndpoint "http://login.example" is not an https URL`},
		"a vault outside keyVaultDNSSuffix": {mod: func(a *secretstore.AzureKVProvider) {
			sp(nil)(a)
			yes, suffix := true, ".vault.local.azurestack.external"
			a.EnvironmentType, a.UseAzureSDK = azure.AzureStackCloud, &yes
			a.CustomCloudConfig = &secretstore.AzureCustomCloudConfig{ActiveDirectoryEndpoint: "https://login.local.azurestack.external/", KeyVaultDNSSuffix: &suffix}
		}, want: `is not in customCloudConfig.keyVaultDNSSuffix`},
		"Azure Stack with no Key Vault endpoint": {mod: func(a *secretstore.AzureKVProvider) {
			sp(nil)(a)
			yes := true
			a.EnvironmentType, a.UseAzureSDK = azure.AzureStackCloud, &yes
			a.CustomCloudConfig = &secretstore.AzureCustomCloudConfig{ActiveDirectoryEndpoint: "https://login.local.azurestack.external/"}
		}, want: "has no Key Vault endpoint of its own; set keyVaultEndpoint or keyVaultDNSSuffix"},
		"an unknown authType":  {mod: func(a *secretstore.AzureKVProvider) { sp(nil)(a); a.AuthType = auth("Password") }, want: `not "Password"`},
		"a tenant with spaces": {mod: func(a *secretstore.AzureKVProvider) { sp(nil)(a); a.TenantID = str("my tenant") }, want: "is not a tenant ID"},
		"no authSecretRef":     {want: "authType ServicePrincipal needs spec.provider.azurekv.authSecretRef.clientId"},
		"no tenant":            {mod: func(a *secretstore.AzureKVProvider) { sp(nil)(a); a.TenantID = nil }, want: "needs spec.provider.azurekv.tenantId or authSecretRef.tenantId"},
		"neither secret nor certificate": {mod: func(a *secretstore.AzureKVProvider) {
			sp(nil)(a)
			a.AuthSecretRef.ClientSecret = nil
		}, want: "needs one of authSecretRef.clientSecret and authSecretRef.clientCertificate"},
		"both secret and certificate": {mod: func(a *secretstore.AzureKVProvider) {
			sp(nil)(a)
			a.AuthSecretRef.ClientCertificate = sel("sp", "cert", nil)
		}, want: "needs one of authSecretRef.clientSecret and authSecretRef.clientCertificate"},
		"a reference with no key": {mod: func(a *secretstore.AzureKVProvider) {
			sp(nil)(a)
			a.AuthSecretRef.ClientSecret.Key = ""
		}, want: "authSecretRef.clientSecret needs name and key"},
		"another namespace's Secret":        {mod: sp(&other), want: `may only name namespace "team-a"`},
		"a cluster store without namespace": {mod: sp(nil), cluster: true, want: "must set namespace"},
		"a ServiceAccount without a name": {mod: func(a *secretstore.AzureKVProvider) {
			a.AuthType, a.ServiceAccountRef = auth(secretstore.AzureWorkloadIdentity), &secretstore.ServiceAccountSelector{}
		}, want: "serviceAccountRef.name is not set"},
		"another namespace's ServiceAccount": {mod: func(a *secretstore.AzureKVProvider) {
			a.AuthType, a.ServiceAccountRef = auth(secretstore.AzureWorkloadIdentity), &secretstore.ServiceAccountSelector{Name: "sa", Namespace: &other}
		}, want: `may only name namespace "team-a"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := &secretstore.AzureKVProvider{VaultURL: str("https://my-vault.vault.azure.net")}
			if tc.mod != nil {
				tc.mod(a)
			}
			spec := secretstore.Spec{Provider: &secretstore.Provider{AzureKV: a}}
			var store secretstore.GenericStore = &secretstore.SecretStore{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "team-a"}, Spec: spec}
			if tc.cluster {
				store = &secretstore.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Spec: spec}
			}
			err := azure.New().ValidateStore(store)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
	if err := azure.New().ValidateStore(&secretstore.SecretStore{Spec: secretstore.Spec{Provider: &secretstore.Provider{}}}); err == nil {
		t.Error("a store without provider.azurekv must be an error")
	}
}

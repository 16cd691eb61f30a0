package azure_test

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/azureemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/azure"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

// A store reading Azure Key Vault as a service principal, pointed at the
// emulator, follows a rotation and reads an earlier version by its ID.
func Example() {
	emu := azureemu.New("my-vault")
	defer emu.Close()
	emu.AddApp(azureemu.App{ClientID: "6f1c2d3e-4b5a-4978-8a6b-5c4d3e2f1a0b", Secrets: []string{"sp-secret"}})
	first := emu.SetSecret("llm-keys", `{"ANTHROPIC_API_KEY":"sk-ant-1","OPENAI_API_KEY":"sk-1"}`)

	vaultURL, tenant := "https://my-vault.vault.azure.net", azureemu.TenantID
	store := &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "azure", Namespace: "team-a"},
		Spec: secretstore.Spec{Provider: &secretstore.Provider{AzureKV: &secretstore.AzureKVProvider{
			VaultURL: &vaultURL,
			TenantID: &tenant,
			AuthSecretRef: &secretstore.AzureKVAuth{
				ClientID:     &secretstore.SecretKeySelector{Name: "azure-secret-sp", Key: "ClientID"},
				ClientSecret: &secretstore.SecretKeySelector{Name: "azure-secret-sp", Key: "ClientSecret"},
			},
		}}},
	}
	// A host hands the provider its Secrets through provider.Credentials;
	// fake.Credentials holds them in memory.
	creds := &fake.Credentials{}
	creds.SetSecret("team-a", "azure-secret-sp", "ClientID", "6f1c2d3e-4b5a-4978-8a6b-5c4d3e2f1a0b")
	creds.SetSecret("team-a", "azure-secret-sp", "ClientSecret", "sp-secret")
	ctx := context.Background()
	client, err := azure.New(azure.WithHTTPClient(emu.Client())).NewClient(ctx, store, creds)
	if err != nil {
		fmt.Println(err)
		return
	}
	read := func(version string) string {
		s, err := client.GetSecret(ctx, provider.Ref{Key: "llm-keys", Version: version})
		if err != nil {
			return err.Error()
		}
		v, err := s.Property("ANTHROPIC_API_KEY")
		if err != nil {
			return err.Error()
		}
		return string(v)
	}
	fmt.Println(read(""))
	emu.SetSecret("llm-keys", `{"ANTHROPIC_API_KEY":"sk-ant-2","OPENAI_API_KEY":"sk-2"}`)
	fmt.Println(read(""), "after rotation;", read(first), "before")
	_, err = client.GetSecret(ctx, provider.Ref{Key: "llm-missing"})
	fmt.Println(err)
	fmt.Println(emu.Calls("secrets/get"), "reads,", emu.Calls("token"), "token request")
	// Output:
	// sk-ant-1
	// sk-ant-2 after rotation; sk-ant-1 before
	// secret "llm-missing" in SecretStore/team-a/azure: Key Vault GetSecret: 404 SecretNotFound: A secret with (name/id) llm-missing was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182
	// 4 reads, 1 token request
}

package azureemu_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/secretsync/secretsync/internal/azureemu"
)

// The real SDK reads from the emulator with its production settings: a
// service principal authenticates at login.microsoftonline.com, the
// client answers Key Vault's challenge, and the token is reused.
func Example() {
	emu := azureemu.New("my-vault")
	defer emu.Close()
	emu.AddApp(azureemu.App{ClientID: "11111111-2222-3333-4444-555555555555", Secrets: []string{"s3cret"}})
	emu.SetSecret("db-password", "one")
	emu.SetSecret("db-password", "two")

	opts := azcore.ClientOptions{Transport: emu.Client()}
	cred, err := azidentity.NewClientSecretCredential(azureemu.TenantID, "11111111-2222-3333-4444-555555555555", "s3cret",
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := azsecrets.NewClient(emu.VaultURL, cred, &azsecrets.ClientOptions{ClientOptions: opts})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, name := range []string{"db-password", "db-password"} {
		resp, err := client.GetSecret(ctx, name, "", nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(*resp.Value)
	}
	_, err = client.GetSecret(ctx, "missing", "", nil)
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		fmt.Println(re.StatusCode, re.ErrorCode)
	}
	fmt.Println(emu.Calls("challenge"), "challenge,", emu.Calls("token"), "token request,", emu.Calls("secrets/get"), "reads")
	// Output:
	// two
	// two
	// 404 SecretNotFound
	// 1 challenge, 1 token request, 3 reads
}

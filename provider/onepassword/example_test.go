package onepassword_test

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/onepassemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/provider/onepassword"
	"github.com/secretsync/secretsync/secretstore"
)

// A store with two vaults, pointed at the emulator: the staging vault
// overrides the shared one, and a rotation shows on the next read.
func Example() {
	emu := onepassemu.New()
	defer emu.Close()
	emu.AddVault("staging")
	emu.AddVault("shared")
	emu.PutItem("shared", onepassemu.Item{Title: "my-env-config", Fields: []onepassemu.Field{
		{Label: "user", Value: "app"}, {Label: "password", Value: "shared-1"},
	}})
	id := emu.PutItem("staging", onepassemu.Item{Title: "my-env-config", Fields: []onepassemu.Field{
		{Label: "user", Value: "app"}, {Label: "password", Value: "staging-1"},
	}})

	store := &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "staging", Namespace: "team-a"},
		Spec: secretstore.Spec{Provider: &secretstore.Provider{OnePassword: &secretstore.OnePasswordProvider{
			ConnectHost: emu.URL,
			Vaults:      map[string]int{"staging": 1, "shared": 2},
			Auth: &secretstore.OnePasswordAuth{SecretRef: &secretstore.OnePasswordAuthSecretRef{
				ConnectToken: secretstore.SecretKeySelector{Name: "onepassword-connect-token-staging", Key: "token"},
			}},
		}}},
	}
	// A host hands the provider its Secrets through provider.Credentials;
	// fake.Credentials holds them in memory.
	creds := &fake.Credentials{}
	creds.SetSecret("team-a", "onepassword-connect-token-staging", "token", onepassemu.Token)
	ctx := context.Background()
	client, err := onepassword.New(onepassword.WithHTTPClient(emu.Client())).NewClient(ctx, store, creds)
	if err != nil {
		fmt.Println(err)
		return
	}
	read := func() string {
		s, err := client.GetSecret(ctx, provider.Ref{Key: "my-env-config"})
		if err != nil {
			return err.Error()
		}
		v, err := s.Property("password")
		if err != nil {
			return err.Error()
		}
		return string(v)
	}
	fmt.Println(read())
	emu.PutItem("staging", onepassemu.Item{ID: id, Title: "my-env-config", Fields: []onepassemu.Field{
		{Label: "user", Value: "app"}, {Label: "password", Value: "staging-2"},
	}})
	fmt.Println(read(), "after rotation")
	_, err = client.GetSecret(ctx, provider.Ref{Key: "missing"})
	fmt.Println(err)
	fmt.Println(emu.Calls("ListVaults"), "vault lookups")
	// Output:
	// staging-1
	// staging-2 after rotation
	// item "missing" in SecretStore/team-a/staging: no item with this title in vaults "staging", "shared": not found
	// 2 vault lookups
}

package gcp_test

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/gcpemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/provider/gcp"
	"github.com/secretsync/secretsync/secretstore"
)

// A store reading Secret Manager with a service-account key, pointed at
// the emulator, follows a rotation, and with LatestOrFetch falls back to
// the newest enabled version when the latest is disabled.
func Example() {
	emu := gcpemu.New("acme-prod")
	defer emu.Close()
	emu.RequireAuthentication()
	key, err := emu.NewServiceAccountKey("reader@acme-prod.iam.gserviceaccount.com")
	if err != nil {
		fmt.Println(err)
		return
	}
	emu.PutSecret("llm-keys", `{"ANTHROPIC_API_KEY":"sk-ant-1","OPENAI_API_KEY":"sk-1"}`)

	store := &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "gcp", Namespace: "team-a"},
		Spec: secretstore.Spec{Provider: &secretstore.Provider{GCPSM: &secretstore.GCPSMProvider{
			ProjectID:                    "acme-prod",
			SecretVersionSelectionPolicy: gcp.LatestOrFetch,
			Auth: secretstore.GCPSMAuth{SecretRef: &secretstore.GCPSMAuthSecretRef{
				SecretAccessKey: secretstore.SecretKeySelector{Name: "gcp-sa", Key: "key.json"},
			}},
		}}},
	}
	// A host hands the provider its Secrets through provider.Credentials;
	// fake.Credentials holds them in memory.
	creds := &fake.Credentials{}
	creds.SetSecret("team-a", "gcp-sa", "key.json", string(key))
	ctx := context.Background()
	client, err := gcp.New(
		gcp.WithEndpoint(emu.Addr),
		gcp.WithGRPCDialOptions(emu.DialOptions()...),
		gcp.WithTokenURL(emu.TokenURL()),
	).NewClient(ctx, store, creds)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.(provider.Closer).Close(ctx)

	read := func() string {
		s, err := client.GetSecret(ctx, provider.Ref{Key: "llm-keys"})
		if err != nil {
			return err.Error()
		}
		v, err := s.Property("ANTHROPIC_API_KEY")
		if err != nil {
			return err.Error()
		}
		return string(v)
	}
	fmt.Println(read())
	v2 := emu.PutSecret("llm-keys", `{"ANTHROPIC_API_KEY":"sk-ant-2","OPENAI_API_KEY":"sk-2"}`)
	fmt.Println(read(), "after rotation")
	emu.SetVersionState("llm-keys", v2, gcpemu.Disabled)
	fmt.Println(read(), "with version", v2, "disabled")
	_, err = client.GetSecret(ctx, provider.Ref{Key: "missing"})
	fmt.Println(err)
	fmt.Println(emu.Calls("AccessSecretVersion"), "AccessSecretVersion calls,", emu.Calls("oauth2.token"), "token request")
	// Output:
	// sk-ant-1
	// sk-ant-2 after rotation
	// sk-ant-1 with version 2 disabled
	// secret "missing" in SecretStore/team-a/gcp: Secret Manager AccessSecretVersion: NotFound: Secret [projects/100000000001/secrets/missing] not found or has no versions.
	// 5 AccessSecretVersion calls, 1 token request
}

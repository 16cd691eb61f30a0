package doppler_test

import (
	"context"
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/internal/doppleremu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/doppler"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

// A store with a service token, pointed at the emulator, reads one
// secret and then fetches all: the first read downloads the config, and
// each later read of the unchanged config costs a 304.
func Example() {
	emu := doppleremu.New()
	defer emu.Close()
	emu.SetSecret("auth-api", "prd", "DB_USER", "admin")
	emu.SetSecret("auth-api", "prd", "DB_URL", "postgres://${DB_USER}@db")
	emu.AddServiceToken("dp.st.prd.example", "auth-api", "prd")

	store := &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "doppler-auth-api", Namespace: "team-a"},
		Spec: secretstore.Spec{Provider: &secretstore.Provider{Doppler: &secretstore.DopplerProvider{
			Auth: &secretstore.DopplerAuth{SecretRef: &secretstore.DopplerAuthSecretRef{
				DopplerToken: secretstore.SecretKeySelector{Name: "doppler-token-auth-api", Key: "dopplerToken"},
			}},
		}}},
	}
	// A host hands the provider its Secrets through provider.Credentials;
	// fake.Credentials holds them in memory.
	creds := &fake.Credentials{}
	creds.SetSecret("team-a", "doppler-token-auth-api", "dopplerToken", "dp.st.prd.example")
	ctx := context.Background()
	client, err := doppler.New(doppler.WithBaseURL(emu.URL), doppler.WithHTTPClient(emu.Client())).NewClient(ctx, store, creds)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := client.GetSecret(ctx, provider.Ref{Key: "DB_URL"})
	if err != nil {
		fmt.Println(err)
		return
	}
	v, _ := s.Value()
	fmt.Println(string(v))

	for range 2 {
		all, err := client.(provider.Finder).Find(ctx, provider.Find{Name: ".*"})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(len(all), "secrets")
	}
	fmt.Println(emu.CallsWithStatus("download", http.StatusOK), "download,", emu.CallsWithStatus("download", http.StatusNotModified), "not modified")
	_, err = client.GetSecret(ctx, provider.Ref{Key: "NOPE"})
	fmt.Println(err)
	// Output:
	// postgres://admin@db
	// 2 secrets
	// 2 secrets
	// 1 download, 2 not modified
	// secret "NOPE" in SecretStore/team-a/doppler-auth-api: not found in the config
}

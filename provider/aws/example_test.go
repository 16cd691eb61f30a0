package aws_test

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

// A store reading Secrets Manager with static keys, pointed at the
// emulator, follows a rotation.
func Example() {
	emu := awsemu.New("eu-west-1")
	defer emu.Close()
	emu.PutSecret("prod/llm", `{"ANTHROPIC_API_KEY":"sk-ant-1","OPENAI_API_KEY":"sk-1"}`)

	store := &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "aws", Namespace: "team-a"},
		Spec: secretstore.Spec{Provider: &secretstore.Provider{AWS: &secretstore.AWSProvider{
			Service: secretstore.AWSServiceSecretsManager,
			Region:  "eu-west-1",
			Auth: secretstore.AWSAuth{SecretRef: &secretstore.AWSAuthSecretRef{
				AccessKeyID:     secretstore.SecretKeySelector{Name: "aws-creds", Key: "access-key-id"},
				SecretAccessKey: secretstore.SecretKeySelector{Name: "aws-creds", Key: "secret-access-key"},
			}},
		}}},
	}
	// A host hands the provider its Secrets through provider.Credentials;
	// fake.Credentials holds them in memory.
	creds := &fake.Credentials{}
	creds.SetSecret("team-a", "aws-creds", "access-key-id", awsemu.AccessKeyID)
	creds.SetSecret("team-a", "aws-creds", "secret-access-key", awsemu.SecretAccessKey)
	ctx := context.Background()
	client, err := aws.New(aws.WithEndpoint(emu.URL)).NewClient(ctx, store, creds)
	if err != nil {
		fmt.Println(err)
		return
	}
	read := func(version string) string {
		s, err := client.GetSecret(ctx, provider.Ref{Key: "prod/llm", Version: version})
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
	emu.PutSecret("prod/llm", `{"ANTHROPIC_API_KEY":"sk-ant-2","OPENAI_API_KEY":"sk-2"}`)
	fmt.Println(read(""), "after rotation;", read("AWSPREVIOUS"), "before")
	_, err = client.GetSecret(ctx, provider.Ref{Key: "prod/missing"})
	fmt.Println(err)
	fmt.Println(emu.Calls("secretsmanager:GetSecretValue"), "GetSecretValue calls")
	// Output:
	// sk-ant-1
	// sk-ant-2 after rotation; sk-ant-1 before
	// secret "prod/missing" in SecretStore/team-a/aws: Secrets Manager GetSecretValue: ResourceNotFoundException: Secrets Manager can't find the specified secret.
	// 4 GetSecretValue calls
}

// A store's client is a provider.Pusher: PushSecret creates the secret,
// tagged as ESO tags what it creates, and merges a property into it;
// DeleteSecret removes the property, then the secret.
func Example_push() {
	emu := awsemu.New("eu-west-1")
	defer emu.Close()
	store := &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "aws", Namespace: "team-a"},
		Spec: secretstore.Spec{Provider: &secretstore.Provider{AWS: &secretstore.AWSProvider{
			Service: secretstore.AWSServiceSecretsManager,
			Region:  "eu-west-1",
			Auth: secretstore.AWSAuth{SecretRef: &secretstore.AWSAuthSecretRef{
				AccessKeyID:     secretstore.SecretKeySelector{Name: "aws-creds", Key: "access-key-id"},
				SecretAccessKey: secretstore.SecretKeySelector{Name: "aws-creds", Key: "secret-access-key"},
			}},
			SecretsManager: &secretstore.AWSSecretsManager{RecoveryWindowInDays: 7},
		}}},
	}
	creds := &fake.Credentials{}
	creds.SetSecret("team-a", "aws-creds", "access-key-id", awsemu.AccessKeyID)
	creds.SetSecret("team-a", "aws-creds", "secret-access-key", awsemu.SecretAccessKey)
	ctx := context.Background()
	client, err := aws.New(aws.WithEndpoint(emu.URL)).NewClient(ctx, store, creds)
	if err != nil {
		fmt.Println(err)
		return
	}
	pusher := client.(provider.Pusher)
	metadata := []byte(`{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata",
		"spec":{"secretPushFormat":"string","tags":{"team":"a"}}}`)
	for _, p := range []struct{ property, value string }{{"user", "app"}, {"password", "s3cret"}} {
		err := pusher.PushSecret(ctx, []byte(p.value), provider.Push{RemoteKey: "prod/db", Property: p.property, Metadata: metadata})
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	s, _ := emu.Secret("prod/db")
	fmt.Println(*s.String, s.Tags["team"], s.Tags["managed-by"])

	for _, property := range []string{"password", "user"} {
		if err := pusher.DeleteSecret(ctx, provider.Push{RemoteKey: "prod/db", Property: property, Metadata: metadata}); err != nil {
			fmt.Println(err)
			return
		}
		s, _ := emu.Secret("prod/db")
		fmt.Println(*s.String, "recovery window", s.RecoveryWindowInDays)
	}
	// Output:
	// {"password":"s3cret","user":"app"} a external-secrets
	// {"user":"app"} recovery window 0
	// {"user":"app"} recovery window 7
}

// An ECRAuthorizationToken generator makes a docker login for the
// registry, valid as long as the token.
func ExampleNewECRGenerator() {
	emu := awsemu.New("eu-west-1")
	defer emu.Close()
	creds := &fake.Credentials{}
	creds.SetSecret("team-a", "aws-creds", "access-key-id", awsemu.AccessKeyID)
	creds.SetSecret("team-a", "aws-creds", "secret-access-key", awsemu.SecretAccessKey)

	token := &generators.ECRAuthorizationToken{
		ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: "team-a"},
		Spec: generators.ECRAuthorizationTokenSpec{
			Region: "eu-west-1",
			Auth: secretstore.AWSAuth{SecretRef: &secretstore.AWSAuthSecretRef{
				AccessKeyID:     secretstore.SecretKeySelector{Name: "aws-creds", Key: "access-key-id"},
				SecretAccessKey: secretstore.SecretKeySelector{Name: "aws-creds", Key: "secret-access-key"},
			}},
		},
	}
	res, err := aws.NewECRGenerator(aws.WithEndpoint(emu.URL)).Generate(context.Background(), token, creds, "team-a")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(res.Values["username"]), string(res.Values["proxy_endpoint"]))
	fmt.Println("good for", res.TTL.Round(time.Hour))
	// Output:
	// AWS https://123456789012.dkr.ecr.eu-west-1.amazonaws.com
	// good for 12h0m0s
}

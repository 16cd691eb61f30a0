package awsemu_test

import (
	"context"
	"fmt"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/secretsync/secretsync/internal/awsemu"
)

// The real SDK client reads from the emulator, which counts the call and
// follows a rotation.
func Example() {
	emu := awsemu.New("eu-west-1")
	defer emu.Close()
	emu.PutSecret("prod/db", `{"password":"one"}`)
	emu.PutSecret("prod/db", `{"password":"two"}`)

	client := secretsmanager.NewFromConfig(sdkaws.Config{
		Region:       "eu-west-1",
		BaseEndpoint: sdkaws.String(emu.URL),
		HTTPClient:   emu.Client(),
		Credentials:  credentials.NewStaticCredentialsProvider(awsemu.AccessKeyID, awsemu.SecretAccessKey, ""),
	})
	for _, stage := range []string{"AWSCURRENT", "AWSPREVIOUS"} {
		out, err := client.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{
			SecretId: sdkaws.String("prod/db"), VersionStage: &stage,
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(stage, *out.SecretString)
	}
	_, err := client.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: sdkaws.String("prod/none")})
	fmt.Println(code(err))
	fmt.Println(emu.Calls("secretsmanager:GetSecretValue"), "calls")
	// Output:
	// AWSCURRENT {"password":"two"}
	// AWSPREVIOUS {"password":"one"}
	// ResourceNotFoundException
	// 3 calls
}

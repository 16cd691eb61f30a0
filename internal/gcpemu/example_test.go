package gcpemu_test

import (
	"context"
	"fmt"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/option"

	"github.com/secretsync/secretsync/internal/gcpemu"
)

// The real Secret Manager client reads from the emulator; a disabled
// latest version fails as it does on GCP.
func Example() {
	emu := gcpemu.New("acme-prod")
	defer emu.Close()
	emu.PutSecret("db", "v1")
	v2 := emu.PutSecret("db", "v2")

	ctx := context.Background()
	opts := []option.ClientOption{option.WithEndpoint(emu.Addr), option.WithoutAuthentication()}
	for _, d := range emu.DialOptions() {
		opts = append(opts, option.WithGRPCDialOption(d))
	}
	c, err := secretmanager.NewClient(ctx, opts...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	access := func() {
		resp, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/acme-prod/secrets/db/versions/latest"})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(resp.GetName(), string(resp.GetPayload().GetData()))
	}
	access()
	emu.SetVersionState("db", v2, gcpemu.Disabled)
	access()
	fmt.Println(emu.Calls("AccessSecretVersion"), "calls")
	// Output:
	// projects/100000000001/secrets/db/versions/2 v2
	// rpc error: code = FailedPrecondition desc = Secret Version [projects/100000000001/secrets/db/versions/2] is in DISABLED state.
	// 2 calls
}

package conformance_test

import (
	"fmt"
	"os"
	"path/filepath"
)

// The examples are grouped by the spec.provider field of their stores,
// the targets that are not Secrets under manifest, and PushSecrets under
// pushsecret.
func Example() {
	dirs, _ := os.ReadDir(filepath.Join("testdata", "eso-docs"))
	for _, d := range dirs {
		fmt.Println(d.Name())
	}
	// Output:
	// aws
	// azurekv
	// doppler
	// fake
	// gcpsm
	// kubernetes
	// manifest
	// onepassword
	// pushsecret
	// vault
}

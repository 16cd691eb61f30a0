package main

import (
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

// Every resource a kustomization under config/ lists exists, so
// `kubectl apply -k config/default` finds all it needs.
func TestKustomizationsResolve(t *testing.T) {
	files, err := filepath.Glob("../../config/*/kustomization.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("found %d kustomizations: %v", len(files), err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var k struct {
			Resources []string `json:"resources"`
		}
		if err := yaml.UnmarshalStrict(raw, &k); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(k.Resources) == 0 {
			t.Errorf("%s lists no resources", f)
		}
		for _, r := range k.Resources {
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), r)); err != nil {
				t.Errorf("%s: resource %s: %v", f, r, err)
			}
		}
	}
}

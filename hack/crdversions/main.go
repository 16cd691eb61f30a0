// Command crdversions adds the served v1beta1 version to the CRDs that
// controller-gen writes for v1, so manifests written for either version
// apply unchanged. Both versions share one schema, so no conversion
// webhook is needed: the apiserver only rewrites apiVersion.
//
// Usage: go run ./hack/crdversions FILE...
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

func main() {
	for _, path := range os.Args[1:] {
		if err := addV1beta1(path); err != nil {
			fmt.Fprintf(os.Stderr, "crdversions: %s: %v\n", path, err)
			os.Exit(1)
		}
	}
}

func addV1beta1(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var crd map[string]any
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		return err
	}
	spec, _ := crd["spec"].(map[string]any)
	versions, _ := spec["versions"].([]any)
	var v1 map[string]any
	for _, v := range versions {
		m, _ := v.(map[string]any)
		switch m["name"] {
		case "v1beta1":
			return nil
		case "v1":
			v1 = m
		}
	}
	if v1 == nil {
		// A kind ESO serves at v1alpha1 only, such as PushSecret, is
		// served as it is.
		return nil
	}
	beta := make(map[string]any, len(v1))
	for k, v := range v1 {
		beta[k] = v
	}
	beta["name"] = "v1beta1"
	beta["storage"] = false
	beta["served"] = true
	spec["versions"] = append(versions, beta)
	out, err := yaml.Marshal(crd)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte("---\n"), out...), 0o644)
}

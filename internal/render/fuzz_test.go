package render

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// FuzzManifest feeds manifests, seeded with the examples, through the
// whole offline path: YAML decoding, v1alpha1 conversion, store and
// ExternalSecret checks, the fake provider, rewrites and templates. It
// must never panic, and whatever it prints is Secret manifests.
func FuzzManifest(f *testing.F) {
	files, _ := filepath.Glob("../../examples/*.yaml")
	seeds, _ := filepath.Glob("../../examples/seeds/*.yaml")
	for _, file := range append(files, seeds...) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("kind: ExternalSecret\napiVersion: external-secrets.io/v1\nmetadata: {name: x}\nspec: {data: [{remoteRef: {}}]}\n"))
	f.Add([]byte("---\n---\n: :\n\t- ["))
	opts := options(f, nil)
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 64<<10 {
			t.Skip()
		}
		var out bytes.Buffer
		opts := opts
		opts.Warnings = nil
		err := Render(context.Background(), bytes.NewReader(in), &out, opts)
		if err != nil && err.Error() == "" {
			t.Fatal("an error with no message")
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(&out))
		for {
			doc, rerr := reader.Read()
			if rerr != nil {
				break
			}
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			var s corev1.Secret
			if err := yaml.UnmarshalStrict(doc, &s); err != nil {
				t.Fatalf("printed a document that is not a Secret: %v\n%s", err, doc)
			}
			if s.Kind != "Secret" || s.Name == "" {
				t.Fatalf("printed kind %q name %q", s.Kind, s.Name)
			}
		}
	})
}

package render

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/reconcile"
)

// The External Secrets Operator's documentation examples of targets that
// are not Secrets (testdata/manifest) render to the resource the guide
// describes, given in <case>.want.yaml without secretsync's own metadata,
// and to their golden file.
func TestRenderManifestTargets(t *testing.T) {
	files, err := filepath.Glob("testdata/manifest/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.yaml") || strings.HasSuffix(file, ".want.yaml") {
			continue
		}
		n++
		base := strings.TrimSuffix(file, ".yaml")
		t.Run(filepath.Base(base), func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var out, warnings bytes.Buffer
			if err := Render(context.Background(), bytes.NewReader(in), &out, options(t, &warnings)); err != nil {
				t.Fatalf("render: %v\nwarnings:\n%s", err, warnings.String())
			}
			if warnings.Len() > 0 {
				t.Errorf("unexpected warnings:\n%s", warnings.String())
			}
			if *update {
				if err := os.WriteFile(base+".golden.yaml", out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(base + ".golden.yaml")
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(golden), out.String()); diff != "" {
				t.Errorf("rendered (-want +got):\n%s", diff)
			}

			var got, want map[string]any
			if err := yaml.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(base + ".want.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.UnmarshalStrict(raw, &want); err != nil {
				t.Fatal(err)
			}
			meta := got["metadata"].(map[string]any)
			if meta["labels"].(map[string]any)[reconcile.LabelManaged] != "true" {
				t.Errorf("labels %v lack %s", meta["labels"], reconcile.LabelManaged)
			}
			if _, ok := meta["annotations"].(map[string]any)[reconcile.AnnotationDataHash]; !ok {
				t.Errorf("annotations %v lack %s", meta["annotations"], reconcile.AnnotationDataHash)
			}
			if refs, _ := meta["ownerReferences"].([]any); len(refs) != 1 {
				t.Errorf("ownerReferences %v, want the ExternalSecret", meta["ownerReferences"])
			}
			for _, m := range []string{"labels", "annotations"} {
				own := meta[m].(map[string]any)
				delete(own, reconcile.LabelManaged)
				delete(own, reconcile.AnnotationDataHash)
				if len(own) == 0 {
					delete(meta, m)
				}
			}
			delete(meta, "ownerReferences")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("target (-want +got):\n%s", diff)
			}
		})
	}
	if n != 5 {
		t.Errorf("found %d examples, want the guide's 5", n)
	}
}

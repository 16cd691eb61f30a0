package render

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/internal/kubeapply"
)

// wantSecret is one Secret of a <case>.want.yaml file under
// testdata/fidelity: what the External Secrets Operator writes for the
// ExternalSecrets of <case>.yaml, values decoded. Labels and annotations
// are all but secretsync's own. The controller's fidelity test, in
// examples/controller, holds the controller to the same files.
type wantSecret struct {
	Name        string            `json:"name"`
	Data        map[string]string `json:"data"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Finalizers  []string          `json:"finalizers"`
	// Error, when set, is part of the error the ExternalSecret fails with;
	// it writes no Secret.
	Error string `json:"error"`
}

// Each input under testdata/fidelity renders to the Secrets its want file
// lists, and to its golden file.
func TestRenderFidelity(t *testing.T) {
	files, err := filepath.Glob("testdata/fidelity/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".golden.yaml") && !strings.HasSuffix(f, ".want.yaml") {
			inputs = append(inputs, f)
		}
	}
	if len(inputs) < 5 {
		t.Fatalf("found only %d inputs", len(inputs))
	}
	for _, file := range inputs {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			var want []wantSecret
			wantRaw, err := os.ReadFile(strings.TrimSuffix(file, ".yaml") + ".want.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.UnmarshalStrict(wantRaw, &want); err != nil {
				t.Fatal(err)
			}
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var out, warnings bytes.Buffer
			err = Render(context.Background(), bytes.NewReader(in), &out, options(t, &warnings))
			var written []wantSecret
			for _, w := range want {
				if w.Error == "" {
					written = append(written, w)
					continue
				}
				if err == nil || !strings.Contains(err.Error(), w.Error) {
					t.Errorf("want an error with %q, got %v", w.Error, err)
				}
			}
			if len(written) == len(want) && err != nil {
				t.Fatalf("render: %v\nwarnings:\n%s", err, warnings.String())
			}
			if err != nil && strings.Contains(err.Error(), "CANARY") {
				t.Errorf("the error shows a secret value: %v", err)
			}
			if warnings.Len() > 0 {
				t.Errorf("unexpected warnings:\n%s", warnings.String())
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".golden.yaml"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantOut, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(wantOut), out.String()); diff != "" {
				t.Errorf("rendered Secrets (-want +got):\n%s", diff)
			}
			objs, err := kubeapply.Decode(out.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != len(written) {
				t.Fatalf("%d Secrets rendered, want %d", len(objs), len(written))
			}
			for i, u := range objs {
				raw, err := yaml.Marshal(u.Object)
				if err != nil {
					t.Fatal(err)
				}
				s := &corev1.Secret{}
				if err := yaml.Unmarshal(raw, s); err != nil {
					t.Fatal(err)
				}
				checkSecret(t, written[i], s)
			}
		})
	}
}

// checkSecret compares s with w: its data, and the labels and annotations
// besides secretsync's own.
func checkSecret(t *testing.T, w wantSecret, s *corev1.Secret) {
	t.Helper()
	if s.Name != w.Name {
		t.Errorf("Secret %s, want %s", s.Name, w.Name)
	}
	data := map[string]string{}
	for k, v := range s.Data {
		data[k] = string(v)
	}
	if diff := cmp.Diff(w.Data, data); diff != "" {
		t.Errorf("Secret %s data (-want +got):\n%s", s.Name, diff)
	}
	if diff := cmp.Diff(w.Finalizers, s.Finalizers, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Secret %s finalizers (-want +got):\n%s", s.Name, diff)
	}
	own := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			if !strings.HasPrefix(k, "secretsync.io/") {
				out[k] = v
			}
		}
		return out
	}
	for _, c := range []struct {
		what      string
		want, got map[string]string
	}{{"labels", w.Labels, s.Labels}, {"annotations", w.Annotations, s.Annotations}} {
		want := c.want
		if want == nil {
			want = map[string]string{}
		}
		if diff := cmp.Diff(want, own(c.got)); diff != "" {
			t.Errorf("Secret %s %s (-want +got):\n%s", s.Name, c.what, diff)
		}
	}
}

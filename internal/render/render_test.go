package render

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func options(t testing.TB, warnings *bytes.Buffer) Options {
	t.Helper()
	reg, err := provider.NewRegistry(fake.New())
	if err != nil {
		t.Fatal(err)
	}
	return Options{Registry: reg, Now: now, Warnings: warnings}
}

// Every example renders to the Secret in its golden file.
func TestRenderExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	seeds, _ := filepath.Glob("../../examples/seeds/*.yaml")
	files = append(files, seeds...)
	if len(files) < 5 {
		t.Fatalf("found only %d examples", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			in, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			var out, warnings bytes.Buffer
			if err := Render(context.Background(), in, &out, options(t, &warnings)); err != nil {
				t.Fatalf("render: %v\nwarnings:\n%s", err, warnings.String())
			}
			if warnings.Len() > 0 {
				t.Errorf("unexpected warnings:\n%s", warnings.String())
			}
			golden := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("rendered Secret (-want +got):\n%s", diff)
			}
		})
	}
}

const store = `apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: s, namespace: ns}
spec:
  provider:
    fake:
      data:
      - key: db
        value: '{"password":"CANARY-value-5d1c"}'
      - key: big
        value: BIGVALUE
---
`

func es(spec string) string {
	return store + `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: ns}
spec:
  secretStoreRef: {name: s, kind: SecretStore}
` + spec
}

func TestRenderBadInput(t *testing.T) {
	tests := map[string]struct {
		input   string
		wantErr string
	}{
		"a malformed manifest": {
			input:   "apiVersion: v1\nkind: [unclosed\n",
			wantErr: "document 1",
		},
		"not a manifest": {
			input:   "just: data\n",
			wantErr: "apiVersion and kind are required",
		},
		"no ExternalSecret": {
			input:   strings.TrimSuffix(store, "---\n"),
			wantErr: "no ExternalSecret",
		},
		"an unknown store kind": {
			input: strings.Replace(es(`  data:
  - secretKey: p
    remoteRef: {key: db, property: password}
`), "kind: SecretStore}", "kind: VaultStore}", 1),
			wantErr: `spec.secretStoreRef.kind: Unsupported value: "VaultStore"`,
		},
		"a store missing from the input": {
			input: strings.Replace(es(`  data:
  - secretKey: p
    remoteRef: {key: db, property: password}
`), "{name: s, kind", "{name: other, kind", 1),
			wantErr: `SecretStore "other" not found in the input`,
		},
		"a missing key": {
			input: es(`  data:
  - secretKey: p
    remoteRef: {key: nope}
`),
			wantErr: `remote key "nope"`,
		},
		"a missing property": {
			input: es(`  data:
  - secretKey: p
    remoteRef: {key: db, property: user}
`),
			wantErr: `property "user"`,
		},
		"a bad template": {
			input: es(`  target:
    template:
      data:
        out: '{{ .p | nosuchfunc }}'
  data:
  - secretKey: p
    remoteRef: {key: db, property: password}
`),
			wantErr: "nosuchfunc",
		},
		"a template that calls env": {
			input: es(`  target:
    template:
      data:
        out: '{{ env "HOME" }}'
  data:
  - secretKey: p
    remoteRef: {key: db, property: password}
`),
			wantErr: `"env" not defined`,
		},
		"a value over 1 MiB": {
			input: strings.Replace(es(`  data:
  - secretKey: p
    remoteRef: {key: big}
`), "BIGVALUE", strings.Repeat("x", 1<<20+1), 1),
			wantErr: "over the limit",
		},
		"an unsupported provider": {
			input: `apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: s, namespace: ns}
spec:
  provider:
    aws: {service: SecretsManager, region: us-east-1}
---
` + strings.TrimPrefix(es(`  data:
  - secretKey: p
    remoteRef: {key: db}
`), store),
			wantErr: `provider "aws" is not supported here`,
		},
		"an unsupported API version": {
			input:   "apiVersion: external-secrets.io/v2\nkind: ExternalSecret\nmetadata: {name: x}\n",
			wantErr: "is not supported",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out, warnings bytes.Buffer
			err := Render(context.Background(), strings.NewReader(tc.input), &out, options(t, &warnings))
			if err == nil {
				t.Fatalf("want an error containing %q, got none; output:\n%s", tc.wantErr, out.String())
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("want an error containing %q, got: %v", tc.wantErr, err)
			}
			for _, text := range []string{err.Error(), warnings.String()} {
				if strings.Contains(text, "CANARY-value-5d1c") {
					t.Errorf("secret value in error or warnings: %s", text)
				}
			}
		})
	}
}

// A store with a field render does not know still renders, with a
// warning; an ExternalSecret with one is refused (see invalid_test.go).
func TestRenderWarnsOnUnknownFields(t *testing.T) {
	input := strings.Replace(es(`  data:
  - secretKey: p
    remoteRef: {key: db, property: password}
`), "  provider:\n", "  unknownField: 1\n  provider:\n", 1)
	var out, warnings bytes.Buffer
	if err := Render(context.Background(), strings.NewReader(input), &out, options(t, &warnings)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warnings.String(), "unknownField") {
		t.Errorf("want a warning naming the unknown field, got %q", warnings.String())
	}
}

func TestRenderMergeUsesExistingSecret(t *testing.T) {
	input := es(`  target:
    name: existing
    creationPolicy: Merge
  data:
  - secretKey: p
    remoteRef: {key: db, property: password}
`) + `---
apiVersion: v1
kind: Secret
metadata: {name: existing, namespace: ns}
stringData: {other: kept}
`
	var out, warnings bytes.Buffer
	if err := Render(context.Background(), strings.NewReader(input), &out, options(t, &warnings)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"other: a2VwdA==", "p: Q0FOQVJZLXZhbHVlLTVkMWM="} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

package externalsecret

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptrTo[T any](v T) *T { return &v }

func validES(mods ...func(*ExternalSecret)) *ExternalSecret {
	es := &ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "team-a"},
		Spec: ExternalSecretSpec{
			SecretStoreRef: SecretStoreRef{Name: "store"},
			Data:           []Data{{SecretKey: "p", RemoteRef: RemoteRef{Key: "db"}}},
		},
	}
	for _, m := range mods {
		m(es)
	}
	return es
}

// The invalid cases, held against the apiserver, are in
// internal/render/invalid_test.go; these check what it cannot show.
func TestValidate(t *testing.T) {
	tests := map[string]struct {
		es      *ExternalSecret
		wantErr string
	}{
		"valid": {es: validES()},
		"unset enums take their defaults": {es: validES(func(es *ExternalSecret) {
			es.Spec.Target.DeletionPolicy = DeletionPolicyDelete
		})},
		"duplicate secretKeys, whatever the deletionPolicy": {
			es: validES(func(es *ExternalSecret) {
				es.Spec.Target.DeletionPolicy = DeletionPolicyMerge
				es.Spec.Data = append(es.Spec.Data, es.Spec.Data[0])
			}),
			wantErr: `spec.data[1].secretKey: Duplicate value: "p"`,
		},
		"a secretKey over 253 characters": {
			es: validES(func(es *ExternalSecret) {
				es.Spec.Data[0].SecretKey = strings.Repeat("k", 254)
			}),
			wantErr: "spec.data[0].secretKey: Too long",
		},
		// The CRD cannot hold this rule: CEL over every templateFrom entry
		// costs more than the apiserver allows.
		"a field path target without a manifest": {
			es: validES(func(es *ExternalSecret) {
				es.Spec.Target.Template = &Template{TemplateFrom: []TemplateFrom{{Literal: ptrTo("a: b"), Target: "spec.database"}}}
			}),
			wantErr: "spec.target.template.templateFrom[0].target: Invalid value: \"spec.database\": a templateFrom target that is a field path needs target.manifest",
		},
		"a field path target with a manifest": {es: validES(func(es *ExternalSecret) {
			es.Spec.Target.Manifest = &Manifest{APIVersion: "config.example.com/v1", Kind: "AppConfig"}
			es.Spec.Target.Template = &Template{TemplateFrom: []TemplateFrom{{Literal: ptrTo("a: b"), Target: "spec.database"}, {Literal: ptrTo("a: b"), Target: "labels"}}}
		})},
		"zero refreshInterval": {es: validES(func(es *ExternalSecret) {
			es.Spec.RefreshInterval = &metav1.Duration{}
		})},
		"negative refreshInterval": {
			es: validES(func(es *ExternalSecret) {
				es.Spec.RefreshInterval = &metav1.Duration{Duration: -time.Second}
			}),
			wantErr: "spec.refreshInterval",
		},
		"no name": {
			es:      validES(func(es *ExternalSecret) { es.Name = "" }),
			wantErr: "metadata.name: Required value",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := tc.es.DeepCopy()
			err := Validate(tc.es)
			if diff := cmp.Diff(before, tc.es); diff != "" {
				t.Errorf("Validate modified its input:\n%s", diff)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("want an error with %q, got %v", tc.wantErr, err)
			}
		})
	}
}

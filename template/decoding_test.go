package template_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/template"
)

// valuesDecodingStrategy decodes what a templateFrom entry renders; the
// values of template.data are never decoded.
func TestRenderValuesDecodingStrategy(t *testing.T) {
	configMaps := map[string]map[string]string{"tpl": {"token": "{{ .pass | b64enc }}"}}
	tests := map[string]struct {
		tpl     externalsecret.Template
		want    map[string][]byte
		wantErr string
	}{
		"a literal, Base64": {
			tpl: externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{
				Literal: ptr("decoded: SGVsbG8=\nuser: '{{ .user | b64enc }}'"), ValuesDecodingStrategy: externalsecret.DecodeBase64,
			}}},
			want: map[string][]byte{"decoded": []byte("Hello"), "user": []byte("admin")},
		},
		"a ConfigMap item, Auto": {
			tpl: externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{
				ConfigMap:              &externalsecret.TemplateRef{Name: "tpl", Items: []externalsecret.TemplateRefItem{{Key: "token"}}},
				ValuesDecodingStrategy: externalsecret.DecodeAuto,
			}}},
			want: map[string][]byte{"token": []byte("CANARY-s3cret")},
		},
		"None keeps the rendered value": {
			tpl: externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{
				Literal: ptr("encoded: SGVsbG8="), ValuesDecodingStrategy: externalsecret.DecodeNone,
			}}},
			want: map[string][]byte{"encoded": []byte("SGVsbG8=")},
		},
		"template.data is not decoded": {
			tpl: externalsecret.Template{
				Data:         map[string]string{"plain": "SGVsbG8="},
				TemplateFrom: []externalsecret.TemplateFrom{{Literal: ptr("decoded: SGVsbG8="), ValuesDecodingStrategy: externalsecret.DecodeBase64}},
			},
			want: map[string][]byte{"decoded": []byte("Hello"), "plain": []byte("SGVsbG8=")},
		},
		"a value that does not decode": {
			tpl: externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{
				Literal: ptr("bad: '{{ .pass }}!'"), ValuesDecodingStrategy: externalsecret.DecodeBase64,
			}}},
			wantErr: `templateFrom[0]: rendered value of key "bad": valuesDecodingStrategy Base64`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := template.Render(template.Input{
				Template:   &tc.tpl,
				Data:       map[string][]byte{"user": []byte("admin"), "pass": []byte("CANARY-s3cret")},
				ConfigMaps: configMaps,
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error with %q, got %v", tc.wantErr, err)
				}
				if strings.Contains(err.Error(), "CANARY") {
					t.Errorf("the error shows a value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.Data); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
		})
	}
}

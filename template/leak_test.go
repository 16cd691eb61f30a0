package template_test

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/template"
)

// canary is a secret value no error may show. The parenthesis makes it an
// invalid regular expression and the quote and newline give it an escaped
// form.
const canary = "CANARY(7f3a9c1e\"do-not-leak\n-4b2d"

// canaryForms are the canary and what templates below derive from it.
var canaryForms = []string{
	canary,
	strings.ToUpper(canary),
	base64.StdEncoding.EncodeToString([]byte(canary)),
	strconv.Quote(canary),
	"CANARY(7f3a9c1e", // a fragment
	"do-not-leak",
}

func checkNoCanary(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, form := range canaryForms {
		if strings.Contains(err.Error(), form) {
			t.Fatalf("error shows the secret %q: %v", form, err)
		}
	}
}

func TestNoSecretInErrors(t *testing.T) {
	p := newPKI(t)
	tpls := map[string]string{
		"fail":                       `{{ fail .canary }}`,
		"fail of a derived value":    `{{ .canary | upper | fail }}`,
		"fail of base64":             `{{ .canary | b64enc | fail }}`,
		"fail of printf":             `{{ printf "value is %s" .canary | fail }}`,
		"fail of a JSON dict":        `{{ dict "v" .canary | toJson | fail }}`,
		"fail of a quoted value":     `{{ .canary | quote | fail }}`,
		"fail of a fragment":         `{{ .canary | trunc 15 | fail }}`,
		"fail of fromYaml's Error":   `{{ (fromYaml .canary).Error | fail }}`,
		"missing key after printing": `{{ .canary }}{{ .missing }}`,
		"field of a string":          `{{ .canary.field }}`,
		"range over a string":        `{{ range .canary }}{{ end }}`,
		"range over a derived value": `{{ range (.canary | upper) }}{{ end }}`,
		"index out of range":         `{{ index .canary 1000 }}`,
		"wrong argument type":        `{{ b64enc (list .canary) }}`,
		"printf with a bad verb":     `{{ printf "%d" .canary | fail }}`,
		"pkcs12key":                  `{{ .canary | pkcs12key }}`,
		"pkcs12keyPass":              `{{ pkcs12keyPass .canary .canary }}`,
		"pkcs12cert":                 `{{ .canary | pkcs12cert }}`,
		"pkcs12certPass":             `{{ pkcs12certPass .canary .canary }}`,
		"pemToPkcs12":                `{{ pemToPkcs12 .canary .canary }}`,
		"pemToPkcs12Pass with a key": `{{ pemToPkcs12Pass .cert .canary .canary }}`,
		"fullPemToPkcs12":            `{{ fullPemToPkcs12 .canary .canary }}`,
		"pemTruststoreToPKCS12":      `{{ pemTruststoreToPKCS12 .canary }}`,
		"filterPEM":                  `{{ filterPEM "CERTIFICATE" .canary }}`,
		"filterCertChain":            `{{ filterCertChain "leaf" .canary }}`,
		"certSANs":                   `{{ certSANs .canary }}`,
		"jwkPublicKeyPem":            `{{ jwkPublicKeyPem .canary }}`,
		"jwkPrivateKeyPem":           `{{ jwkPrivateKeyPem .canary }}`,
		"jwkPublicKeyPem of JSON":    `{{ jwkPublicKeyPem (dict "kty" .canary | toJson) }}`,
		"rsaDecrypt":                 `{{ rsaDecrypt "RSA-OAEP" "SHA256" .canary .canary }}`,
		"rsaDecrypt scheme":          `{{ rsaDecrypt .canary "SHA256" .canary .canary }}`,
		"mustFromJson":               `{{ mustFromJson .canary }}`,
		"mustToDate":                 `{{ mustToDate "2006-01-02" .canary }}`,
		"mustToDate derived":         `{{ mustToDate "2006-01-02" (.canary | lower) }}`,
		"semver":                     `{{ semver .canary }}`,
		"semverCompare":              `{{ semverCompare .canary "1.0.0" }}`,
		"mustRegexMatch":             `{{ mustRegexMatch .canary "x" }}`,
		"regexReplaceAll panics":     `{{ regexReplaceAll .canary "x" "y" }}`,
		"decryptAES":                 `{{ decryptAES .canary .canary }}`,
		"buildCustomCert":            `{{ buildCustomCert .canary .canary }}`,
		"mustMerge of strings":       `{{ mustMerge .canary .canary }}`,
		"call a string":              `{{ call .canary }}`,
		"template over 1 MiB":        `{{ range until 200 }}{{ repeat 200 $.canary }}{{ end }}`,
		"env":                        `{{ env .canary }}`,
	}
	for name, tpl := range tpls {
		t.Run(name, func(t *testing.T) {
			_, err := template.Render(template.Input{
				Template: &externalsecret.Template{Data: map[string]string{"x": tpl}},
				Data:     map[string][]byte{"canary": []byte(canary), "cert": []byte(p.leafPEM)},
			})
			checkNoCanary(t, err)
			if !strings.HasPrefix(err.Error(), `template key "x": `) {
				t.Errorf("error does not name the key: %v", err)
			}
		})
	}
}

func TestNoSecretInOtherErrors(t *testing.T) {
	data := map[string][]byte{"canary": []byte(canary)}
	tests := map[string]*externalsecret.Template{
		"label": {Metadata: externalsecret.TemplateMetadata{Labels: map[string]string{"l": `{{ fail .canary }}`}}},
		"annotation": {
			Metadata: externalsecret.TemplateMetadata{Annotations: map[string]string{"a": `{{ .canary | upper | fail }}`}},
		},
		"literal": {TemplateFrom: []externalsecret.TemplateFrom{{Literal: ptr(`{{ fail .canary }}`)}}},
		"literal output that is no YAML map": {
			TemplateFrom: []externalsecret.TemplateFrom{{Literal: ptr(`{{ .canary | upper }}: [`)}},
		},
		"KeysAndValues output that is no map of strings": {
			TemplateFrom: []externalsecret.TemplateFrom{{Literal: ptr(`k: {{ .canary | b64enc | list | toJson }}`)}},
		},
		"secret template that fails with its own text": {
			TemplateFrom: []externalsecret.TemplateFrom{{Secret: &externalsecret.TemplateRef{Name: "s", Items: []externalsecret.TemplateRefItem{{Key: "k"}}}}},
		},
		"secret template that does not parse": {
			TemplateFrom: []externalsecret.TemplateFrom{{Secret: &externalsecret.TemplateRef{Name: "s", Items: []externalsecret.TemplateRefItem{{Key: "bad"}}}}},
		},
	}
	secrets := map[string]map[string][]byte{"s": {
		"k":   []byte(`{{ fail "` + strings.ReplaceAll(strconv.Quote(canary), `"`, ``) + `" }}`),
		"bad": []byte(`{{ "` + canary + ` }}`),
	}}
	for name, tpl := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := template.Render(template.Input{Template: tpl, Data: data, Secrets: secrets})
			checkNoCanary(t, err)
		})
	}
	t.Run("Execute", func(t *testing.T) {
		_, err := template.Execute("rewrite", `{{ .value | upper | fail }}`, map[string]string{"value": canary})
		checkNoCanary(t, err)
	})
}

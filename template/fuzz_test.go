package template_test

import (
	"strings"
	"testing"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/template"
)

// FuzzRender renders any template over any value. It must never panic,
// never return more than MaxSize, and never show the value in an error.
func FuzzRender(f *testing.F) {
	for _, seed := range [][2]string{
		{`{{ .a }}`, "secret"},
		{`{{ .a | upper | b64enc | b64dec }}`, "x"},
		{`{{ range $i, $c := until 3 }}{{ $i }}{{ $c }}{{ end }}`, ""},
		{`{{ range 3 }}{{ . }}{{ end }}`, ""},
		{`{{ fail .a }}`, "leaked-value"},
		{`{{ printf "%*d|%[1]q" 5 .a }}`, "v"},
		{`{{ dict "a" .a | toYaml | fromYaml | toJson }}`, "v"},
		{`{{ filterPEM "CERTIFICATE" .a }}`, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
		{`{{ regexReplaceAll "(a)" .a "$1$1" }}`, "banana"},
		{`{{ if .a }}{{ .a | quote }}{{ else }}none{{ end }}`, ""},
		{`{{ define "t" }}{{ . }}{{ end }}{{ template "t" .a }}`, "x"},
		{`{{ $d := dict }}{{ $_ := set $d "k" .a }}{{ toJson $d }}`, "v"},
		{`{{ .a | pkcs12key }}`, "junk"},
		{`{{ jwkPublicKeyPem .a }}`, `{"kty":"EC"}`},
		{`{{ seq 1 2 10 }}{{ untilStep 0 10 3 }}`, ""},
		{`{{ repeat 3 .a | indent 2 | replace "a" "bb" }}`, "a\nb"},
		{`{{ .a | splitList "," | join ";" }}`, "a,b,c"},
		{`{{ .missing }}`, "x"},
		{`{{ .a | mustToDate "2006" }}`, "not-a-date"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, tpl, value string) {
		out, err := template.Render(template.Input{
			Template: &externalsecret.Template{Data: map[string]string{"k": tpl}},
			Data:     map[string][]byte{"a": []byte(value), "b": []byte("fixed")},
		})
		const prefix = `template key "k": `
		if err == nil {
			if len(out.Data["k"]) > template.MaxSize {
				t.Fatalf("rendered %d bytes", len(out.Data["k"]))
			}
		} else {
			checkNoValue(t, strings.TrimPrefix(err.Error(), prefix), tpl, value)
		}
		if _, err := template.Execute("t", tpl, map[string]string{"value": value}); err != nil {
			checkNoValue(t, strings.TrimPrefix(err.Error(), `template "t": `), tpl, value)
		}
	})
}

// checkNoValue fails when value, which the template does not spell out,
// is in the reason of an error.
func checkNoValue(t *testing.T, reason, tpl, value string) {
	t.Helper()
	if len(value) < 3 || strings.Contains(tpl, value) || strings.ContainsRune(value, 0) {
		return
	}
	// A value can only appear across the marks if it holds part of them.
	reason = strings.ReplaceAll(reason, "[redacted]", "\x00")
	reason = strings.ReplaceAll(reason, "... (truncated)", "\x00")
	if strings.Contains(reason, value) {
		t.Fatalf("error shows the value %q: %s", value, reason)
	}
}

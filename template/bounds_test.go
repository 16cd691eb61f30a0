package template_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/template"
)

func TestBounds(t *testing.T) {
	big := func(n int) string { return strings.Repeat("x", n) }
	tests := map[string]struct {
		tpls     map[string]string
		data     map[string]string
		wantErr  string
		wantKind error
	}{
		"one key over 1 MiB": {
			tpls:     map[string]string{"k": `{{ range until 20 }}{{ $.big }}{{ end }}`},
			data:     map[string]string{"big": big(60 << 10)},
			wantErr:  `template key "k": rendered value is larger than 1 MiB`,
			wantKind: template.ErrTooLarge,
		},
		"all keys together over 1 MiB": {
			tpls:     map[string]string{"a": `{{ .big }}`, "b": `{{ .big }}`},
			data:     map[string]string{"big": big(600 << 10)},
			wantErr:  `template key "b": rendered output of all templates together is larger than 1 MiB`,
			wantKind: template.ErrTooLarge,
		},
		"an argument over 1 MiB": {
			tpls:     map[string]string{"k": `{{ .big | b64enc }}`},
			data:     map[string]string{"big": big(template.MaxSize + 1)},
			wantErr:  "error calling b64enc: arguments: value is larger than 1 MiB",
			wantKind: template.ErrTooLarge,
		},
		"a result over 1 MiB": {
			tpls:     map[string]string{"k": `{{ .big | b64enc | len }}`},
			data:     map[string]string{"big": big(900 << 10)},
			wantErr:  "error calling b64enc: result: value is larger than 1 MiB",
			wantKind: template.ErrTooLarge,
		},
		"repeat":           {tpls: map[string]string{"k": `{{ repeat 99999999999 "ab" }}`}, wantKind: template.ErrTooLarge},
		"repeat negative":  {tpls: map[string]string{"k": `{{ repeat -1 "ab" }}`}, wantErr: "count is negative"},
		"indent":           {tpls: map[string]string{"k": `{{ indent 1000000 "a\nb" }}`}, wantKind: template.ErrTooLarge},
		"nindent negative": {tpls: map[string]string{"k": `{{ nindent -1 "a" }}`}, wantErr: "indent is negative"},
		"replace": {
			tpls: map[string]string{"k": `{{ replace "a" (repeat 1000 "b") (repeat 2000 "a") }}`}, wantKind: template.ErrTooLarge,
		},
		"replace of empty": {
			tpls: map[string]string{"k": `{{ replace "" (repeat 1000 "b") (repeat 2000 "a") }}`}, wantKind: template.ErrTooLarge,
		},
		"regexReplaceAll": {
			tpls: map[string]string{"k": `{{ regexReplaceAll "a" (repeat 2000 "a") (repeat 1000 "b") }}`}, wantKind: template.ErrTooLarge,
		},
		"regexReplaceAll through groups": {
			tpls: map[string]string{"k": `{{ regexReplaceAll "(a+)" (repeat 300000 "a") "$1$1$1$1" }}`}, wantKind: template.ErrTooLarge,
		},
		"regexReplaceAllLiteral": {
			tpls: map[string]string{"k": `{{ regexReplaceAllLiteral "" (repeat 2000 "a") (repeat 1000 "b") }}`}, wantKind: template.ErrTooLarge,
		},
		"wrapWith": {
			tpls: map[string]string{"k": `{{ wrapWith 1 (repeat 1000 "-") (repeat 2000 "a") }}`}, wantKind: template.ErrTooLarge,
		},
		"randAlphaNum": {tpls: map[string]string{"k": `{{ randAlphaNum 99999999999 }}`}, wantKind: template.ErrTooLarge},
		"randBytes":    {tpls: map[string]string{"k": `{{ randBytes 99999999999 }}`}, wantKind: template.ErrTooLarge},
		"join":         {tpls: map[string]string{"k": `{{ join (repeat 100000 "x") (until 20) }}`}, wantKind: template.ErrTooLarge},
		"printf width": {tpls: map[string]string{"k": `{{ printf "%1000000d%1000000d" 1 2 }}`}, wantKind: template.ErrTooLarge},
		"printf star width": {
			tpls: map[string]string{"k": `{{ printf "%*d%*d" 1000000 1 1000000 2 }}`}, wantKind: template.ErrTooLarge,
		},
		"printf reusing an argument": {
			tpls: map[string]string{"k": `{{ printf "%[1]s%[1]s%[1]s" .big }}`}, data: map[string]string{"big": big(400 << 10)},
			wantKind: template.ErrTooLarge,
		},
		"print": {
			tpls: map[string]string{"k": `{{ $b := printf "%s%s" .big .big }}{{ print $b $b }}`}, data: map[string]string{"big": big(300 << 10)},
			wantKind: template.ErrTooLarge,
		},
		"html of html": {
			tpls: map[string]string{"k": `{{ html (html (html (html .amp))) | len }}`}, data: map[string]string{"amp": strings.Repeat("&", 100<<10)},
			wantKind: template.ErrTooLarge,
		},
		"until":     {tpls: map[string]string{"k": `{{ until 99999999999 }}`}, wantKind: template.ErrTooLarge},
		"untilStep": {tpls: map[string]string{"k": `{{ untilStep -99999999999 0 1 }}`}, wantKind: template.ErrTooLarge},
		"seq":       {tpls: map[string]string{"k": `{{ seq 99999999999 }}`}, wantKind: template.ErrTooLarge},
		"chunk 0":   {tpls: map[string]string{"k": `{{ chunk 0 (list 1 2) }}`}, wantErr: "chunk size must be at least 1"},
		"a dict containing itself": {
			tpls: map[string]string{"k": `{{ $d := dict }}{{ $_ := set $d "x" $d }}{{ $d }}`}, wantErr: "error calling set: result: value contains itself",
		},
		"a dict containing itself through a list": {
			tpls:    map[string]string{"k": `{{ $d := dict }}{{ $l := list $d }}{{ $_ := set $d "x" $l }}{{ $d }}`},
			wantErr: "value contains itself",
		},
		"a deeply nested dict": {
			tpls:    map[string]string{"k": `{{ $d := dict }}{{ range until 1100 }}{{ $d = dict "x" $d }}{{ end }}`},
			wantErr: "value nests more than 1000 deep",
		},
		"a long range": {
			tpls: map[string]string{"k": `{{ range 100000000000 }}{{ end }}`}, wantKind: template.ErrTooCostly,
		},
		"nested ranges": {
			tpls: map[string]string{"k": `{{ range until 10000 }}{{ range until 10000 }}{{ end }}{{ end }}`}, wantKind: template.ErrTooCostly,
		},
		"many calls": {
			tpls: map[string]string{"k": `{{ range 400000 }}{{ upper "a" }}{{ end }}`}, wantKind: template.ErrTooCostly,
		},
		"many key generations": {
			tpls: map[string]string{"k": `{{ range 5 }}{{ genPrivateKey "ecdsa" | len }}{{ end }}`}, wantKind: template.ErrTooCostly,
		},
		"uniq of a long list": {
			tpls: map[string]string{"k": `{{ uniq (until 60000) | len }}`}, wantKind: template.ErrTooCostly,
		},
		"ranges in defined templates": {
			tpls: map[string]string{"k": `{{ define "x" }}{{ range 100000000000 }}{{ end }}{{ end }}{{ template "x" }}`}, wantKind: template.ErrTooCostly,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := template.Input{Template: &externalsecret.Template{Data: tc.tpls}, Data: map[string][]byte{}}
			for k, v := range tc.data {
				in.Data[k] = []byte(v)
			}
			_, err := template.Render(in)
			if err == nil {
				t.Fatal("want an error")
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("want an error containing %q, got %v", tc.wantErr, err)
			}
			if tc.wantKind != nil && !errors.Is(err, tc.wantKind) {
				t.Errorf("error %v is not %v", err, tc.wantKind)
			}
		})
	}
}

func TestWithinBounds(t *testing.T) {
	big := strings.Repeat("x", template.MaxSize)
	runFuncTests(t, map[string]funcTest{
		"a value of exactly 1 MiB": {
			tpl: `{{ .big }}`, data: map[string]string{"big": big},
			check: func(t *testing.T, out string) {
				if len(out) != template.MaxSize {
					t.Errorf("got %d bytes, want %d", len(out), template.MaxSize)
				}
			},
		},
		"a range of a thousand with calls": {
			tpl:  `{{ range $i := until 1000 }}{{ $i | toString | len }}{{ end }}`,
			want: strings.Repeat("1", 10) + strings.Repeat("2", 90) + strings.Repeat("3", 900),
		},
		"untilStep whose step would overflow sprig's loop": {
			tpl: `{{ untilStep 0 9223372036854775807 4611686018427387904 }}`, want: "[0 4611686018427387904]",
		},
	})
}

func TestExecuteBounds(t *testing.T) {
	_, err := template.Execute("t", `{{ range 100000000000 }}{{ end }}`, nil)
	if !errors.Is(err, template.ErrTooCostly) {
		t.Errorf("want ErrTooCostly, got %v", err)
	}
	got, err := template.Execute("t", `{{ .value }}`, map[string]string{"value": strings.Repeat("y", template.MaxSize+1)})
	if !errors.Is(err, template.ErrTooLarge) {
		t.Errorf("want ErrTooLarge, got %v", err)
	}
	if diff := cmp.Diff([]byte(nil), got); diff != "" {
		t.Errorf("output on error (-want +got):\n%s", diff)
	}
}

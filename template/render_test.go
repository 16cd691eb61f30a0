package template_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/template"
)

func ptr[T any](v T) *T { return &v }

// values are what the tests read from the stores.
func values() map[string][]byte {
	return map[string][]byte{"user": []byte("admin"), "pass": []byte("s3cret")}
}

func TestRender(t *testing.T) {
	cm := func(name string, items ...externalsecret.TemplateRefItem) *externalsecret.TemplateRef {
		return &externalsecret.TemplateRef{Name: name, Items: items}
	}
	item := func(key string, as externalsecret.TemplateScope) externalsecret.TemplateRefItem {
		return externalsecret.TemplateRefItem{Key: key, TemplateAs: as}
	}
	configMaps := map[string]map[string]string{
		"tpl": {
			"config.ini": "user={{ .user }}\npass={{ .pass }}",
			"kv":         "url: https://{{ .user }}@example.com\nuser_upper: '{{ .user | upper }}'",
			"labels":     "team: {{ .user }}",
		},
	}
	secrets := map[string]map[string][]byte{
		"tpl-secret": {
			"token": []byte("{{ .pass | b64enc }}"),
			"kv":    []byte("from-secret: '{{ .user }}'"),
		},
	}
	tests := map[string]struct {
		tpl  *externalsecret.Template
		want template.Output
	}{
		"no template passes data through": {
			tpl:  nil,
			want: template.Output{Data: values()},
		},
		"template without data passes data through with metadata and type": {
			tpl: &externalsecret.Template{
				Type: corev1.SecretTypeBasicAuth,
				Metadata: externalsecret.TemplateMetadata{
					Labels:      map[string]string{"app": "web", "user": "{{ .user }}"},
					Annotations: map[string]string{"note": "for {{ .user | upper }}"},
				},
			},
			want: template.Output{
				Data:        values(),
				Labels:      map[string]string{"app": "web", "user": "admin"},
				Annotations: map[string]string{"note": "for ADMIN"},
				Type:        corev1.SecretTypeBasicAuth,
			},
		},
		"Replace writes only templated keys": {
			tpl:  &externalsecret.Template{Data: map[string]string{"dsn": "{{ .user }}:{{ .pass }}"}},
			want: template.Output{Data: map[string][]byte{"dsn": []byte("admin:s3cret")}},
		},
		"Replace spelled out": {
			tpl:  &externalsecret.Template{MergePolicy: externalsecret.MergePolicyReplace, EngineVersion: externalsecret.TemplateEngineV2, Data: map[string]string{"dsn": "{{ .user }}"}},
			want: template.Output{Data: map[string][]byte{"dsn": []byte("admin")}},
		},
		"Merge keeps values read and the templated key wins": {
			tpl: &externalsecret.Template{MergePolicy: externalsecret.MergePolicyMerge, Data: map[string]string{"pass": "{{ .pass | upper }}", "dsn": "{{ .user }}"}},
			want: template.Output{Data: map[string][]byte{
				"user": []byte("admin"), "pass": []byte("S3CRET"), "dsn": []byte("admin"),
			}},
		},
		"Merge without templates passes data through": {
			tpl:  &externalsecret.Template{MergePolicy: externalsecret.MergePolicyMerge},
			want: template.Output{Data: values()},
		},
		"templateFrom configMap Values into data": {
			tpl: &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{
				ConfigMap: cm("tpl", item("config.ini", "")),
			}}},
			want: template.Output{Data: map[string][]byte{"config.ini": []byte("user=admin\npass=s3cret")}},
		},
		"templateFrom configMap KeysAndValues into data": {
			tpl: &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{
				ConfigMap: cm("tpl", item("kv", externalsecret.TemplateScopeKeysAndValues)),
				Target:    externalsecret.TemplateTargetData,
			}}},
			want: template.Output{Data: map[string][]byte{"url": []byte("https://admin@example.com"), "user_upper": []byte("ADMIN")}},
		},
		"templateFrom secret Values into data": {
			tpl: &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{
				Secret: cm("tpl-secret", item("token", externalsecret.TemplateScopeValues)),
			}}},
			want: template.Output{Data: map[string][]byte{"token": []byte("czNjcmV0")}},
		},
		"templateFrom secret KeysAndValues into labels": {
			tpl: &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{
				Secret: cm("tpl-secret", item("kv", externalsecret.TemplateScopeKeysAndValues)),
				Target: externalsecret.TemplateTargetLabels,
			}}},
			want: template.Output{Labels: map[string]string{"from-secret": "admin"}},
		},
		"templateFrom configMap Values into annotations": {
			tpl: &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{
				ConfigMap: cm("tpl", item("config.ini", externalsecret.TemplateScopeValues)),
				Target:    externalsecret.TemplateTargetAnnotations,
			}}},
			want: template.Output{Annotations: map[string]string{"config.ini": "user=admin\npass=s3cret"}},
		},
		"templateFrom literal into data": {
			tpl: &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{
				Literal: ptr("{{ .user }}: {{ .pass }}\nfixed: value"),
			}}},
			want: template.Output{Data: map[string][]byte{"admin": []byte("s3cret"), "fixed": []byte("value")}},
		},
		"templateFrom literal into annotations, target without case": {
			tpl: &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{
				Literal: ptr("owner: {{ .user }}"),
				Target:  "annotations",
			}}},
			want: template.Output{Annotations: map[string]string{"owner": "admin"}},
		},
		"templateFrom literal rendering nothing": {
			tpl:  &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{Literal: ptr("{{/* nothing */}}")}}},
			want: template.Output{},
		},
		"one templateFrom entry applies configMap, then secret, then literal": {
			tpl: &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{
				ConfigMap: cm("tpl", item("kv", externalsecret.TemplateScopeKeysAndValues)),
				Secret:    cm("tpl-secret", item("token", externalsecret.TemplateScopeValues)),
				Literal:   ptr("url: from-literal"),
			}}},
			want: template.Output{Data: map[string][]byte{
				"url": []byte("from-literal"), "user_upper": []byte("ADMIN"), "token": []byte("czNjcmV0"),
			}},
		},
		"a later templateFrom entry wins": {
			tpl: &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{
				{Literal: ptr("k: first")},
				{Literal: ptr("k: second")},
			}},
			want: template.Output{Data: map[string][]byte{"k": []byte("second")}},
		},
		"template data wins over templateFrom": {
			tpl: &externalsecret.Template{
				Data:         map[string]string{"k": "from data"},
				TemplateFrom: []externalsecret.TemplateFrom{{Literal: ptr("k: from literal\nother: x")}},
			},
			want: template.Output{Data: map[string][]byte{"k": []byte("from data"), "other": []byte("x")}},
		},
		"metadata labels win over templateFrom labels": {
			tpl: &externalsecret.Template{
				Metadata:     externalsecret.TemplateMetadata{Labels: map[string]string{"team": "platform"}},
				TemplateFrom: []externalsecret.TemplateFrom{{ConfigMap: cm("tpl", item("labels", externalsecret.TemplateScopeKeysAndValues)), Target: externalsecret.TemplateTargetLabels}},
			},
			want: template.Output{Labels: map[string]string{"team": "platform"}},
		},
		// The operator's rule: templateFrom, whatever it targets, stops the
		// values read from passing through under Replace.
		"templateFrom targeting labels only leaves no data under Replace": {
			tpl:  &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{Literal: ptr("l: v"), Target: externalsecret.TemplateTargetLabels}}},
			want: template.Output{Labels: map[string]string{"l": "v"}},
		},
		"templateFrom targeting labels only keeps data under Merge": {
			tpl: &externalsecret.Template{
				MergePolicy:  externalsecret.MergePolicyMerge,
				TemplateFrom: []externalsecret.TemplateFrom{{Literal: ptr("l: v"), Target: externalsecret.TemplateTargetLabels}},
			},
			want: template.Output{Data: values(), Labels: map[string]string{"l": "v"}},
		},
		"empty value renders": {
			tpl:  &externalsecret.Template{Data: map[string]string{"empty": ""}},
			want: template.Output{Data: map[string][]byte{"empty": {}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := template.Render(template.Input{Template: tc.tpl, Data: values(), ConfigMaps: configMaps, Secrets: secrets})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			want := tc.want
			for _, m := range []*map[string]string{&want.Labels, &want.Annotations} {
				if *m == nil {
					*m = map[string]string{}
				}
			}
			if want.Data == nil {
				want.Data = map[string][]byte{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Render (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	configMaps := map[string]map[string]string{"tpl": {"k": "{{ .user }}", "list": "- a\n- b", "bad": "{{ .nope }}"}}
	secrets := map[string]map[string][]byte{"sec": {"k": []byte("{{ .user }}")}}
	from := func(f externalsecret.TemplateFrom) *externalsecret.Template {
		return &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{f}}
	}
	ref := func(name, key string, as externalsecret.TemplateScope) *externalsecret.TemplateRef {
		return &externalsecret.TemplateRef{Name: name, Items: []externalsecret.TemplateRefItem{{Key: key, TemplateAs: as}}}
	}
	tests := map[string]struct {
		tpl      *externalsecret.Template
		wantErr  string
		wantKind error
	}{
		"missing key in data": {
			tpl:     &externalsecret.Template{Data: map[string]string{"dsn": "{{ .nope }}"}},
			wantErr: `template key "dsn": template: dsn:1:3: executing "dsn" at <.nope>: map has no entry for key "nope"`,
		},
		"parse error": {
			tpl:     &externalsecret.Template{Data: map[string]string{"dsn": "{{ .user "}},
			wantErr: `template key "dsn": template: dsn:1: unclosed action`,
		},
		"label template": {
			tpl:     &externalsecret.Template{Metadata: externalsecret.TemplateMetadata{Labels: map[string]string{"l": "{{ .nope }}"}}},
			wantErr: `template label "l":`,
		},
		"annotation template": {
			tpl:     &externalsecret.Template{Metadata: externalsecret.TemplateMetadata{Annotations: map[string]string{"a": "{{ fail `no` }}"}}},
			wantErr: `template annotation "a":`,
		},
		"env": {
			tpl:     &externalsecret.Template{Data: map[string]string{"x": `{{ env "HOME" }}`}},
			wantErr: `template key "x": template: x:1: function "env" not defined`,
		},
		"expandenv": {
			tpl:     &externalsecret.Template{Data: map[string]string{"x": `{{ expandenv "$HOME" }}`}},
			wantErr: `function "expandenv" not defined`,
		},
		"missing configMap": {
			tpl:      from(externalsecret.TemplateFrom{ConfigMap: ref("nope", "k", "")}),
			wantErr:  `templateFrom[0]: configMap "nope": template source not found`,
			wantKind: template.ErrSourceNotFound,
		},
		"missing configMap key": {
			tpl:      from(externalsecret.TemplateFrom{ConfigMap: ref("tpl", "nope", "")}),
			wantErr:  `templateFrom[0]: configMap "tpl" has no key "nope"`,
			wantKind: template.ErrSourceNotFound,
		},
		"missing secret": {
			tpl:      from(externalsecret.TemplateFrom{Secret: ref("nope", "k", "")}),
			wantErr:  `templateFrom[0]: secret "nope": template source not found`,
			wantKind: template.ErrSourceNotFound,
		},
		"missing secret key": {
			tpl:      from(externalsecret.TemplateFrom{Secret: ref("sec", "nope", "")}),
			wantErr:  `templateFrom[0]: secret "sec" has no key "nope"`,
			wantKind: template.ErrSourceNotFound,
		},
		"templateFrom item template": {
			tpl:     from(externalsecret.TemplateFrom{ConfigMap: ref("tpl", "bad", "")}),
			wantErr: `templateFrom[0]: configMap "tpl": template key "bad": template: bad:1:3: executing "bad" at <.nope>: map has no entry for key "nope"`,
		},
		"KeysAndValues output that is no map": {
			tpl:     from(externalsecret.TemplateFrom{ConfigMap: ref("tpl", "list", externalsecret.TemplateScopeKeysAndValues)}),
			wantErr: `templateFrom[0]: configMap "tpl": item "list": output is not a YAML map of strings`,
		},
		"literal that is no map of strings": {
			tpl:     from(externalsecret.TemplateFrom{Literal: ptr("a: {b: c}")}),
			wantErr: `templateFrom[0]: literal: output is not a YAML map of strings`,
		},
		"field path target without a manifest": {
			tpl:     from(externalsecret.TemplateFrom{Literal: ptr("a: b"), Target: "spec.database"}),
			wantErr: `templateFrom[0]: target "spec.database" is a field path; it needs spec.target.manifest`,
		},
		"unknown templateAs": {
			tpl:     from(externalsecret.TemplateFrom{ConfigMap: ref("tpl", "k", "Keys")}),
			wantErr: `templateAs "Keys" is not supported`,
		},
		"unknown engine version": {
			tpl:     &externalsecret.Template{EngineVersion: "v1"},
			wantErr: `template engineVersion "v1" is not supported`,
		},
		"unknown merge policy": {
			tpl:     &externalsecret.Template{MergePolicy: "Both"},
			wantErr: `template mergePolicy "Both" is not supported`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := template.Render(template.Input{Template: tc.tpl, Data: values(), ConfigMaps: configMaps, Secrets: secrets})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
			}
			if tc.wantKind != nil && !errors.Is(err, tc.wantKind) {
				t.Errorf("error %v is not %v", err, tc.wantKind)
			}
		})
	}
}

// cloneInput copies everything an Input points to.
func cloneInput(in template.Input) template.Input {
	out := template.Input{Template: in.Template.DeepCopy(), Data: map[string][]byte{}, ConfigMaps: map[string]map[string]string{}, Secrets: map[string]map[string][]byte{}}
	for k, v := range in.Data {
		out.Data[k] = append([]byte(nil), v...)
	}
	for name, m := range in.ConfigMaps {
		out.ConfigMaps[name] = map[string]string{}
		for k, v := range m {
			out.ConfigMaps[name][k] = v
		}
	}
	for name, m := range in.Secrets {
		out.Secrets[name] = map[string][]byte{}
		for k, v := range m {
			out.Secrets[name][k] = append([]byte(nil), v...)
		}
	}
	return out
}

func TestRenderDoesNotChangeInput(t *testing.T) {
	tests := map[string]*externalsecret.Template{
		"no template": nil,
		"merge": {
			MergePolicy: externalsecret.MergePolicyMerge,
			Data:        map[string]string{"x": `{{ $d := dict "a" .user }}{{ $_ := set $d "b" .pass }}{{ toJson $d }}`},
			Metadata:    externalsecret.TemplateMetadata{Labels: map[string]string{"l": "{{ .user }}"}},
			TemplateFrom: []externalsecret.TemplateFrom{
				{ConfigMap: &externalsecret.TemplateRef{Name: "cm", Items: []externalsecret.TemplateRefItem{{Key: "k"}}}},
				{Secret: &externalsecret.TemplateRef{Name: "sec", Items: []externalsecret.TemplateRefItem{{Key: "k", TemplateAs: externalsecret.TemplateScopeKeysAndValues}}}},
				{Literal: ptr("lit: '{{ .pass }}'"), Target: externalsecret.TemplateTargetAnnotations},
			},
		},
		"passthrough": {Type: corev1.SecretTypeOpaque},
	}
	for name, tpl := range tests {
		t.Run(name, func(t *testing.T) {
			in := template.Input{
				Template:   tpl,
				Data:       values(),
				ConfigMaps: map[string]map[string]string{"cm": {"k": "{{ .user | upper }}"}},
				Secrets:    map[string]map[string][]byte{"sec": {"k": []byte("a: '{{ .pass }}'")}},
			}
			before := cloneInput(in)
			out, err := template.Render(in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, in); diff != "" {
				t.Fatalf("Render changed its input (-before +after):\n%s", diff)
			}
			// The output shares no memory with the input either.
			for k := range out.Data {
				out.Data[k] = append(out.Data[k][:0], "changed"...)
			}
			if diff := cmp.Diff(before, in); diff != "" {
				t.Errorf("changing the output changed the input (-before +after):\n%s", diff)
			}
		})
	}
}

func TestExecute(t *testing.T) {
	tests := map[string]struct {
		tpl     string
		data    any
		want    string
		wantErr string
	}{
		"rewrite transform":     {tpl: `{{ .value | upper }}`, data: map[string]string{"value": "db-pass"}, want: "DB-PASS"},
		"missing key":           {tpl: `{{ .nope }}`, data: map[string]string{"value": "k"}, wantErr: `template "t": template: t:1:3: executing "t" at <.nope>: map has no entry for key "nope"`},
		"set on the data fails": {tpl: `{{ set .m "x" "y" }}`, data: map[string]any{"m": map[string]any{}}, wantErr: "cannot change the template's data"},
		"set on a copy works":   {tpl: `{{ $c := deepCopy .m }}{{ $_ := set $c "x" "y" }}{{ $c.x }}`, data: map[string]any{"m": map[string]any{}}, want: "y"},
		"sortAlpha sorts a copy": {
			tpl: `{{ sortAlpha .l }}{{ .l }}`, data: map[string]any{"l": []string{"b", "a"}}, want: "[a b][b a]",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := template.Execute("t", tc.tpl, tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("Execute (-want +got):\n%s", diff)
			}
		})
	}
}

// With a manifest target, a templateFrom target that is a field path gets
// the output read as YAML: a literal or KeysAndValues item whole at the
// path, a Values item under the path at its key. Numbers read as the
// apiserver returns them, so an unchanged value compares equal.
func TestRenderFieldPaths(t *testing.T) {
	tpl := &externalsecret.Template{
		TemplateFrom: []externalsecret.TemplateFrom{
			{Literal: ptr("host: db.local\nport: 5432\nratio: 0.5\ncredentials:\n  username: '{{ .user }}'\n"), Target: "spec.database"},
			{Literal: ptr("- a\n- b\n"), Target: "spec.list"},
			{ConfigMap: &externalsecret.TemplateRef{Name: "tpl", Items: []externalsecret.TemplateRefItem{
				{Key: "level"}, {Key: "raw"}, {Key: "block", TemplateAs: externalsecret.TemplateScopeKeysAndValues},
			}}, Target: "spec.logging"},
			{Literal: ptr("plain: '{{ .pass }}'"), Target: "Data"},
		},
	}
	out, err := template.Render(template.Input{
		Template: tpl,
		Data:     values(),
		ConfigMaps: map[string]map[string]string{"tpl": {
			"level": "info",
			"raw":   "a: b: c",
			"block": "format: json",
		}},
		Manifest: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []template.Field{
		{Path: "spec.database", Value: map[string]any{"host": "db.local", "port": int64(5432), "ratio": 0.5, "credentials": map[string]any{"username": "admin"}}},
		{Path: "spec.list", Value: []any{"a", "b"}},
		{Path: "spec.logging.level", Value: "info"},
		{Path: "spec.logging.raw", Value: "a: b: c"},
		{Path: "spec.logging", Value: map[string]any{"format": "json"}},
	}
	if diff := cmp.Diff(want, out.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]byte{"plain": []byte("s3cret")}, out.Data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}

	for name, from := range map[string]externalsecret.TemplateFrom{
		"not YAML":        {Literal: ptr("a: b: '{{ .pass }}'"), Target: "spec.x"},
		"values decoding": {Literal: ptr("a: b"), Target: "spec.x", ValuesDecodingStrategy: externalsecret.DecodeBase64},
		"missing source":  {ConfigMap: &externalsecret.TemplateRef{Name: "nope", Items: []externalsecret.TemplateRefItem{{Key: "k"}}}, Target: "spec.x"},
	} {
		_, err := template.Render(template.Input{Template: &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{from}}, Data: values(), Manifest: true})
		if err == nil {
			t.Errorf("%s: rendered without an error", name)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error holds a value: %v", name, err)
		}
	}
}

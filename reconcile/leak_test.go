package reconcile

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/externalsecret"
)

const canary = "CANARY-7f3a9c1e-do-not-leak"

// outputText is everything a reconcile emits that a person may read.
func outputText(out Output) string {
	var b strings.Builder
	if out.Err != nil {
		b.WriteString(out.Err.Error())
	}
	for _, c := range out.Status.Conditions {
		b.WriteString(c.Message)
		b.WriteString(c.Reason)
	}
	for _, e := range out.Events {
		b.WriteString(e.Message)
		b.WriteString(e.Reason)
	}
	return b.String()
}

func TestNoSecretValueInOutput(t *testing.T) {
	tmpl := func(data map[string]string) func(*externalsecret.ExternalSecret) {
		return func(es *externalsecret.ExternalSecret) {
			es.Spec.Target.Template = &externalsecret.Template{Data: data}
		}
	}
	tests := map[string]struct {
		es     *externalsecret.ExternalSecret
		values []string
	}{
		"template fail with the value":   {es: newES(tmpl(map[string]string{"x": `{{ fail .password }}`})), values: []string{"u", canary}},
		"template parsing the value":     {es: newES(tmpl(map[string]string{"x": `{{ .password | mustFromJson }}`})), values: []string{"u", canary}},
		"template printing then failing": {es: newES(tmpl(map[string]string{"x": `{{ .password }}{{ .missing }}`})), values: []string{"u", canary}},
		"template pkcs12 of the value":   {es: newES(tmpl(map[string]string{"x": `{{ .password | pkcs12key }}`})), values: []string{"u", canary}},
		"template env":                   {es: newES(tmpl(map[string]string{"x": `{{ env .password }}`})), values: []string{"u", canary}},
		"base64 decoding of the value": {es: newES(func(es *externalsecret.ExternalSecret) {
			es.Spec.Data[1].RemoteRef.DecodingStrategy = externalsecret.DecodeBase64
		}), values: []string{"u", canary}},
		"over the size limit": {es: newES(), values: []string{"u", canary + strings.Repeat("x", MaxSecretSize)}},
		"forbidden type": {es: newES(func(es *externalsecret.ExternalSecret) {
			es.Spec.Target.Template = &externalsecret.Template{Type: corev1.SecretTypeServiceAccountToken, Data: map[string]string{"token": "{{ .password }}"}}
		}), values: []string{"u", canary}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out := Reconcile(Input{ExternalSecret: tc.es, Fetched: fetched(tc.values...), Now: now})
			if out.Err == nil {
				t.Fatalf("want a failed sync")
			}
			if text := outputText(out); strings.Contains(text, canary) {
				t.Errorf("secret value leaked into output: %s", text)
			}
		})
	}
}

// A key found by dataFrom is a name, not a value, and may be reported; the
// values behind keys that collide may not.
func TestNoSecretValueInRewriteErrors(t *testing.T) {
	es := newES(func(es *externalsecret.ExternalSecret) {
		es.Spec.Data = nil
		es.Spec.DataFrom = []externalsecret.DataFrom{{
			Extract: &externalsecret.RemoteRef{Key: "cfg"},
			Rewrite: []externalsecret.Rewrite{{Transform: &externalsecret.RewriteTransform{Template: `{{ fail "x" }}`}}},
		}}
	})
	out := Reconcile(Input{ExternalSecret: es, Fetched: &Fetched{DataFrom: []Values{{Values: map[string][]byte{"k": []byte(canary)}}}}, Now: now})
	if out.Err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(outputText(out), canary) {
		t.Errorf("secret value leaked: %s", outputText(out))
	}
}

func FuzzReconcile(f *testing.F) {
	f.Add([]byte(`{"a":"b"}`), "k", "", uint8(0), uint8(0))
	f.Add([]byte("aGVsbG8="), "key/with:odd*chars", "^(.*)$", uint8(1), uint8(1))
	f.Add([]byte{0xff, 0xfe}, "ü", "(", uint8(2), uint8(2))
	strategies := []externalsecret.DecodingStrategy{externalsecret.DecodeNone, externalsecret.DecodeBase64, externalsecret.DecodeBase64URL, externalsecret.DecodeAuto}
	conversions := []externalsecret.ConversionStrategy{externalsecret.ConversionDefault, externalsecret.ConversionUnicode}
	f.Fuzz(func(t *testing.T, value []byte, key, rewrite string, dec, conv uint8) {
		es := newES(func(es *externalsecret.ExternalSecret) {
			es.Spec.Data[0].RemoteRef.DecodingStrategy = strategies[int(dec)%len(strategies)]
			df := externalsecret.DataFrom{Find: &externalsecret.Find{
				DecodingStrategy:   strategies[int(dec/4)%len(strategies)],
				ConversionStrategy: conversions[int(conv)%len(conversions)],
			}}
			if rewrite != "" {
				df.Rewrite = []externalsecret.Rewrite{{Regexp: &externalsecret.RewriteRegexp{Source: rewrite, Target: "x$1"}}}
			}
			es.Spec.DataFrom = []externalsecret.DataFrom{df}
		})
		in := Input{
			ExternalSecret: es,
			Fetched: &Fetched{
				Data:     []Value{{Value: value}, {Value: value}},
				DataFrom: []Values{{Values: map[string][]byte{key: value, key + "2": value}}},
			},
			Now: now,
		}
		out := Reconcile(in)
		switch out.Action {
		case ActionCreate:
			if out.Secret == nil || out.Err != nil {
				t.Fatalf("Create needs a Secret and no error")
			}
			for k := range out.Secret.Data {
				if err := ValidateKey(k); err != nil {
					t.Fatalf("invalid key written: %v", err)
				}
			}
		case ActionNone:
			if out.Err == nil {
				t.Fatalf("no Secret and no error")
			}
			if len(value) >= 12 && !strings.Contains(key+rewrite, string(value)) && strings.Contains(outputText(out), string(value)) {
				t.Fatalf("value leaked: %s", outputText(out))
			}
		default:
			t.Fatalf("unexpected action %s", out.Action)
		}
	})
}

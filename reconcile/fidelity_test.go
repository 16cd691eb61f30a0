package reconcile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
)

// Without a template the Secret carries the ExternalSecret's labels and
// annotations; with one, only the template's metadata.
func TestReconcileCopiesMetadata(t *testing.T) {
	withMeta := func(es *externalsecret.ExternalSecret) {
		es.Labels = map[string]string{"team": "a", LabelManaged: "false"}
		es.Annotations = map[string]string{
			"note":                             "from the ExternalSecret",
			corev1.LastAppliedConfigAnnotation: `{"kind":"ExternalSecret"}`,
		}
	}
	tests := map[string]struct {
		es              *externalsecret.ExternalSecret
		existing        *corev1.Secret
		wantLabels      map[string]string
		wantAnnotations map[string]string
	}{
		"no template: the ExternalSecret's labels and annotations": {
			es:              newES(withMeta),
			wantLabels:      map[string]string{"team": "a", LabelManaged: "true"},
			wantAnnotations: map[string]string{"note": "from the ExternalSecret"},
		},
		"a template: only its metadata": {
			es: newES(withMeta, func(es *externalsecret.ExternalSecret) {
				es.Spec.Target.Template = &externalsecret.Template{Metadata: externalsecret.TemplateMetadata{Labels: map[string]string{"tpl": "{{ .user }}"}}}
			}),
			wantLabels:      map[string]string{"tpl": "admin", LabelManaged: "true"},
			wantAnnotations: map[string]string{},
		},
		"a template without metadata: none": {
			es: newES(withMeta, func(es *externalsecret.ExternalSecret) {
				es.Spec.Target.Template = &externalsecret.Template{Type: corev1.SecretTypeOpaque}
			}),
			wantLabels:      map[string]string{LabelManaged: "true"},
			wantAnnotations: map[string]string{},
		},
		"Merge: added to the existing Secret's": {
			es: newES(withMeta, withPolicy(externalsecret.CreatePolicyMerge, "")),
			existing: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
				Name: "app-secret", Namespace: "team-a", ResourceVersion: "3",
				Labels: map[string]string{"own": "x"}, Annotations: map[string]string{"own-note": "y"},
			}},
			wantLabels: map[string]string{
				"own": "x", "team": "a", LabelManaged: "true",
			},
			wantAnnotations: map[string]string{"own-note": "y", "note": "from the ExternalSecret"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := tc.es.DeepCopy()
			out := Reconcile(Input{ExternalSecret: tc.es, Existing: tc.existing, Fetched: fetched("admin", "s3cret"), Now: now})
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			if diff := cmp.Diff(tc.wantLabels, out.Secret.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			got := out.Secret.Annotations
			delete(got, AnnotationDataHash)
			if diff := cmp.Diff(tc.wantAnnotations, got); diff != "" {
				t.Errorf("annotations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.es); diff != "" {
				t.Errorf("Reconcile modified the ExternalSecret:\n%s", diff)
			}
		})
	}
}

// With a template, keys dataFrom reads need not be valid Secret keys;
// the keys of the Secret must.
func TestReconcileChecksOnlyFinalKeys(t *testing.T) {
	fromFind := func(tpl *externalsecret.Template) *externalsecret.ExternalSecret {
		return newES(func(es *externalsecret.ExternalSecret) {
			es.Spec.Data = nil
			es.Spec.DataFrom = []externalsecret.DataFrom{{
				Extract: &externalsecret.RemoteRef{Key: "sites"},
				// A rewrite turns key conversion off.
				Rewrite: []externalsecret.Rewrite{{Regexp: &externalsecret.RewriteRegexp{Source: "^prefix/", Target: ""}}},
			}}
			es.Spec.Target.Template = tpl
		})
	}
	values := &Fetched{DataFrom: []Values{{Values: map[string][]byte{
		"productA/nginx/site-a": []byte("CANARY-a"),
		"prefix/":               []byte("dropped"),
	}}}}
	tests := map[string]struct {
		es       *externalsecret.ExternalSecret
		wantData map[string][]byte
		wantErr  string
	}{
		"no template: an invalid key fails": {
			es:      fromFind(nil),
			wantErr: `key "productA/nginx/site-a" is not a valid Secret key`,
		},
		"a template that reads it into a valid key": {
			es:       fromFind(&externalsecret.Template{Data: map[string]string{"site-a.conf": `{{ index . "productA/nginx/site-a" }}`}}),
			wantData: map[string][]byte{"site-a.conf": []byte("CANARY-a")},
		},
		"a template that writes it": {
			es:      fromFind(&externalsecret.Template{MergePolicy: externalsecret.MergePolicyMerge, Data: map[string]string{"x": "y"}}),
			wantErr: `key "productA/nginx/site-a" is not a valid Secret key`,
		},
		"a template key that is not valid": {
			es:      fromFind(&externalsecret.Template{Data: map[string]string{"a b": "y"}}),
			wantErr: `key "a b" is not a valid Secret key`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out := Reconcile(Input{ExternalSecret: tc.es, Fetched: values, Now: now})
			if tc.wantErr != "" {
				if out.Err == nil || !strings.Contains(out.Err.Error(), tc.wantErr) {
					t.Fatalf("want an error with %q, got %v", tc.wantErr, out.Err)
				}
				if strings.Contains(out.Err.Error(), "CANARY") {
					t.Errorf("the error shows a value: %v", out.Err)
				}
				return
			}
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			if diff := cmp.Diff(tc.wantData, out.Secret.Data); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
		})
	}
}

// CreateOrMerge creates the Secret, without an owner, when it is missing,
// and otherwise merges into it as Merge does.
func TestReconcileCreateOrMerge(t *testing.T) {
	es := newES(withPolicy(externalsecret.CreatePolicyCreateOrMerge, ""))
	out := Reconcile(Input{ExternalSecret: es, Fetched: fetched("admin", "s3cret"), Now: now})
	if out.Action != ActionCreate || out.Err != nil {
		t.Fatalf("a missing Secret: want Create, got %s (%v)", out.Action, out.Err)
	}
	if len(out.Secret.OwnerReferences) != 0 {
		t.Errorf("want no owner reference, got %v", out.Secret.OwnerReferences)
	}

	foreign := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "app-secret", Namespace: "team-a", ResourceVersion: "3"},
		Data:       map[string][]byte{"other": []byte("keep-me"), "user": []byte("old")},
	}
	out = Reconcile(Input{ExternalSecret: es, Existing: foreign, Fetched: fetched("admin", "s3cret"), Now: now})
	if out.Action != ActionUpdate || out.Err != nil {
		t.Fatalf("an existing Secret: want Update, got %s (%v)", out.Action, out.Err)
	}
	want := map[string][]byte{"other": []byte("keep-me"), "user": []byte("admin"), "password": []byte("s3cret")}
	if diff := cmp.Diff(want, out.Secret.Data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	if len(out.Secret.OwnerReferences) != 0 {
		t.Errorf("want no owner reference, got %v", out.Secret.OwnerReferences)
	}

	// Keys of other writers are not hand edits: a merged Secret is not due
	// before its refresh, a deleted one is, to be created again.
	synced := es.DeepCopy()
	synced.Status = out.Status
	if due, _ := Due(synced, out.Secret, now, now); due {
		t.Error("a merged Secret with foreign keys is due at once")
	}
	if due, _ := Due(synced, nil, now, now); !due {
		t.Error("a deleted Secret is not due")
	}
}

// nullBytePolicy Fail refuses a value read that holds a NUL byte, before
// any decoding, naming the key and never the value.
func TestReconcileNullBytePolicy(t *testing.T) {
	withPolicy := func(p externalsecret.NullBytePolicy) func(*externalsecret.ExternalSecret) {
		return func(es *externalsecret.ExternalSecret) {
			es.Spec.Data[1].RemoteRef.NullBytePolicy = p
			es.Spec.DataFrom = []externalsecret.DataFrom{{Find: &externalsecret.Find{NullBytePolicy: p}}}
		}
	}
	values := func(data, found string) *Fetched {
		f := fetched("admin", data)
		f.DataFrom = []Values{{Values: map[string][]byte{"found": []byte(found)}}}
		return f
	}
	tests := map[string]struct {
		es      *externalsecret.ExternalSecret
		fetched *Fetched
		wantErr []string
	}{
		"unset writes NUL bytes":  {es: newES(withPolicy("")), fetched: values("CANARY\x00a", "CANARY\x00b")},
		"Ignore writes NUL bytes": {es: newES(withPolicy(externalsecret.NullBytePolicyIgnore)), fetched: values("CANARY\x00a", "CANARY\x00b")},
		"Fail without NUL bytes":  {es: newES(withPolicy(externalsecret.NullBytePolicyFail)), fetched: values("CANARY-a", "CANARY-b")},
		"Fail refuses a data value": {
			es: newES(withPolicy(externalsecret.NullBytePolicyFail)), fetched: values("CANARY\x00a", "CANARY-b"),
			wantErr: []string{`spec.data[1]`, `key "password" holds NUL bytes`},
		},
		"Fail refuses a value found": {
			es: newES(withPolicy(externalsecret.NullBytePolicyFail)), fetched: values("CANARY-a", "CANARY\x00b"),
			wantErr: []string{`spec.dataFrom[0]`, `key "found" holds NUL bytes`},
		},
		"Fail looks at the value as read, before decoding": {
			es: newES(withPolicy(externalsecret.NullBytePolicyFail), func(es *externalsecret.ExternalSecret) {
				es.Spec.Data[1].RemoteRef.DecodingStrategy = externalsecret.DecodeBase64
			}),
			fetched: values("QQBC", "CANARY-b"), // A\x00B, encoded
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out := Reconcile(Input{ExternalSecret: tc.es, Fetched: tc.fetched, Now: now})
			if len(tc.wantErr) == 0 {
				if out.Err != nil {
					t.Fatal(out.Err)
				}
				return
			}
			if out.Err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(out.Err.Error(), w) {
					t.Errorf("want an error with %q, got %v", w, out.Err)
				}
			}
			if strings.Contains(out.Err.Error(), "CANARY") {
				t.Errorf("the error shows a value: %v", out.Err)
			}
		})
	}
}

// A template's finalizers are added to the Secret, never removed, and not
// added to a Secret being deleted.
func TestReconcileTemplateFinalizers(t *testing.T) {
	es := newES(func(es *externalsecret.ExternalSecret) {
		es.Spec.Target.Template = &externalsecret.Template{Metadata: externalsecret.TemplateMetadata{Finalizers: []string{"example.com/keep", "example.com/audit"}}}
	})
	out := Reconcile(Input{ExternalSecret: es, Fetched: fetched("admin", "s3cret"), Now: now})
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	if diff := cmp.Diff([]string{"example.com/keep", "example.com/audit"}, out.Secret.Finalizers); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}

	existing := out.Secret.DeepCopy()
	existing.ResourceVersion = "7"
	existing.Finalizers = []string{"other.io/theirs", "example.com/keep"}
	out = Reconcile(Input{ExternalSecret: es, Existing: existing, Fetched: fetched("admin", "s3cret"), Now: now})
	if out.Err != nil || out.Action != ActionUpdate {
		t.Fatalf("want Update, got %s (%v)", out.Action, out.Err)
	}
	if diff := cmp.Diff([]string{"other.io/theirs", "example.com/keep", "example.com/audit"}, out.Secret.Finalizers); diff != "" {
		t.Errorf("updated (-want +got):\n%s", diff)
	}

	deleting := existing.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: now}
	deleting.Data["user"] = []byte("old")
	out = Reconcile(Input{ExternalSecret: es, Existing: deleting, Fetched: fetched("admin", "s3cret"), Now: now})
	if out.Secret != nil && len(out.Secret.Finalizers) != 2 {
		t.Errorf("finalizers added to a Secret being deleted: %v", out.Secret.Finalizers)
	}
}

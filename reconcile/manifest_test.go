package reconcile

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/secretsync/secretsync/externalsecret"
)

func withManifest(apiVersion, kind string) func(*externalsecret.ExternalSecret) {
	return func(es *externalsecret.ExternalSecret) {
		es.Spec.Target.Manifest = &externalsecret.Manifest{APIVersion: apiVersion, Kind: kind}
	}
}

// roundTrip returns obj as the apiserver gives it back: through JSON,
// with a resourceVersion.
func roundTrip(t *testing.T, obj *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	b, err := json.Marshal(obj.Object)
	if err != nil {
		t.Fatal(err)
	}
	back := &unstructured.Unstructured{}
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	back.SetResourceVersion("7")
	return back
}

func TestManifestConfigMap(t *testing.T) {
	es := newES(withManifest("v1", "ConfigMap"), func(es *externalsecret.ExternalSecret) {
		es.Labels = map[string]string{"team": "a"}
	})
	out := Reconcile(Input{ExternalSecret: es, Fetched: fetched("admin", "\xff\xfe"), Now: now})
	if out.Err != nil || out.Action != ActionCreate || out.Secret != nil {
		t.Fatalf("want Create of an object, got %s, secret %v (%v)", out.Action, out.Secret != nil, out.Err)
	}
	obj := out.Object
	if obj.GetKind() != "ConfigMap" || obj.GetName() != "app-secret" || obj.GetNamespace() != "team-a" {
		t.Errorf("target is %s %s/%s", obj.GetKind(), obj.GetNamespace(), obj.GetName())
	}
	data, _, _ := unstructured.NestedStringMap(obj.Object, "data")
	binary, _, _ := unstructured.NestedStringMap(obj.Object, "binaryData")
	if diff := cmp.Diff(map[string]string{"user": "admin"}, data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"password": "//4="}, binary); diff != "" {
		t.Errorf("binaryData (-want +got):\n%s", diff)
	}
	if obj.GetLabels()["team"] != "a" || obj.GetLabels()[LabelManaged] != "true" {
		t.Errorf("labels %v: want the ExternalSecret's and the managed label", obj.GetLabels())
	}
	if owner := metav1.GetControllerOf(obj); owner == nil || owner.UID != es.UID {
		t.Errorf("controller %v, want the ExternalSecret", owner)
	}
	if out.Events[0].Message != "created ConfigMap app-secret" {
		t.Errorf("event %q", out.Events[0].Message)
	}

	// Unchanged: no write, and nothing is due.
	existing := roundTrip(t, obj)
	synced := es.DeepCopy()
	synced.Status = out.Status
	again := Reconcile(Input{ExternalSecret: synced, ExistingObject: existing, Fetched: fetched("admin", "\xff\xfe"), Now: now})
	if again.Action != ActionNone || again.Err != nil {
		t.Errorf("unchanged: want None, got %s (%v)", again.Action, again.Err)
	}
	if due, _ := DueObject(synced, existing, now, now); due {
		t.Error("an intact ConfigMap is due")
	}
	// Edited by hand: due, and restored.
	edited := existing.DeepCopy()
	_ = unstructured.SetNestedField(edited.Object, "root", "data", "user")
	if due, _ := DueObject(synced, edited, now, now); !due {
		t.Error("an edited ConfigMap is not due")
	}
	fixed := Reconcile(Input{ExternalSecret: synced, ExistingObject: edited, Fetched: fetched("admin", "\xff\xfe"), Now: now})
	if got, _, _ := unstructured.NestedString(fixed.Object.Object, "data", "user"); fixed.Action != ActionUpdate || got != "admin" {
		t.Errorf("edited: want an Update back to admin, got %s with %q", fixed.Action, got)
	}
}

// The ESO documentation's advanced path example: templateFrom literals
// merged at spec.database and spec.logging of a custom resource, fields
// written by others left alone.
func TestManifestFieldPaths(t *testing.T) {
	es := newES(withManifest("config.example.com/v1", "AppConfig"), func(es *externalsecret.ExternalSecret) {
		es.Spec.Target.Template = &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{
			{Literal: ptrTo("host: db\nport: 5432\ncredentials:\n  username: '{{ .user }}'\n  password: '{{ .password }}'\n"), Target: "spec.database"},
			{Literal: ptrTo("level: info\n"), Target: "spec.logging"},
		}}
	})
	existing := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "config.example.com/v1", "kind": "AppConfig",
		"metadata": map[string]any{"name": "app-secret", "namespace": "team-a", "resourceVersion": "3"},
		"spec":     map[string]any{"replicas": int64(2), "database": map[string]any{"pool": int64(10)}},
	}}
	out := Reconcile(Input{ExternalSecret: es, ExistingObject: existing, Fetched: fetched("admin", "CANARY-pw"), Now: now})
	if out.Err != nil || out.Action != ActionUpdate {
		t.Fatalf("want Update, got %s (%v)", out.Action, out.Err)
	}
	want := map[string]any{
		"replicas": int64(2),
		"database": map[string]any{"pool": int64(10), "host": "db", "port": int64(5432), "credentials": map[string]any{"username": "admin", "password": "CANARY-pw"}},
		"logging":  map[string]any{"level": "info"},
	}
	if diff := cmp.Diff(want, out.Object.Object["spec"]); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if _, ok := existing.Object["spec"].(map[string]any)["logging"]; ok {
		t.Error("Reconcile changed its input")
	}
	synced := es.DeepCopy()
	synced.Status = out.Status
	again := Reconcile(Input{ExternalSecret: synced, ExistingObject: roundTrip(t, out.Object), Fetched: fetched("admin", "CANARY-pw"), Now: now})
	if again.Action != ActionNone {
		t.Errorf("unchanged: want None, got %s (%v)", again.Action, again.Err)
	}
}

func TestManifestErrors(t *testing.T) {
	foreign := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}
	foreign.SetName("app-secret")
	foreign.SetOwnerReferences([]metav1.OwnerReference{{Kind: "Deployment", Name: "web", UID: "other", Controller: ptrTo(true)}})
	for name, tc := range map[string]struct {
		es       *externalsecret.ExternalSecret
		existing *unstructured.Unstructured
		values   []string
		want     string
	}{
		"path into metadata": {
			es: newES(withManifest("x.io/v1", "Thing"), func(es *externalsecret.ExternalSecret) {
				es.Spec.Target.Template = &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{{Literal: ptrTo("a: b"), Target: "metadata.labels"}}}
			}),
			want: "metadata is not written by templates",
		},
		"path through a scalar": {
			es: newES(withManifest("x.io/v1", "Thing"), func(es *externalsecret.ExternalSecret) {
				es.Spec.Target.Template = &externalsecret.Template{TemplateFrom: []externalsecret.TemplateFrom{
					{Literal: ptrTo("'{{ .user }}'"), Target: "spec.a"},
					{Literal: ptrTo("c: d"), Target: "spec.a.b"},
				}}
			}),
			want: "target spec.a.b: spec.a is not a map",
		},
		"type on a ConfigMap": {
			es: newES(withManifest("v1", "ConfigMap"), func(es *externalsecret.ExternalSecret) {
				es.Spec.Target.Template = &externalsecret.Template{Type: "kubernetes.io/tls"}
			}),
			want: "template type kubernetes.io/tls applies to a Secret, not to a ConfigMap",
		},
		"immutable custom resource": {
			es:   newES(withManifest("x.io/v1", "Thing"), func(es *externalsecret.ExternalSecret) { es.Spec.Target.Immutable = true }),
			want: "target.immutable applies to a Secret or a ConfigMap",
		},
		"binary in a custom resource": {
			es:     newES(withManifest("x.io/v1", "Thing")),
			values: []string{"admin", "\xff"},
			want:   "the value of key password is not UTF-8 text",
		},
		"controlled by another": {
			es:       newES(withManifest("v1", "ConfigMap")),
			existing: foreign,
			want:     "ConfigMap app-secret is controlled by Deployment web",
		},
		"merge into nothing": {
			es:   newES(withManifest("v1", "ConfigMap"), withPolicy(externalsecret.CreatePolicyMerge, "")),
			want: "ConfigMap app-secret does not exist; creationPolicy Merge",
		},
	} {
		t.Run(name, func(t *testing.T) {
			values := tc.values
			if values == nil {
				values = []string{"admin", "CANARY-pw"}
			}
			out := Reconcile(Input{ExternalSecret: tc.es, ExistingObject: tc.existing, Fetched: fetched(values...), Now: now})
			if out.Err == nil || !strings.Contains(out.Err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, out.Err)
			}
			if out.Action != ActionNone || strings.Contains(out.Err.Error(), "CANARY") {
				t.Errorf("action %s, error %v", out.Action, out.Err)
			}
		})
	}
}

// A target with creationPolicy Merge gains the keys and keeps the rest,
// and its owner.
func TestManifestMerge(t *testing.T) {
	es := newES(withManifest("v1", "ConfigMap"), withPolicy(externalsecret.CreatePolicyMerge, ""))
	existing := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "app-secret", "namespace": "team-a"},
		"data":     map[string]any{"other": "kept", "user": "old"},
	}}
	out := Reconcile(Input{ExternalSecret: es, ExistingObject: existing, Fetched: fetched("admin", "pw"), Now: now})
	if out.Action != ActionUpdate {
		t.Fatalf("want Update, got %s (%v)", out.Action, out.Err)
	}
	data, _, _ := unstructured.NestedStringMap(out.Object.Object, "data")
	if diff := cmp.Diff(map[string]string{"other": "kept", "user": "admin", "password": "pw"}, data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	if len(out.Object.GetOwnerReferences()) != 0 {
		t.Error("a merged ConfigMap got an owner")
	}
}

// Every remote value gone with deletionPolicy Delete deletes the target
// the ExternalSecret owns.
func TestManifestDelete(t *testing.T) {
	es := newES(withManifest("v1", "ConfigMap"), withPolicy(externalsecret.CreatePolicyOwner, externalsecret.DeletionPolicyDelete))
	created := Reconcile(Input{ExternalSecret: es, Fetched: fetched("a", "b"), Now: now}).Object
	gone := &Fetched{Data: []Value{notFound("db"), notFound("db")}}
	out := Reconcile(Input{ExternalSecret: es, ExistingObject: roundTrip(t, created), Fetched: gone, Now: now})
	if out.Action != ActionDelete || out.Object == nil || out.Object.GetName() != "app-secret" {
		t.Fatalf("want Delete of the ConfigMap, got %s", out.Action)
	}
	if !strings.Contains(out.Events[0].Message, "deleted ConfigMap app-secret") {
		t.Errorf("event %q", out.Events[0].Message)
	}
}

package reconcile

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/template"
)

// A manifest target (spec.target.manifest) is a resource of another kind
// than Secret: a ConfigMap or a custom resource in the ExternalSecret's
// namespace. Its content is placed as the External Secrets Operator
// places it:
//
//   - A ConfigMap holds the values in data; a value that is not UTF-8
//     text goes to binaryData instead, where the operator would corrupt it.
//   - Another kind holds them in spec.data without a template, and in
//     data with one (template.data and templateFrom entries with target
//     Data).
//   - A templateFrom entry whose target is a field path, such as
//     spec.database, places its output there (see template.Field).
//
// Labels and annotations, ownership, creation and deletion policies and
// the no-write rule for unchanged content work as for a Secret.

// reconcileManifest is Reconcile for a manifest target, from the rendered
// output on.
func reconcileManifest(in Input, out template.Output) Output {
	es := in.ExternalSecret
	m := es.Spec.Target.Manifest
	configMap := isConfigMap(m)
	switch {
	case out.Type != "":
		return failed(in, EventSyncFailed, fmt.Errorf("template type %s applies to a Secret, not to a %s", out.Type, m.Kind))
	case es.Spec.Target.Immutable && !configMap:
		return failed(in, EventSyncFailed, fmt.Errorf("target.immutable applies to a Secret or a ConfigMap, not to a %s", m.Kind))
	}
	if configMap {
		if err := checkKeys(out.Data); err != nil {
			return failed(in, EventSyncFailed, err)
		}
	}
	if size := dataSize(out.Data); size > MaxSecretSize {
		return failed(in, EventSyncFailed, fmt.Errorf("the %s would hold %d bytes of data, over the limit of %d", m.Kind, size, MaxSecretSize))
	}
	if es.Spec.Target.Template == nil {
		out.Labels, out.Annotations = copyMetadata(es)
	}
	desired, action, err := planObject(in, out)
	if err != nil {
		return failed(in, EventSyncFailed, err)
	}
	return succeeded(in, Output{Action: action, Object: desired}, m.Kind, "")
}

func isConfigMap(m *externalsecret.Manifest) bool {
	return m.APIVersion == "v1" && m.Kind == "ConfigMap"
}

// planObject builds the desired target on the existing one, if any, and
// compares the two.
func planObject(in Input, out template.Output) (*unstructured.Unstructured, Action, error) {
	es := in.ExternalSecret
	m := es.Spec.Target.Manifest
	existing := in.ExistingObject
	policy := es.CreationPolicy()
	switch policy {
	case externalsecret.CreatePolicyNone:
		return nil, ActionNone, nil
	case externalsecret.CreatePolicyMerge:
		if existing == nil {
			return nil, ActionNone, fmt.Errorf("%s %s does not exist; creationPolicy Merge only adds to an existing one", m.Kind, es.TargetName())
		}
	}
	merging := existing != nil && (policy == externalsecret.CreatePolicyMerge || policy == externalsecret.CreatePolicyCreateOrMerge)

	var obj *unstructured.Unstructured
	if existing != nil {
		if owner := metav1.GetControllerOf(existing); !merging && owner != nil && owner.UID != in.owner().UID {
			return nil, ActionNone, fmt.Errorf("%s %s is controlled by %s %s, not by this ExternalSecret", m.Kind, existing.GetName(), owner.Kind, owner.Name)
		}
		obj = existing.DeepCopy()
	} else {
		obj = &unstructured.Unstructured{Object: map[string]any{}}
		obj.SetAPIVersion(m.APIVersion)
		obj.SetKind(m.Kind)
		obj.SetName(es.TargetName())
		obj.SetNamespace(es.Namespace)
	}
	if err := setContent(es, obj, out, merging); err != nil {
		return nil, ActionNone, err
	}
	obj.SetLabels(mergeMaps(obj.GetLabels(), out.Labels, map[string]string{LabelManaged: "true"}))
	obj.SetAnnotations(mergeMaps(obj.GetAnnotations(), out.Annotations, map[string]string{AnnotationDataHash: contentHash(es, obj)}))
	if es.Spec.Target.Immutable {
		obj.Object["immutable"] = true
	}
	if policy == externalsecret.CreatePolicyOwner && metav1.GetControllerOf(obj) == nil {
		obj.SetOwnerReferences(append(obj.GetOwnerReferences(), in.owner()))
	}
	if t := es.Spec.Target.Template; t != nil && obj.GetDeletionTimestamp() == nil {
		finalizers := obj.GetFinalizers()
		for _, f := range t.Metadata.Finalizers {
			if !slices.Contains(finalizers, f) {
				finalizers = append(finalizers, f)
			}
		}
		obj.SetFinalizers(finalizers)
	}

	if existing == nil {
		return obj, ActionCreate, nil
	}
	if apiequality.Semantic.DeepEqual(existing.Object, obj.Object) {
		return nil, ActionNone, nil
	}
	if immutable, _, _ := unstructured.NestedBool(existing.Object, "immutable"); immutable {
		return nil, ActionNone, fmt.Errorf("%s %s is immutable and its data changed; delete it to write the new data", m.Kind, existing.GetName())
	}
	return obj, ActionUpdate, nil
}

// setContent places the rendered values in obj. Without merging, the maps
// of values are replaced whole; with it, keys are added to them.
func setContent(es *externalsecret.ExternalSecret, obj *unstructured.Unstructured, out template.Output, merging bool) error {
	m := es.Spec.Target.Manifest
	put := func(path []string, values map[string]any) error {
		if merging {
			old, _, err := unstructured.NestedMap(obj.Object, path...)
			if err != nil {
				return fmt.Errorf("%s %s: %s is not a map: %w", m.Kind, obj.GetName(), strings.Join(path, "."), err)
			}
			for k, v := range values {
				old[k] = v
			}
			values = old
		}
		if len(values) == 0 {
			unstructured.RemoveNestedField(obj.Object, path...)
			return nil
		}
		return unstructured.SetNestedField(obj.Object, values, path...)
	}
	switch {
	case isConfigMap(m):
		text, binary := map[string]any{}, map[string]any{}
		for k, v := range out.Data {
			if utf8.Valid(v) {
				text[k] = string(v)
			} else {
				binary[k] = base64.StdEncoding.EncodeToString(v)
			}
		}
		if merging {
			// A key moves between data and binaryData when its value
			// changes from text to binary or back.
			for k := range text {
				unstructured.RemoveNestedField(obj.Object, "binaryData", k)
			}
			for k := range binary {
				unstructured.RemoveNestedField(obj.Object, "data", k)
			}
		}
		if err := put([]string{"data"}, text); err != nil {
			return err
		}
		if err := put([]string{"binaryData"}, binary); err != nil {
			return err
		}
	case len(out.Data) > 0:
		values := map[string]any{}
		for k, v := range out.Data {
			if !utf8.Valid(v) {
				return fmt.Errorf("the value of key %s is not UTF-8 text, which a %s cannot hold", k, m.Kind)
			}
			values[k] = string(v)
		}
		path := []string{"data"}
		if es.Spec.Target.Template == nil {
			path = []string{"spec", "data"}
		}
		if err := put(path, values); err != nil {
			return err
		}
	}
	for _, f := range out.Fields {
		if err := setField(obj.Object, f); err != nil {
			return fmt.Errorf("%s %s: %w", m.Kind, obj.GetName(), err)
		}
	}
	return nil
}

// setField places f in obj. A value at a path of one segment replaces
// the field; at a longer path, a map is merged into a map already there
// and anything else replaces it. Missing maps on the way are created.
func setField(obj map[string]any, f template.Field) error {
	parts := strings.Split(f.Path, ".")
	switch parts[0] {
	case "apiVersion", "kind", "metadata", "status":
		return fmt.Errorf("target %s: %s is not written by templates; labels and annotations come from template.metadata", f.Path, parts[0])
	}
	if len(parts) == 1 {
		obj[parts[0]] = f.Value
		return nil
	}
	cur := obj
	for i, p := range parts[:len(parts)-1] {
		next, ok := cur[p]
		if !ok || next == nil {
			next = map[string]any{}
			cur[p] = next
		}
		m, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("target %s: %s is not a map", f.Path, strings.Join(parts[:i+1], "."))
		}
		cur = m
	}
	last := parts[len(parts)-1]
	if old, ok := cur[last].(map[string]any); ok {
		if m, ok := f.Value.(map[string]any); ok {
			for k, v := range m {
				old[k] = v
			}
			return nil
		}
	}
	cur[last] = f.Value
	return nil
}

// contentPaths are the fields of a manifest target es writes values to.
func contentPaths(es *externalsecret.ExternalSecret) []string {
	m := es.Spec.Target.Manifest
	t := es.Spec.Target.Template
	switch {
	case isConfigMap(m):
		return []string{"data", "binaryData"}
	case t == nil:
		return []string{"spec.data"}
	}
	paths := []string{"data"}
	for _, from := range t.TemplateFrom {
		if from.Target.IsPath() && !slices.Contains(paths, string(from.Target)) {
			paths = append(paths, string(from.Target))
		}
	}
	return paths
}

// contentHash hashes the fields of obj es writes values to, so that one
// edited by hand is noticed.
func contentHash(es *externalsecret.ExternalSecret, obj *unstructured.Unstructured) string {
	content := map[string]any{}
	for _, p := range contentPaths(es) {
		if v, ok, _ := unstructured.NestedFieldNoCopy(obj.Object, strings.Split(p, ".")...); ok {
			content[p] = v
		}
	}
	// Maps marshal with sorted keys: the same content, the same hash.
	b, err := json.Marshal(content)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:32]
}

// ownObjectIntact is ownSecretIntact for a manifest target.
func ownObjectIntact(es *externalsecret.ExternalSecret, obj *unstructured.Unstructured) bool {
	if obj == nil {
		return false
	}
	if p := es.CreationPolicy(); p == externalsecret.CreatePolicyMerge || p == externalsecret.CreatePolicyCreateOrMerge {
		return true
	}
	return obj.GetAnnotations()[AnnotationDataHash] == contentHash(es, obj)
}

// DueObject is [Due] for an ExternalSecret with a manifest target:
// existing is the target resource, nil when it does not exist.
func DueObject(es *externalsecret.ExternalSecret, existing *unstructured.Unstructured, lastRead, now time.Time) (due bool, wait time.Duration) {
	return dueWith(es, func() bool { return ownObjectIntact(es, existing) }, lastRead, now)
}

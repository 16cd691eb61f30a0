package engine

import (
	"maps"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/reconcile"
)

// What an informer of many ExternalSecrets and Secrets holds is mostly
// the same few strings, each decoded into a copy of its own: the
// namespace, the store, the API version and kind, the condition's reason
// and message, the managed label. The transforms here keep one copy of
// each. Nothing may write into an object from an informer's cache, so
// sharing is safe; the engine copies before it changes anything.

// interned holds one copy of each string seen, up to maxInterned; past
// that, strings are kept as they are.
var interned = struct {
	sync.Mutex
	m map[string]string
}{m: map[string]string{}}

const maxInterned = 1 << 16

// intern returns the shared copy of s.
func intern[S ~string](s *S) {
	if *s == "" {
		return
	}
	interned.Lock()
	defer interned.Unlock()
	if v, ok := interned.m[string(*s)]; ok {
		*s = S(v)
		return
	}
	if len(interned.m) < maxInterned {
		interned.m[string(*s)] = string(*s)
	}
}

// managedLabels is the label map of every Secret that carries only the
// managed label, shared.
var managedLabels = map[string]string{reconcile.LabelManaged: "true"}

func compactMeta(m *metav1.ObjectMeta) {
	intern(&m.Namespace)
	if maps.Equal(m.Labels, managedLabels) {
		m.Labels = managedLabels
	}
	for i := range m.OwnerReferences {
		intern(&m.OwnerReferences[i].APIVersion)
		intern(&m.OwnerReferences[i].Kind)
	}
}

// CompactSecrets is the informer transform for the Secrets the engine
// manages: [StripManagedFields], and one shared copy of what they repeat.
func CompactSecrets(obj any) (any, error) {
	obj, _ = StripManagedFields(obj)
	if s, ok := obj.(*corev1.Secret); ok {
		compactMeta(&s.ObjectMeta)
		intern(&s.Type)
	}
	return obj, nil
}

// CompactExternalSecrets is the informer transform for ExternalSecrets:
// [StripForStatusWrites], and one shared copy of what they repeat.
func CompactExternalSecrets(obj any) (any, error) {
	obj, _ = StripForStatusWrites(obj)
	es, ok := obj.(*externalsecret.ExternalSecret)
	if !ok {
		return obj, nil
	}
	intern(&es.APIVersion)
	intern(&es.Kind)
	compactMeta(&es.ObjectMeta)
	spec := &es.Spec
	intern(&spec.SecretStoreRef.Name)
	intern(&spec.SecretStoreRef.Kind)
	intern(&spec.RefreshPolicy)
	intern(&spec.Target.CreationPolicy)
	intern(&spec.Target.DeletionPolicy)
	for i := range spec.Data {
		r := &spec.Data[i].RemoteRef
		intern(&r.MetadataPolicy)
		intern(&r.ConversionStrategy)
		intern(&r.DecodingStrategy)
		intern(&r.NullBytePolicy)
	}
	st := &es.Status
	for i := range st.Conditions {
		c := &st.Conditions[i]
		intern(&c.Type)
		intern(&c.Status)
		intern(&c.Reason)
		intern(&c.Message)
	}
	if st.Binding.Name == es.Name {
		st.Binding.Name = es.Name
	}
	return es, nil
}

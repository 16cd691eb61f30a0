package reconcile

import (
	"fmt"
	"regexp"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/secretstore"
)

// StoreOptions are the host's rules for which stores it serves.
type StoreOptions struct {
	// ControllerClass is the class of this controller; it serves only
	// stores whose spec.controller equals it.
	ControllerClass string
	// DenyUnconditioned makes a ClusterSecretStore without conditions
	// usable from no namespace, instead of from every namespace.
	DenyUnconditioned bool
}

// CheckStore reports whether an ExternalSecret in namespace ns may use
// store: the store must be of this controller's class, and a
// ClusterSecretStore's conditions must admit the namespace. ns may be nil
// when the store is a SecretStore.
func CheckStore(store secretstore.GenericStore, ns *corev1.Namespace, opts StoreOptions) error {
	spec := store.StoreSpec()
	if spec.Controller != opts.ControllerClass {
		return fmt.Errorf("%s belongs to controller class %q, not %q", secretstore.Ref(store), spec.Controller, opts.ControllerClass)
	}
	if store.Kind() != secretstore.KindClusterSecretStore {
		return nil
	}
	if ns == nil {
		return fmt.Errorf("%s: the namespace of the ExternalSecret is unknown", secretstore.Ref(store))
	}
	if len(spec.Conditions) == 0 {
		if opts.DenyUnconditioned {
			return fmt.Errorf("%s has no conditions, and this controller admits no namespace to such a store", secretstore.Ref(store))
		}
		return nil
	}
	for i, c := range spec.Conditions {
		ok, err := namespaceMatches(c, ns)
		if err != nil {
			return fmt.Errorf("%s: spec.conditions[%d]: %w", secretstore.Ref(store), i, err)
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("%s does not admit namespace %q: no entry of spec.conditions matches it", secretstore.Ref(store), ns.Name)
}

func namespaceMatches(c secretstore.ClusterSecretStoreCondition, ns *corev1.Namespace) (bool, error) {
	for _, n := range c.Namespaces {
		if n == ns.Name {
			return true, nil
		}
	}
	for _, expr := range c.NamespaceRegexes {
		re, err := regexp.Compile(expr)
		if err != nil {
			return false, fmt.Errorf("namespaceRegexes: %w", err)
		}
		if re.MatchString(ns.Name) {
			return true, nil
		}
	}
	if c.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(c.NamespaceSelector)
		if err != nil {
			return false, fmt.Errorf("namespaceSelector: %w", err)
		}
		if sel.Matches(labels.Set(ns.Labels)) {
			return true, nil
		}
	}
	return false, nil
}

// StoreRefs returns every store es reads from, its own and those its
// sourceRefs name, each once.
func StoreRefs(es *externalsecret.ExternalSecret) []externalsecret.SecretStoreRef {
	seen := map[externalsecret.SecretStoreRef]bool{}
	var refs []externalsecret.SecretStoreRef
	add := func(r externalsecret.SecretStoreRef) {
		if r.Name == "" {
			return
		}
		r.Kind = r.StoreKind()
		if !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
	}
	add(es.Spec.SecretStoreRef)
	for i := range es.Spec.Data {
		add(DataStore(es, &es.Spec.Data[i]))
	}
	for i := range es.Spec.DataFrom {
		add(DataFromStore(es, &es.Spec.DataFrom[i]))
	}
	return refs
}

// DataStore returns the store the spec.data entry d of es reads from: the
// one its sourceRef names, else the ExternalSecret's, with its kind set.
func DataStore(es *externalsecret.ExternalSecret, d *externalsecret.Data) externalsecret.SecretStoreRef {
	ref := es.Spec.SecretStoreRef
	if d.SourceRef != nil && d.SourceRef.SecretStoreRef.Name != "" {
		ref = d.SourceRef.SecretStoreRef
	}
	ref.Kind = ref.StoreKind()
	return ref
}

// DataFromStore returns the store the spec.dataFrom entry df of es reads
// from: the one its sourceRef names, else the ExternalSecret's, with its
// kind set.
func DataFromStore(es *externalsecret.ExternalSecret, df *externalsecret.DataFrom) externalsecret.SecretStoreRef {
	ref := es.Spec.SecretStoreRef
	if df.SourceRef != nil && df.SourceRef.SecretStoreRef != nil {
		ref = *df.SourceRef.SecretStoreRef
	}
	ref.Kind = ref.StoreKind()
	return ref
}

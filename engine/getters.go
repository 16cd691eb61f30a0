package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/secretstore"
)

// StoreKey names a SecretStore (with its namespace) or a
// ClusterSecretStore (Namespace empty).
type StoreKey struct {
	Kind      string
	Namespace string
	Name      string
}

// String returns "Kind/name" or "Kind/namespace/name".
func (k StoreKey) String() string {
	if k.Namespace == "" {
		return k.Kind + "/" + k.Name
	}
	return k.Kind + "/" + k.Namespace + "/" + k.Name
}

// StoreKeyFor returns the key of the store ref names from an ExternalSecret
// in namespace.
func StoreKeyFor(ref externalsecret.SecretStoreRef, namespace string) StoreKey {
	k := StoreKey{Kind: ref.StoreKind(), Namespace: namespace, Name: ref.Name}
	if k.Kind == secretstore.KindClusterSecretStore {
		k.Namespace = ""
	}
	return k
}

// StoreKeysOf returns the keys of the stores es reads, once each: what a
// host indexes ExternalSecrets by, so that a store's change requeues its
// readers (a client-go indexer, or a controller-runtime field index).
func StoreKeysOf(es *externalsecret.ExternalSecret) []StoreKey {
	var keys []StoreKey
	for _, ref := range reconcile.StoreRefs(es) {
		keys = append(keys, StoreKeyFor(ref, es.Namespace))
	}
	return keys
}

// StoreKeyOf returns the key of store.
func StoreKeyOf(store secretstore.GenericStore) StoreKey {
	k := StoreKey{Kind: store.Kind(), Namespace: store.GetNamespace(), Name: store.GetName()}
	if k.Kind == secretstore.KindClusterSecretStore {
		k.Namespace = ""
	}
	return k
}

// StoreGetter finds stores. It returns an error for which
// apierrors.IsNotFound is true when the store does not exist. A host
// typically serves it from an informer's cache or a cached client;
// [CRDClient] serves it from the API.
type StoreGetter interface {
	Store(ctx context.Context, key StoreKey) (secretstore.GenericStore, error)
}

// StoreGetterFunc adapts a function to a [StoreGetter].
type StoreGetterFunc func(ctx context.Context, key StoreKey) (secretstore.GenericStore, error)

// Store calls f.
func (f StoreGetterFunc) Store(ctx context.Context, key StoreKey) (secretstore.GenericStore, error) {
	return f(ctx, key)
}

// SecretGetter reads Secrets. It returns an error for which
// apierrors.IsNotFound is true when the Secret does not exist.
type SecretGetter interface {
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
}

// SecretGetterFunc adapts a function to a [SecretGetter].
type SecretGetterFunc func(ctx context.Context, namespace, name string) (*corev1.Secret, error)

// Secret calls f.
func (f SecretGetterFunc) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return f(ctx, namespace, name)
}

// NamespaceGetter reads Namespaces, whose labels ClusterSecretStore
// conditions select on. It returns an error for which apierrors.IsNotFound
// is true when the namespace does not exist.
type NamespaceGetter interface {
	Namespace(ctx context.Context, name string) (*corev1.Namespace, error)
}

// NamespaceGetterFunc adapts a function to a [NamespaceGetter].
type NamespaceGetterFunc func(ctx context.Context, name string) (*corev1.Namespace, error)

// Namespace calls f.
func (f NamespaceGetterFunc) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	return f(ctx, name)
}

// Objects reads the Secrets and ConfigMaps the engine does not manage:
// the credentials stores name and the sources of templateFrom. These are
// few, read rarely, and usually not worth a cache of every Secret in the
// cluster, so the default reads them from the API.
type Objects interface {
	SecretGetter
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
}

// Kube serves [SecretGetter], [NamespaceGetter] and [Objects] with live
// reads through a client-go clientset.
type Kube struct{ kubernetes.Interface }

// Secret reads a Secret.
func (k Kube) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return k.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}

// ConfigMap reads a ConfigMap.
func (k Kube) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	return k.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
}

// Namespace reads a Namespace.
func (k Kube) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	return k.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
}

// lookupStore finds the store ref names from an ExternalSecret in
// namespace, with a message a user can act on when it is missing.
func (e *Engine) lookupStore(ctx context.Context, ref externalsecret.SecretStoreRef, namespace string) (secretstore.GenericStore, error) {
	if ref.Name == "" {
		return nil, fmt.Errorf("spec.secretStoreRef.name is not set")
	}
	key := StoreKeyFor(ref, namespace)
	if key.Kind != secretstore.KindSecretStore && key.Kind != secretstore.KindClusterSecretStore {
		return nil, fmt.Errorf("store kind %q is not SecretStore or ClusterSecretStore", key.Kind)
	}
	store, err := e.cfg.Stores.Store(ctx, key)
	switch {
	case apierrors.IsNotFound(err) && key.Kind == secretstore.KindSecretStore:
		return nil, fmt.Errorf("SecretStore %q not found in namespace %s", key.Name, namespace)
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("ClusterSecretStore %q not found", key.Name)
	case err != nil:
		return nil, fmt.Errorf("get %s: %w", key, err)
	case store == nil:
		return nil, fmt.Errorf("get %s: the StoreGetter returned no store and no error", key)
	}
	return store, nil
}

// StoresFromIndexers serves stores from the caches of two client-go
// informers: one of SecretStores, keyed namespace/name, and one of
// ClusterSecretStores, keyed by name. It is a [StoreLister] too.
func StoresFromIndexers(secretStores, clusterSecretStores cache.Indexer) StoreGetter {
	return indexerStores{secretStores, clusterSecretStores}
}

type indexerStores struct{ stores, clusterStores cache.Indexer }

func (s indexerStores) Store(_ context.Context, key StoreKey) (secretstore.GenericStore, error) {
	idx, id, resource := s.stores, key.Namespace+"/"+key.Name, ResourceSecretStores
	if key.Kind == secretstore.KindClusterSecretStore {
		idx, id, resource = s.clusterStores, key.Name, ResourceClusterSecretStores
	}
	obj, exists, err := idx.GetByKey(id)
	if err != nil {
		return nil, err
	}
	store, ok := obj.(secretstore.GenericStore)
	if !exists || !ok {
		return nil, apierrors.NewNotFound(externalsecret.SchemeGroupVersion.WithResource(resource).GroupResource(), key.Name)
	}
	return store, nil
}

// ListStores returns the stores of kind in namespace ("" for
// ClusterSecretStores) whose labels selector matches, by name.
func (s indexerStores) ListStores(_ context.Context, kind, namespace string, selector labels.Selector) ([]secretstore.GenericStore, error) {
	idx := s.stores
	if kind == secretstore.KindClusterSecretStore {
		idx = s.clusterStores
	}
	var out []secretstore.GenericStore
	for _, obj := range idx.List() {
		store, ok := obj.(secretstore.GenericStore)
		if ok && store.GetNamespace() == namespace && selector.Matches(labels.Set(store.GetLabels())) {
			out = append(out, store)
		}
	}
	slices.SortFunc(out, func(a, b secretstore.GenericStore) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out, nil
}

// SecretsFromLister serves Secrets from a client-go lister, such as that of
// an informer of the Secrets labelled reconcile.LabelManaged.
func SecretsFromLister(l corelisters.SecretLister) SecretGetter {
	return SecretGetterFunc(func(_ context.Context, namespace, name string) (*corev1.Secret, error) {
		return l.Secrets(namespace).Get(name)
	})
}

// NamespacesFromLister serves Namespaces from a client-go lister.
func NamespacesFromLister(l corelisters.NamespaceLister) NamespaceGetter {
	return NamespaceGetterFunc(func(_ context.Context, name string) (*corev1.Namespace, error) {
		return l.Get(name)
	})
}

// Object is a Kubernetes object, as a controller-runtime client.Object is.
type Object interface {
	metav1.Object
	runtime.Object
}

// GetFunc reads the object namespace/name into obj, returning an error for
// which apierrors.IsNotFound is true when there is none. It serves every
// getter of [Config]: a controller-runtime client, cached or not, becomes
// one with
//
//	get := engine.GetFunc(func(ctx context.Context, namespace, name string, obj engine.Object) error {
//		return c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj)
//	})
type GetFunc func(ctx context.Context, namespace, name string, obj Object) error

var (
	_ StoreGetter     = GetFunc(nil)
	_ Objects         = GetFunc(nil)
	_ NamespaceGetter = GetFunc(nil)
)

// Store reads a SecretStore or ClusterSecretStore.
func (f GetFunc) Store(ctx context.Context, key StoreKey) (secretstore.GenericStore, error) {
	var s secretstore.GenericStore = &secretstore.SecretStore{}
	if key.Kind == secretstore.KindClusterSecretStore {
		s = &secretstore.ClusterSecretStore{}
	}
	return s, f(ctx, key.Namespace, key.Name, s)
}

// Secret reads a Secret.
func (f GetFunc) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	return s, f(ctx, namespace, name, s)
}

// ConfigMap reads a ConfigMap.
func (f GetFunc) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	c := &corev1.ConfigMap{}
	return c, f(ctx, namespace, name, c)
}

// Namespace reads a Namespace.
func (f GetFunc) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	n := &corev1.Namespace{}
	return n, f(ctx, "", name, n)
}

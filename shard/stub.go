package shard

import (
	"context"
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// AnnotationStub marks an object an informer keeps as a stub. It exists
// only in memory: nothing writes a stub back.
const AnnotationStub = "secretsync.io/shard-stub"

// stubAnnotations is shared by every stub: a stub costs no map of its own.
var stubAnnotations = map[string]string{AnnotationStub: "true"}

// Transform returns an informer transform that passes the objects
// owns accepts to keep (which may be nil) and turns the others into
// stubs: an object of the same type with only its name, namespace, UID,
// resourceVersion, generation, labels and controller reference. The
// informer still sees every object, so its indexes, events and
// resource versions stay whole, but holds the body only of what this
// member works on.
func Transform(owns func(metav1.Object) bool, keep cache.TransformFunc) cache.TransformFunc {
	return func(obj any) (any, error) {
		if m, ok := obj.(metav1.Object); ok && !owns(m) {
			return Stub(m), nil
		}
		if keep != nil {
			return keep(obj)
		}
		return obj, nil
	}
}

// Stub returns the stub of obj; a stub of a stub is itself.
func Stub(obj metav1.Object) metav1.Object {
	if IsStub(obj) {
		return obj
	}
	s, ok := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(metav1.Object)
	if !ok {
		return obj
	}
	s.SetName(obj.GetName())
	s.SetNamespace(obj.GetNamespace())
	s.SetUID(obj.GetUID())
	s.SetResourceVersion(obj.GetResourceVersion())
	s.SetGeneration(obj.GetGeneration())
	s.SetLabels(obj.GetLabels())
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		s.SetOwnerReferences([]metav1.OwnerReference{*ref})
	}
	s.SetDeletionTimestamp(obj.GetDeletionTimestamp())
	s.SetAnnotations(stubAnnotations)
	return s
}

// IsStub reports whether obj is a stub that [Transform] or [Stub] made.
func IsStub(obj metav1.Object) bool {
	_, ok := obj.GetAnnotations()[AnnotationStub]
	return ok
}

// Resolver returns a getter over an informer's cache that answers a stub
// with the live object: get reads the cache, live the API server. The
// live object, passed through keep, replaces the stub in store, so a key
// this member took over costs one live read, not one per sync. A host
// uses it where it reads objects it now owns, which its informer may
// still hold as stubs made under the ring before.
func Resolver[T metav1.Object](get, live func(ctx context.Context, namespace, name string) (T, error), store cache.Store, keep cache.TransformFunc) func(ctx context.Context, namespace, name string) (T, error) {
	return func(ctx context.Context, namespace, name string) (T, error) {
		obj, err := get(ctx, namespace, name)
		if err != nil || !IsStub(obj) {
			return obj, err
		}
		obj, err = live(ctx, namespace, name)
		if err != nil {
			return obj, err
		}
		cached := any(obj)
		if keep != nil {
			if cached, err = keep(cached); err != nil {
				return obj, err
			}
		}
		// Only in place of the stub: an object the informer has since
		// deleted must not come back.
		if held, ok, _ := store.Get(cached); ok && IsStub(held.(metav1.Object)) {
			_ = store.Update(cached)
		}
		return cached.(T), nil
	}
}

// Reshard brings an informer's cache in line with a new view: objects
// owns no longer accepts become stubs (lost), and the stubs it now
// accepts are returned (gained) for the host to queue; the host reads
// them live through [Resolver] when it syncs them. owned counts the
// objects owns accepts.
func Reshard(store cache.Store, owns func(metav1.Object) bool) (gained, lost []cache.ObjectName, owned int) {
	for _, obj := range store.List() {
		m, ok := obj.(metav1.Object)
		if !ok {
			continue
		}
		switch name := cache.MetaObjectToName(m); {
		case owns(m):
			owned++
			if IsStub(m) {
				gained = append(gained, name)
			}
		case !IsStub(m):
			_ = store.Update(Stub(m))
			lost = append(lost, name)
		}
	}
	return gained, lost, owned
}

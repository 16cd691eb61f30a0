package engine

import (
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/workqueue"
)

// What a host's watch loop around the engine can reuse: informer
// transforms that keep caches small, and the retry policy of failed
// syncs.

// StripForStatusWrites is StripManagedFields, and drops kubectl's
// last-applied-configuration annotation, for objects the controller writes
// only the status subresource of. An update sent without managed fields
// keeps the server's.
func StripForStatusWrites(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		if a := m.GetAnnotations(); a != nil {
			if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
				a = maps.Clone(a)
				delete(a, corev1.LastAppliedConfigAnnotation)
				m.SetAnnotations(a)
			}
		}
	}
	return obj, nil
}

// StripManagedFields drops managedFields from objects before an informer
// caches them: they are most of a small object and the engine never
// reads them. An update sent without them keeps the server's.
func StripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// RetryLimiter spaces the retries of failed syncs: exponential per
// ExternalSecret, capped, and jittered so that ExternalSecrets that failed
// together, as in a store outage, do not retry together. Unlike client-go's
// default it starts at seconds, not milliseconds, since a store that failed
// rarely answers a few milliseconds later, and it has no overall rate
// limit, which would make the last of many failed ExternalSecrets wait
// far longer than the cap once the store is back.
//
// It is a client-go workqueue.TypedRateLimiter, so it serves a
// controller-runtime controller too (RateLimiter in its Options).
type RetryLimiter[T comparable] struct {
	base, max time.Duration

	mu       sync.Mutex
	failures map[T]int
}

func NewRetryLimiter[T comparable](base, max time.Duration) *RetryLimiter[T] {
	if base <= 0 {
		base = time.Second
	}
	if max <= 0 {
		max = 5 * time.Minute
	}
	return &RetryLimiter[T]{base: base, max: max, failures: map[T]int{}}
}

// When returns the wait before the next retry of item: at least half and
// at most all of base·2^(failures so far), capped at max.
func (r *RetryLimiter[T]) When(item T) time.Duration {
	r.mu.Lock()
	n := r.failures[item]
	r.failures[item] = n + 1
	r.mu.Unlock()
	d := r.max
	if n < 32 {
		if exp := r.base << n; exp > 0 && exp < r.max {
			d = exp
		}
	}
	return wait.Jitter(d/2, 1)
}

func (r *RetryLimiter[T]) Forget(item T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.failures, item)
}

func (r *RetryLimiter[T]) NumRequeues(item T) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures[item]
}

var _ workqueue.TypedRateLimiter[string] = &RetryLimiter[string]{}

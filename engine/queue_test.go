package engine

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/client-go/tools/cache"
)

// The retry waits of the sync queues: each failure in a row doubles the
// wait up to the cap, each wait is drawn from the upper half of its
// range, so ExternalSecrets that fail together spread out, and a success
// starts over.
func TestRetryLimiter(t *testing.T) {
	const base, ceiling = time.Second, 8 * time.Second
	r := NewRetryLimiter[cache.ObjectName](base, ceiling)
	item := cache.ObjectName{Namespace: "ns", Name: "es"}
	for n, want := range []time.Duration{1, 2, 4, 8, 8, 8} {
		want *= time.Second
		got := r.When(item)
		if got < want/2 || got > want {
			t.Errorf("wait after failure %d: %v, want within [%v, %v]", n+1, got, want/2, want)
		}
	}
	if got := r.NumRequeues(item); got != 6 {
		t.Errorf("NumRequeues: %d, want 6", got)
	}
	for range 100 {
		if got := r.When(item); got > ceiling {
			t.Fatalf("wait %v over the cap %v", got, ceiling)
		}
	}
	r.Forget(item)
	if got := r.When(item); got > base {
		t.Errorf("after Forget the wait is %v, want at most %v", got, base)
	}

	// A hundred ExternalSecrets failing together retry spread over half
	// the wait, not at one instant.
	lo, hi := time.Duration(1<<62), time.Duration(0)
	for i := range 100 {
		w := r.When(cache.ObjectName{Namespace: "ns", Name: fmt.Sprint("es-", i)})
		lo, hi = min(lo, w), max(hi, w)
	}
	if hi-lo < base/4 {
		t.Errorf("first retries of 100 ExternalSecrets all within %v of each other: no jitter", hi-lo)
	}
}

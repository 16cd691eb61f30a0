package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// feed releases n requests of one latency through l, one at a time.
func feed(t *testing.T, l *AdaptiveLimit, n int, rtt time.Duration, err error) {
	t.Helper()
	for i := 0; i < n; i++ {
		l.mu.Lock()
		l.inflight++
		l.mu.Unlock()
		l.release(rtt, err)
	}
}

func TestAdaptiveLimitFollowsTheServer(t *testing.T) {
	tests := map[string]struct {
		start int
		feed  func(*testing.T, *AdaptiveLimit)
		check func(got int) bool
		want  string
	}{
		"answers as fast as the fastest: grows to the cap": {
			start: 4, feed: func(t *testing.T, l *AdaptiveLimit) { feed(t, l, 2000, 5*time.Millisecond, nil) },
			check: func(got int) bool { return got == 32 }, want: "32",
		},
		"answers ten times slower than the fastest: shrinks": {
			start: 16, feed: func(t *testing.T, l *AdaptiveLimit) {
				feed(t, l, 1, 5*time.Millisecond, nil)
				feed(t, l, 400, 50*time.Millisecond, nil)
			},
			check: func(got int) bool { return got < 8 }, want: "below 8",
		},
		"a 429 halves it": {
			start: 16, feed: func(t *testing.T, l *AdaptiveLimit) {
				feed(t, l, 1, 5*time.Millisecond, apierrors.NewTooManyRequests("busy", 1))
			},
			check: func(got int) bool { return got == 8 }, want: "8",
		},
		"other errors leave it": {
			start: 16, feed: func(t *testing.T, l *AdaptiveLimit) {
				feed(t, l, 100, time.Second, apierrors.NewConflict(corev1.Resource("externalsecrets"), "es", errors.New("changed")))
			},
			check: func(got int) bool { return got == 16 }, want: "16",
		},
		"never below one": {
			start: 2, feed: func(t *testing.T, l *AdaptiveLimit) {
				feed(t, l, 10, time.Millisecond, apierrors.NewTooManyRequests("busy", 1))
			},
			check: func(got int) bool { return got == 1 }, want: "1",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := NewAdaptiveLimit(tc.start, 1, 32)
			tc.feed(t, l)
			if got := l.Limit(); !tc.check(got) {
				t.Errorf("limit %d; want %s", got, tc.want)
			}
		})
	}
}

// Acquire holds callers beyond the limit until a slot frees, and gives up
// with its context.
func TestAdaptiveLimitBlocksBeyondTheLimit(t *testing.T) {
	l := NewAdaptiveLimit(1, 1, 1)
	done, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Acquire at limit 1: %v; want the context's deadline", err)
	}
	got := make(chan error, 1)
	go func() {
		d, err := l.Acquire(context.Background())
		if err == nil {
			d(nil)
		}
		got <- err
	}()
	done(nil)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

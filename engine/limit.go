package engine

import (
	"context"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// AdaptiveLimit bounds how many requests of one kind a host has in flight
// to the API server, and moves the bound with the server's headroom, as
// TCP Vegas moves a congestion window: while answers come back about as
// fast as the fastest recent one, the server has room and the limit grows
// by one per round; once the latency shows requests queueing, it shrinks
// by one per round; a 429 from API Priority and Fairness halves it. A
// host gives it the writes that can wait, such as the statuses of first
// syncs, so they take what the server has left and no more.
//
// It is safe for concurrent use.
type AdaptiveLimit struct {
	min, max float64

	mu       sync.Mutex
	limit    float64
	inflight int
	wake     chan struct{}
	// minRTT is the fastest answer of the last two windows of samples:
	// the latency of a server with nothing queued.
	minRTT, windowMin time.Duration
	samples           int
}

// Queue bounds of the Vegas rule: requests the server holds queued beyond
// the ones it serves at once.
const (
	limitAlpha   = 2
	limitBeta    = 6
	limitSamples = 500
)

// NewAdaptiveLimit returns a limit that starts at initial and stays
// within [lo, hi]; lo is at least one.
func NewAdaptiveLimit(initial, lo, hi int) *AdaptiveLimit {
	lo = max(lo, 1)
	hi = max(hi, lo)
	initial = max(lo, min(initial, hi))
	return &AdaptiveLimit{min: float64(lo), max: float64(hi), limit: float64(initial), wake: make(chan struct{})}
}

// Limit returns the current bound.
func (l *AdaptiveLimit) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.limit)
}

// Acquire waits for a slot. The caller sends its request and then calls
// done with the request's error, which, with the time since Acquire
// returned, moves the limit.
func (l *AdaptiveLimit) Acquire(ctx context.Context) (done func(error), err error) {
	for {
		l.mu.Lock()
		if l.inflight < int(l.limit) {
			l.inflight++
			l.mu.Unlock()
			start := time.Now()
			return func(err error) { l.release(time.Since(start), err) }, nil
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		}
	}
}

func (l *AdaptiveLimit) release(rtt time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	close(l.wake)
	l.wake = make(chan struct{})
	switch {
	case apierrors.IsTooManyRequests(err):
		l.limit = max(l.min, l.limit/2)
		return
	case err != nil:
		return // says nothing of the server's load
	}
	if l.windowMin == 0 || rtt < l.windowMin {
		l.windowMin = rtt
	}
	if l.minRTT == 0 || rtt < l.minRTT {
		l.minRTT = rtt
	}
	if l.samples++; l.samples == limitSamples {
		// Forget old minima, so a server that got slower for good is not
		// read as queueing for ever.
		l.minRTT, l.windowMin, l.samples = l.windowMin, 0, 0
	}
	queued := l.limit * (1 - float64(l.minRTT)/float64(rtt))
	switch {
	case queued < limitAlpha:
		l.limit = min(l.max, l.limit+1/l.limit)
	case queued > limitBeta:
		l.limit = max(l.min, l.limit-1/l.limit)
	}
}

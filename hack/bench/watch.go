//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/secretsync/secretsync/reconcile"
)

// tracker times Secrets reaching the data the bench expects of them, as a
// watch on the managed Secrets sees them.
type tracker struct {
	mu      sync.Mutex
	pending map[string]expectation // by namespace/name
	took    []time.Duration
	last    time.Time
}

type expectation struct {
	data  map[string]string
	since time.Time
}

// watchSecrets starts an informer on the Secrets secretsync manages and
// returns a tracker fed by it; it runs until ctx ends.
func watchSecrets(ctx context.Context, kube kubernetes.Interface) (*tracker, error) {
	t := &tracker{pending: map[string]expectation{}}
	f := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = reconcile.LabelManaged + "=true"
	}))
	inf := f.Core().V1().Secrets().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    t.observe,
		UpdateFunc: func(_, obj any) { t.observe(obj) },
	}); err != nil {
		return nil, err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, fmt.Errorf("secret watch did not sync: %w", ctx.Err())
	}
	return t, nil
}

// expect registers that Secret namespace/name should come to hold exactly
// data, timed from since.
func (t *tracker) expect(namespace, name string, data map[string]string, since time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending[namespace+"/"+name] = expectation{data: data, since: since}
}

func (t *tracker) observe(obj any) {
	now := time.Now()
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	key := s.Namespace + "/" + s.Name
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.pending[key]
	if !ok || len(s.Data) != len(e.data) {
		return
	}
	for k, v := range e.data {
		if string(s.Data[k]) != v {
			return
		}
	}
	delete(t.pending, key)
	t.took = append(t.took, now.Sub(e.since))
	t.last = now
}

// wait waits until every expectation is met, or timeout passes. It returns
// the time each met expectation took, sorted, when the last was met, and how
// many were not met; the tracker is then empty.
func (t *tracker) wait(ctx context.Context, timeout time.Duration, what string) (took []time.Duration, last time.Time, missing int, err error) {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	lastLog := time.Now()
	for {
		t.mu.Lock()
		n, done := len(t.pending), len(t.took)
		t.mu.Unlock()
		if n == 0 || time.Now().After(deadline) {
			break
		}
		if time.Since(lastLog) >= 10*time.Second {
			fmt.Fprintf(os.Stderr, "    %s: %d done, %d to go\n", what, done, n)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil, time.Time{}, 0, ctx.Err()
		case <-tick.C:
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	took, last, missing = t.took, t.last, len(t.pending)
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.took, t.last = nil, time.Time{}
	clear(t.pending)
	return took, last, missing, nil
}

// latency summarises sorted durations in seconds.
type latency struct {
	P50 float64 `json:"p50_s"`
	P99 float64 `json:"p99_s"`
	Max float64 `json:"max_s"`
}

func summarise(sorted []time.Duration) latency {
	if len(sorted) == 0 {
		return latency{}
	}
	q := func(p float64) float64 {
		i := int(p*float64(len(sorted))+0.999999) - 1
		return sorted[max(i, 0)].Seconds()
	}
	return latency{P50: q(0.50), P99: q(0.99), Max: sorted[len(sorted)-1].Seconds()}
}

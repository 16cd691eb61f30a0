package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/provider"
)

// countingClient serves values from a map and counts reads.
type countingClient struct {
	mu     sync.Mutex
	values map[string]string
	reads  atomic.Int64
	delay  time.Duration
	fail   error
}

func (c *countingClient) GetSecret(_ context.Context, ref provider.Ref) (provider.Secret, error) {
	c.reads.Add(1)
	time.Sleep(c.delay)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return nil, c.fail
	}
	v, ok := c.values[ref.Key]
	if !ok {
		return nil, provider.ErrNotFound
	}
	return provider.NewJSONSecret([]byte(v)), nil
}

// sid and rd build store and reader identities for the tests.
func sid(name string) StoreID {
	return StoreID{Kind: "SecretStore", Namespace: "ns", Name: name, UID: types.UID(name)}
}
func rd(name string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: name} }

func (c *countingClient) set(k, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.values[k] = v
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func value(t *testing.T, c provider.Client, key string) string {
	t.Helper()
	s, err := c.GetSecret(context.Background(), provider.Ref{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := s.Value()
	return string(v)
}

func TestCacheSharesReadsWithinTheWindow(t *testing.T) {
	clock := &fakeClock{t: now}
	inner := &countingClient{values: map[string]string{"k": "v1"}}
	var changed []string
	cache := NewCache(CacheOptions{Now: clock.now, OnChange: func(store StoreID, ref provider.Ref, reader types.NamespacedName) {
		changed = append(changed, store.Name+"/"+ref.Key+" by "+reader.Name)
	}})
	hourly := cache.Client(inner, sid("store-1"), rd("hourly"), time.Hour)
	minutely := cache.Client(inner, sid("store-1"), rd("minutely"), time.Minute)
	otherStore := cache.Client(inner, sid("store-2"), rd("hourly"), time.Hour)

	for i := 0; i < 10; i++ {
		value(t, cache.Client(inner, sid("store-1"), rd(fmt.Sprint("reader-", i)), time.Hour), "k")
	}
	if got := inner.reads.Load(); got != 1 {
		t.Fatalf("10 readers in one window: want 1 read, got %d", got)
	}
	value(t, otherStore, "k")
	if got := inner.reads.Load(); got != 2 {
		t.Fatalf("another store is another read: got %d reads", got)
	}

	clock.add(2 * time.Minute)
	inner.set("k", "v2")
	if got := value(t, minutely, "k"); got != "v2" {
		t.Errorf("a reader with a 1m interval must not see a 2m-old value; got %q", got)
	}
	if fmt.Sprint(changed) != "[store-1/k by minutely]" {
		t.Errorf("OnChange: got %v", changed)
	}
	// The minutely reader's read is fresh for the hourly one too.
	if got := value(t, hourly, "k"); got != "v2" {
		t.Errorf("got %q", got)
	}
	if got := inner.reads.Load(); got != 3 {
		t.Errorf("want 3 reads, got %d", got)
	}
	// A read is held no longer than its reader's interval.
	clock.add(time.Minute)
	value(t, hourly, "k")
	if got := inner.reads.Load(); got != 4 {
		t.Errorf("a read made for a 1m reader expires after 1m: want 4 reads, got %d", got)
	}
	// A reader never takes its own read again: its refresh reads the store.
	value(t, hourly, "k")
	if got := inner.reads.Load(); got != 5 {
		t.Errorf("a reader's second read must reach the store: want 5 reads, got %d", got)
	}
}

func TestCacheMergesConcurrentReads(t *testing.T) {
	inner := &countingClient{values: map[string]string{"k": "v"}, delay: 50 * time.Millisecond}
	cache := NewCache(CacheOptions{})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			value(t, cache.Client(inner, sid("s"), rd(fmt.Sprint("reader-", i)), time.Hour), "k")
		}()
	}
	wg.Wait()
	if got := inner.reads.Load(); got != 1 {
		t.Errorf("20 concurrent readers: want 1 read, got %d", got)
	}
}

func TestCacheDoesNotCacheErrors(t *testing.T) {
	down := errors.New("down")
	inner := &countingClient{values: map[string]string{}, fail: down}
	c := NewCache(CacheOptions{}).Client(inner, sid("s"), rd("r"), time.Hour)
	for i := 0; i < 3; i++ {
		if _, err := c.GetSecret(context.Background(), provider.Ref{Key: "k"}); !errors.Is(err, down) {
			t.Fatalf("got %v", err)
		}
	}
	if got := inner.reads.Load(); got != 3 {
		t.Errorf("errors must not be cached: want 3 reads, got %d", got)
	}
}

func TestCacheIsBounded(t *testing.T) {
	clock := &fakeClock{t: now}
	inner := &countingClient{values: map[string]string{}}
	for i := 0; i < 1000; i++ {
		inner.values[fmt.Sprint(i)] = "v"
	}
	cache := NewCache(CacheOptions{MaxEntries: 100, Now: clock.now})
	c := cache.Client(inner, sid("s"), rd("r"), time.Hour)
	for i := 0; i < 1000; i++ {
		clock.add(time.Millisecond)
		value(t, c, fmt.Sprint(i))
		if cache.Len() > 101 {
			t.Fatalf("cache holds %d reads, bound is 100", cache.Len())
		}
	}
	// Expired reads are swept.
	clock.add(2 * time.Hour)
	value(t, c, "0")
	if got := cache.Len(); got != 1 {
		t.Errorf("after expiry the cache should hold only the new read, holds %d", got)
	}
}

// A key only one reader reads is read straight from the store and not
// held; a read another reader made is still shared with it.
func TestCacheHoldsNothingForASoleReader(t *testing.T) {
	inner := &countingClient{values: map[string]string{"solo": "1", "shared": "2"}}
	clock := &fakeClock{t: time.Unix(1000, 0)}
	sole := map[string]bool{"solo": true}
	cache := NewCache(CacheOptions{Now: clock.now, Solo: func(_ StoreID, ref provider.Ref, reader types.NamespacedName) bool {
		return sole[ref.Key] && reader == rd("a")
	}})
	a := cache.Client(inner, sid("s"), rd("a"), time.Hour)
	b := cache.Client(inner, sid("s"), rd("b"), time.Hour)
	for i := 0; i < 2; i++ {
		if got := value(t, a, "solo"); got != "1" {
			t.Fatalf("a read %q", got)
		}
	}
	if n := cache.Len(); n != 0 || inner.reads.Load() != 2 {
		t.Errorf("two reads by the sole reader: %d held, %d store reads; want 0 held and 2 reads", n, inner.reads.Load())
	}
	// b reads "shared" first; a, alone in its own eyes, still takes b's read.
	sole["shared"] = true
	value(t, b, "shared")
	value(t, a, "shared")
	if got := inner.reads.Load(); got != 3 {
		t.Errorf("%d store reads; want 3: a took b's read of shared", got)
	}
}

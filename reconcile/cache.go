package reconcile

import (
	"context"
	"crypto/sha256"
	"errors"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// Cache shares provider reads across ExternalSecrets: many ExternalSecrets
// that read one remote secret cost one provider call per refresh interval,
// not one each. A read is reused only by other readers whose refresh
// interval it is younger than, so no ExternalSecret sees a value older than
// its own refresh interval, and one that shares nothing reads the store at
// every refresh. Concurrent reads of one secret are merged into one
// call. When a fresh read finds a value different from the one cached,
// OnChange is called, so the host can refresh the other readers at once.
//
// Errors are never cached. A read is held no longer than the refresh
// interval of the reader that made it, nor than MaxAge, and a Cache holds
// at most MaxEntries reads. The zero Cache is not valid; use NewCache.
type Cache struct {
	maxEntries int
	maxAge     time.Duration
	onChange   func(store StoreID, ref provider.Ref, reader types.NamespacedName)
	solo       func(store StoreID, ref provider.Ref, reader types.NamespacedName) bool
	now        func() time.Time

	mu        sync.Mutex
	entries   map[cacheKey]*cacheEntry
	lastSweep time.Time
}

type cacheKey struct {
	store StoreID
	ref   provider.Ref
}

// StoreID identifies one version of a store's spec. Reads are shared only
// between readers of the same StoreID, so a changed spec is read afresh.
type StoreID struct {
	Kind string
	// Namespace is empty for a ClusterSecretStore.
	Namespace  string
	Name       string
	UID        types.UID
	Generation int64
}

// StoreIDOf returns the StoreID of the current spec of store.
func StoreIDOf(store secretstore.GenericStore) StoreID {
	id := StoreID{Kind: store.Kind(), Name: store.GetName(), UID: store.GetUID(), Generation: store.GetGeneration()}
	if id.Kind != secretstore.KindClusterSecretStore {
		id.Namespace = store.GetNamespace()
	}
	return id
}

type cacheEntry struct {
	done    chan struct{} // closed when the read finished
	secret  provider.Secret
	err     error
	at      time.Time
	expires time.Time // at plus the refresh interval of the reader that read it
	sum     [32]byte
	by      types.NamespacedName // the reader that made the read
}

// CacheOptions configure a Cache.
type CacheOptions struct {
	// MaxEntries bounds the reads held; the oldest go first. Default 100,000.
	MaxEntries int
	// MaxAge bounds how long any read is held. Default one hour.
	MaxAge time.Duration
	// OnChange, if set, is called when a read of store and ref by reader
	// returns a value different from the one cached before it.
	OnChange func(store StoreID, ref provider.Ref, reader types.NamespacedName)
	// Solo, if set, reports whether reader is the only one known to read
	// ref from store. Its reads then go straight to the store and are not
	// held: a read no one else takes is memory for nothing. A read another
	// reader made, or has under way, is still shared.
	Solo func(store StoreID, ref provider.Ref, reader types.NamespacedName) bool
	// Now returns the time; time.Now when nil.
	Now func() time.Time
}

// NewCache returns an empty Cache.
func NewCache(o CacheOptions) *Cache {
	if o.MaxEntries <= 0 {
		o.MaxEntries = 100000
	}
	if o.MaxAge <= 0 {
		o.MaxAge = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Cache{maxEntries: o.MaxEntries, maxAge: o.MaxAge, onChange: o.OnChange, solo: o.Solo, now: o.Now, entries: map[cacheKey]*cacheEntry{}}
}

// Client wraps the client of the store identified by store (which must
// change when the store's spec or credentials do) for one reader, an
// ExternalSecret's namespace and name, so that its reads go through the
// cache. It takes reads other readers made up to maxAge ago; a read it made
// itself it never takes again, so each refresh of a reader that shares
// nothing reads the store.
func (c *Cache) Client(client provider.Client, store StoreID, reader types.NamespacedName, maxAge time.Duration) provider.Client {
	if maxAge > c.maxAge {
		maxAge = c.maxAge
	}
	return &cachedClient{Client: client, cache: c, store: store, reader: reader, maxAge: maxAge}
}

// Forget drops the reads of key in every version of the store named by
// kind, namespace and name, whatever its UID and generation, so that the
// next read of it goes to the store: for a host told that the remote
// value changed. It returns how many reads it dropped.
func (c *Cache) Forget(kind, namespace, name, key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k := range c.entries {
		if k.store.Kind == kind && k.store.Namespace == namespace && k.store.Name == name && k.ref.Key == key {
			// A read under way may have started before the change: those
			// waiting for it get it, later readers read again.
			delete(c.entries, k)
			n++
		}
	}
	return n
}

// Len returns how many reads are held.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

type cachedClient struct {
	provider.Client
	cache  *Cache
	store  StoreID
	reader types.NamespacedName
	maxAge time.Duration
}

// Find passes through: what a search matches can change with every call.
func (cc *cachedClient) Find(ctx context.Context, f provider.Find) (map[string][]byte, error) {
	finder, ok := cc.Client.(provider.Finder)
	if !ok {
		return nil, errCannotFind
	}
	return finder.Find(ctx, f)
}

func (cc *cachedClient) GetSecret(ctx context.Context, ref provider.Ref) (provider.Secret, error) {
	c := cc.cache
	k := cacheKey{cc.store, ref}
	now := c.now()
	solo := c.solo != nil && c.solo(cc.store, ref, cc.reader)

	c.mu.Lock()
	e, ok := c.entries[k]
	if solo && (!ok || e.by == cc.reader) {
		// Only this reader reads it: nothing to share, and nothing to
		// hold. An entry of its own from before it was alone goes.
		if ok {
			select {
			case <-e.done:
				delete(c.entries, k)
			default:
			}
		}
		c.mu.Unlock()
		return cc.Client.GetSecret(ctx, ref)
	}
	var prev *cacheEntry
	if ok {
		select {
		case <-e.done:
			if e.err != nil || e.by == cc.reader || now.Sub(e.at) >= cc.maxAge || !now.Before(e.expires) {
				prev, ok = e, false
			}
		default:
			// A read is under way: wait for it.
		}
	}
	if !ok {
		e = &cacheEntry{done: make(chan struct{}), by: cc.reader}
		c.entries[k] = e
		c.evictLocked(now)
	}
	c.mu.Unlock()

	if ok {
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return e.secret, e.err
	}

	e.secret, e.err = cc.Client.GetSecret(ctx, ref)
	e.at = c.now()
	e.expires = e.at.Add(cc.maxAge)
	if e.err == nil {
		if v, err := e.secret.Value(); err == nil {
			e.sum = sha256.Sum256(v)
		}
	}
	close(e.done)
	if e.err != nil {
		c.mu.Lock()
		if c.entries[k] == e {
			delete(c.entries, k)
		}
		c.mu.Unlock()
	} else if prev != nil && prev.err == nil && prev.sum != e.sum && c.onChange != nil {
		c.onChange(cc.store, ref, cc.reader)
	}
	return e.secret, e.err
}

var errCannotFind = errors.New("this store cannot find secrets")

// sweepEvery is how often expired reads are dropped.
const sweepEvery = 10 * time.Second

// evictLocked drops expired reads now and then, and the oldest tenth of the
// reads when the cache is over its size.
func (c *Cache) evictLocked(now time.Time) {
	over := len(c.entries) > c.maxEntries
	if !over && now.Sub(c.lastSweep) < sweepEvery {
		return
	}
	c.lastSweep = now
	type aged struct {
		k  cacheKey
		at time.Time
	}
	var done []aged
	for k, e := range c.entries {
		select {
		case <-e.done:
		default:
			continue // a read under way
		}
		if !now.Before(e.expires) {
			delete(c.entries, k)
			continue
		}
		if over {
			done = append(done, aged{k, e.at})
		}
	}
	excess := len(c.entries) - c.maxEntries*9/10
	if !over || excess <= 0 {
		return
	}
	sort.Slice(done, func(i, j int) bool { return done[i].at.Before(done[j].at) })
	for i := 0; i < excess && i < len(done); i++ {
		delete(c.entries, done[i].k)
	}
}

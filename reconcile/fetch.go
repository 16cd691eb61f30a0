package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/provider"
)

// Clients gives the provider client for a store an ExternalSecret names.
// The host implements it: it finds the store, checks that the
// ExternalSecret may use it (see [CheckStore]), and reuses clients across
// reconciles.
type Clients interface {
	Client(ctx context.Context, ref externalsecret.SecretStoreRef) (provider.Client, error)
}

// Fetched is what [Fetch] read for one ExternalSecret: one result per
// spec.data entry and one per spec.dataFrom entry, in spec order.
type Fetched struct {
	Data     []Result
	DataFrom []MapResult
}

// Result is the value of one spec.data entry, or why it could not be read.
// Err wraps provider.ErrNotFound when the remote value does not exist.
type Result struct {
	Value []byte
	Err   error
}

// MapResult is the values of one spec.dataFrom entry, or why they could
// not be read.
type MapResult struct {
	Values map[string][]byte
	Err    error
}

// readKey identifies one provider read. Entries that share it share the
// read, whatever property they select.
type readKey struct {
	store    externalsecret.SecretStoreRef
	key      string
	version  string
	metadata bool
}

type read struct {
	once   sync.Once
	secret provider.Secret
	err    error
}

// maxParallelReads bounds the provider reads in flight for one
// ExternalSecret.
const maxParallelReads = 8

// Fetch reads the values es names. Each distinct (store, key, version)
// is read once, however many data entries and properties use it, and
// reads run in parallel. Errors are reported per entry; Fetch itself does
// not fail.
func Fetch(ctx context.Context, es *externalsecret.ExternalSecret, clients Clients) *Fetched {
	f := &fetcher{clients: clients, reads: map[readKey]*read{}, clientOf: map[externalsecret.SecretStoreRef]*clientResult{}}
	spec := &es.Spec
	out := &Fetched{
		Data:     make([]Result, len(spec.Data)),
		DataFrom: make([]MapResult, len(spec.DataFrom)),
	}

	sem := make(chan struct{}, maxParallelReads)
	var wg sync.WaitGroup
	run := func(fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			fn()
		}()
	}
	for i := range spec.Data {
		d := &spec.Data[i]
		res := &out.Data[i]
		run(func() {
			if d.SourceRef != nil && d.SourceRef.GeneratorRef != nil {
				res.Err = errGenerators
				return
			}
			ref := storeRef(spec.SecretStoreRef, d.SourceRef)
			s, err := f.get(ctx, ref, d.RemoteRef)
			if err != nil {
				res.Err = err
				return
			}
			if d.RemoteRef.Property == "" {
				res.Value, res.Err = s.Value()
			} else {
				res.Value, res.Err = s.Property(d.RemoteRef.Property)
			}
		})
	}
	for i := range spec.DataFrom {
		df := &spec.DataFrom[i]
		res := &out.DataFrom[i]
		run(func() {
			ref := spec.SecretStoreRef
			if df.SourceRef != nil {
				if df.SourceRef.GeneratorRef != nil {
					res.Err = errGenerators
					return
				}
				if df.SourceRef.SecretStoreRef != nil {
					ref = *df.SourceRef.SecretStoreRef
				}
			}
			switch {
			case df.Extract != nil:
				s, err := f.get(ctx, ref, *df.Extract)
				if err != nil {
					res.Err = err
					return
				}
				if df.Extract.Property != "" {
					var sub []byte
					if sub, err = s.Property(df.Extract.Property); err != nil {
						res.Err = err
						return
					}
					s = provider.NewJSONSecret(sub)
				}
				res.Values, res.Err = s.Map()
			case df.Find != nil:
				res.Values, res.Err = f.find(ctx, ref, df.Find)
			default:
				res.Err = errors.New("dataFrom entry sets neither extract nor find")
			}
		})
	}
	wg.Wait()
	return out
}

var errGenerators = errors.New("generators are not supported")

func storeRef(def externalsecret.SecretStoreRef, src *externalsecret.StoreSourceRef) externalsecret.SecretStoreRef {
	ref := def
	if src != nil && src.SecretStoreRef.Name != "" {
		ref = src.SecretStoreRef
	}
	ref.Kind = ref.StoreKind()
	return ref
}

type clientResult struct {
	once   sync.Once
	client provider.Client
	err    error
}

type fetcher struct {
	clients  Clients
	mu       sync.Mutex
	reads    map[readKey]*read
	clientOf map[externalsecret.SecretStoreRef]*clientResult
}

func (f *fetcher) client(ctx context.Context, ref externalsecret.SecretStoreRef) (provider.Client, error) {
	ref.Kind = ref.StoreKind()
	f.mu.Lock()
	c, ok := f.clientOf[ref]
	if !ok {
		c = &clientResult{}
		f.clientOf[ref] = c
	}
	f.mu.Unlock()
	c.once.Do(func() {
		if ref.Name == "" {
			c.err = errors.New("no store named: set spec.secretStoreRef.name")
			return
		}
		c.client, c.err = f.clients.Client(ctx, ref)
		if c.err != nil {
			c.err = storeError{c.err}
		}
	})
	return c.client, c.err
}

// storeError reports that a store could not be used. It does not unwrap:
// a missing store or credential is not a missing remote secret, and must
// never read as provider.ErrNotFound, which deletion policies act on.
type storeError struct{ err error }

func (e storeError) Error() string { return e.err.Error() }

func (f *fetcher) get(ctx context.Context, ref externalsecret.SecretStoreRef, rr externalsecret.RemoteRef) (provider.Secret, error) {
	ref.Kind = ref.StoreKind()
	k := readKey{store: ref, key: rr.Key, version: rr.Version, metadata: rr.MetadataPolicy == externalsecret.MetadataPolicyFetch}
	f.mu.Lock()
	r, ok := f.reads[k]
	if !ok {
		r = &read{}
		f.reads[k] = r
	}
	f.mu.Unlock()
	r.once.Do(func() {
		c, err := f.client(ctx, ref)
		if err != nil {
			r.err = err
			return
		}
		r.secret, r.err = c.GetSecret(ctx, provider.Ref{Key: k.key, Version: k.version, Metadata: k.metadata})
		if r.err == nil && r.secret == nil {
			r.err = fmt.Errorf("provider returned no secret and no error")
		}
	})
	return r.secret, r.err
}

func (f *fetcher) find(ctx context.Context, ref externalsecret.SecretStoreRef, find *externalsecret.Find) (map[string][]byte, error) {
	c, err := f.client(ctx, ref)
	if err != nil {
		return nil, err
	}
	finder, ok := c.(provider.Finder)
	if !ok {
		return nil, fmt.Errorf("store %s %q cannot find secrets", ref.Kind, ref.Name)
	}
	q := provider.Find{Tags: find.Tags}
	if find.Path != nil {
		q.Path = *find.Path
	}
	if find.Name != nil {
		q.Name = find.Name.RegExp
	}
	return finder.Find(ctx, q)
}

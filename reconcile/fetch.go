package reconcile

import (
	"context"
	"errors"
	"fmt"
	"reflect"
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

// Generators is implemented by a [Clients] that serves generatorRef
// entries: data[].sourceRef.generatorRef and
// dataFrom[].sourceRef.generatorRef. Without it, such entries fail.
type Generators interface {
	// Generate returns the values of the generator ref names for the
	// entry named entry (see [GeneratorEntry]): values kept from before
	// while they are good, new ones otherwise.
	Generate(ctx context.Context, entry string, ref externalsecret.GeneratorRef) (map[string][]byte, error)
}

// GeneratorEntry names a generatorRef entry of an ExternalSecret, stably
// across reorderings of its spec. The data entries that name one
// generator share one generation, so that, say, a username and a
// password taken by two entries belong together; each dataFrom entry has
// its own, named by its position among those of the same generator.
func GeneratorEntry(es *externalsecret.ExternalSecret, ref externalsecret.GeneratorRef, dataIndex, dataFromIndex int) string {
	id := ref.Kind + "/" + ref.Name
	if dataIndex >= 0 {
		return id + "@data"
	}
	n := 0
	for i := 0; i < dataFromIndex; i++ {
		if sr := es.Spec.DataFrom[i].SourceRef; sr != nil && sr.GeneratorRef != nil && *sr.GeneratorRef == ref {
			n++
		}
	}
	return fmt.Sprintf("%s@dataFrom/%d", id, n)
}

// Fetched is what [Fetch] read for one ExternalSecret: one result per
// spec.data entry and one per spec.dataFrom entry, in spec order.
type Fetched struct {
	Data     []Value
	DataFrom []Values
}

// Value is the value of one spec.data entry, or why it could not be read.
// Err wraps provider.ErrNotFound when the remote value does not exist.
type Value struct {
	Value []byte
	Err   error
}

// Values is the values of one spec.dataFrom entry, or why they could
// not be read.
type Values struct {
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
// not fail. A provider that panics, or a [Clients] that returns neither a
// client nor an error, fails the entries that needed it: Fetch recovers
// every goroutine it starts, so neither reaches the host process.
func Fetch(ctx context.Context, es *externalsecret.ExternalSecret, clients Clients) *Fetched {
	if es == nil {
		return &Fetched{}
	}
	f := &fetcher{clients: clients, reads: map[readKey]*read{}, clientOf: map[externalsecret.SecretStoreRef]*clientResult{}}
	spec := &es.Spec
	out := &Fetched{
		Data:     make([]Value, len(spec.Data)),
		DataFrom: make([]Values, len(spec.DataFrom)),
	}

	sem := make(chan struct{}, maxParallelReads)
	var wg sync.WaitGroup
	run := func(res *error, fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			defer recoverInto(res)
			fn()
		}()
	}
	for i := range spec.Data {
		d := &spec.Data[i]
		res := &out.Data[i]
		run(&res.Err, func() {
			if d.SourceRef != nil && d.SourceRef.GeneratorRef != nil {
				values, err := generate(ctx, clients, GeneratorEntry(es, *d.SourceRef.GeneratorRef, i, -1), *d.SourceRef.GeneratorRef)
				if err != nil {
					res.Err = err
					return
				}
				key := d.RemoteRef.Key
				if d.RemoteRef.Property != "" {
					key = d.RemoteRef.Property
				}
				v, ok := values[key]
				if !ok {
					res.Err = fmt.Errorf("generator %s %s made no key %q: %w", d.SourceRef.GeneratorRef.Kind, d.SourceRef.GeneratorRef.Name, key, provider.ErrNotFound)
					return
				}
				res.Value = v
				return
			}
			ref := DataStore(es, d)
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
		run(&res.Err, func() {
			if df.SourceRef != nil && df.SourceRef.GeneratorRef != nil {
				res.Values, res.Err = generate(ctx, clients, GeneratorEntry(es, *df.SourceRef.GeneratorRef, -1, i), *df.SourceRef.GeneratorRef)
				return
			}
			ref := DataFromStore(es, df)
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

func generate(ctx context.Context, clients Clients, entry string, ref externalsecret.GeneratorRef) (map[string][]byte, error) {
	g, ok := clients.(Generators)
	if !ok {
		return nil, fmt.Errorf("generator %s %s: this host serves no generators", ref.Kind, ref.Name)
	}
	return g.Generate(ctx, entry, ref)
}

// recoverInto turns a panic of the goroutine it is deferred in into *err.
// The panic's value is not put in the error: it may hold a secret.
func recoverInto(err *error) {
	if r := recover(); r != nil {
		*err = ErrPanic
	}
}

// ErrPanic is the error of an entry whose provider panicked. The panic's
// value is left out: it may hold a secret value.
var ErrPanic = errors.New("the provider panicked")

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
		defer func() {
			if r := recover(); r != nil {
				c.client, c.err = nil, storeError{fmt.Errorf("%s %q: %w", ref.Kind, ref.Name, ErrPanic)}
			}
		}()
		if ref.Name == "" {
			c.err = errors.New("no store named: set spec.secretStoreRef.name")
			return
		}
		if f.clients == nil {
			c.err = storeError{errors.New("Fetch was given no Clients")}
			return
		}
		c.client, c.err = f.clients.Client(ctx, ref)
		switch {
		case c.err != nil:
			c.err = storeError{c.err}
		case isNil(c.client):
			c.err = storeError{fmt.Errorf("%s %q: no client and no error from the host's Clients", ref.Kind, ref.Name)}
		}
	})
	return c.client, c.err
}

// storeError reports that a store could not be used. It does not unwrap:
// a missing store or credential is not a missing remote secret, and must
// never read as provider.ErrNotFound, which deletion policies act on.
type storeError struct{ err error }

func (e storeError) Error() string { return e.err.Error() }

// isNil reports whether c is nil, or a typed nil pointer in an interface.
func isNil(c provider.Client) bool {
	if c == nil {
		return true
	}
	v := reflect.ValueOf(c)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

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
		defer func() {
			if p := recover(); p != nil {
				r.secret, r.err = nil, fmt.Errorf("read key %q from %s %q: %w", k.key, ref.Kind, ref.Name, ErrPanic)
			}
		}()
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

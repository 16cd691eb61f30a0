package engine

import (
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/reconcile"
)

// remoteKeys returns the remote secrets es reads by key: its data entries
// and dataFrom extracts. Finds are left out: what they match changes.
func remoteKeys(es *externalsecret.ExternalSecret) []remoteKey {
	var keys []remoteKey
	add := func(ref externalsecret.SecretStoreRef, key string) {
		k := remoteKey{store: StoreKeyFor(ref, es.Namespace), key: key}
		for _, have := range keys {
			if have == k {
				return
			}
		}
		keys = append(keys, k)
	}
	for i := range es.Spec.Data {
		add(reconcile.DataStore(es, &es.Spec.Data[i]), es.Spec.Data[i].RemoteRef.Key)
	}
	for i, d := range es.Spec.DataFrom {
		if d.Extract != nil {
			add(reconcile.DataFromStore(es, &es.Spec.DataFrom[i]), d.Extract.Key)
		}
	}
	return keys
}

// readerSet holds the readers of one remote secret. Most remote secrets
// have one reader, which needs no map of its own: at 100,000
// ExternalSecrets that is most of the index.
type readerSet struct {
	one  types.NamespacedName
	many map[types.NamespacedName]struct{}
}

func (s readerSet) add(n types.NamespacedName) readerSet {
	switch {
	case s.many != nil:
		s.many[n] = struct{}{}
	case s.one == (types.NamespacedName{}) || s.one == n:
		s.one = n
	default:
		s.many = map[types.NamespacedName]struct{}{s.one: {}, n: {}}
		s.one = types.NamespacedName{}
	}
	return s
}

func (s readerSet) remove(n types.NamespacedName) readerSet {
	switch {
	case s.many != nil:
		delete(s.many, n)
		if len(s.many) == 1 {
			for only := range s.many {
				s.one = only
			}
			s.many = nil
		}
	case s.one == n:
		s.one = types.NamespacedName{}
	}
	return s
}

func (s readerSet) empty() bool { return s.many == nil && s.one == (types.NamespacedName{}) }

// names returns the readers.
func (s readerSet) names() []types.NamespacedName {
	if s.many == nil {
		if s.empty() {
			return nil
		}
		return []types.NamespacedName{s.one}
	}
	out := make([]types.NamespacedName, 0, len(s.many))
	for n := range s.many {
		out = append(out, n)
	}
	return out
}

// indexLocked records the remote secrets es reads, replacing what name
// read before.
func (e *Engine) indexLocked(name types.NamespacedName, st *esState, es *externalsecret.ExternalSecret) {
	keys := remoteKeys(es)
	if equalKeys(keys, st.keys) {
		return
	}
	e.unindexLocked(name, st)
	st.keys = keys
	for _, k := range keys {
		e.readers[k] = e.readers[k].add(name)
	}
}

func (e *Engine) unindexLocked(name types.NamespacedName, st *esState) {
	for _, k := range st.keys {
		if set, ok := e.readers[k]; ok {
			if set = set.remove(name); set.empty() {
				delete(e.readers, k)
			} else {
				e.readers[k] = set
			}
		}
	}
	st.keys = nil
}

func equalKeys(a, b []remoteKey) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// remoteChanged marks every other reader of a remote secret whose value a
// read found changed to read at its next sync, and asks the host to sync
// them now. They get the new value from the shared reads, without another
// provider call.
func (e *Engine) remoteChanged(store reconcile.StoreID, ref provider.Ref, reader types.NamespacedName) {
	k := remoteKey{store: StoreKey{Kind: store.Kind, Namespace: store.Namespace, Name: store.Name}, key: ref.Key}
	e.mu.Lock()
	var names []types.NamespacedName
	for _, name := range e.readers[k].names() {
		if name == reader {
			continue // it has the new value already
		}
		st := e.stateOfLocked(name)
		st.force = true
		st.lastRead = time.Time{}
		names = append(names, name)
	}
	e.mu.Unlock()
	if e.cfg.Requeue != nil {
		for _, name := range names {
			e.cfg.Requeue(name)
		}
	}
}

// soleReader reports whether reader is the only ExternalSecret known to
// read ref from store: the shared reads need not hold its value.
func (e *Engine) soleReader(store reconcile.StoreID, ref provider.Ref, reader types.NamespacedName) bool {
	k := remoteKey{store: StoreKey{Kind: store.Kind, Namespace: store.Namespace, Name: store.Name}, key: ref.Key}
	e.mu.Lock()
	defer e.mu.Unlock()
	set := e.readers[k]
	return set.many == nil && set.one == reader
}

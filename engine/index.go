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
		set, ok := e.readers[k]
		if !ok {
			set = map[types.NamespacedName]struct{}{}
			e.readers[k] = set
		}
		set[name] = struct{}{}
	}
}

func (e *Engine) unindexLocked(name types.NamespacedName, st *esState) {
	for _, k := range st.keys {
		if set, ok := e.readers[k]; ok {
			delete(set, name)
			if len(set) == 0 {
				delete(e.readers, k)
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
	for name := range e.readers[k] {
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

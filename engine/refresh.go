package engine

import (
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/externalsecret"
)

// AnnotationForceSync is the External Secrets Operator's force-sync
// annotation: when its value changes, the ExternalSecret reads its stores
// now, from the stores themselves rather than from reads other
// ExternalSecrets shared.
const AnnotationForceSync = "force-sync"

// Changed tells the engine that the remote secret key of the store named
// by store changed, as a store's event notification says: it drops the
// shared reads of it, so the next read goes to the store, and marks every
// ExternalSecret that reads it to read now, through Config.Requeue. Only
// those read the store, and they share one read. It returns how many
// ExternalSecrets read key.
func (e *Engine) Changed(store StoreKey, key string) int {
	e.reads.Forget(store.Kind, store.Namespace, store.Name, key)
	e.mu.Lock()
	var names []types.NamespacedName
	for _, name := range e.readers[remoteKey{store: store, key: key}].names() {
		st := e.stateOfLocked(name)
		st.force = true
		st.changed = true
		st.lastRead = time.Time{}
		names = append(names, name)
	}
	e.mu.Unlock()
	if e.cfg.Requeue != nil {
		for _, name := range names {
			e.cfg.Requeue(name)
		}
	}
	return len(names)
}

// forceSynced reports whether es's force-sync annotation changed since the
// engine last read es, and records its value. After a restart the engine
// does not know the last value, and does not force.
func (e *Engine) forceSynced(st *esState, es *externalsecret.ExternalSecret) bool {
	v := es.Annotations[AnnotationForceSync]
	e.mu.Lock()
	defer e.mu.Unlock()
	changed := st.forceKnown && v != st.forceSeen
	st.forceSeen, st.forceKnown = v, true
	return changed
}

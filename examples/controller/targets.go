package main

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/reconcile"
)

// targetWatches watches the resources of manifest targets (ConfigMaps,
// custom resources), one informer per resource, started the first time
// the engine syncs a target of it. Only targets labelled
// reconcile.LabelManaged are cached. An edit by hand requeues the
// ExternalSecrets that write the target, which undo it.
type targetWatches struct {
	dynamic   dynamic.Interface
	namespace string
	changed   func(namespace, name string)

	mu      sync.Mutex
	ctx     context.Context
	started map[schema.GroupVersionResource]bool
}

// run sets the context the informers run in; targets seen before it wait
// for it.
func (w *targetWatches) run(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ctx = ctx
	for gvr := range w.started {
		w.startLocked(gvr)
	}
}

// watch starts the informer of gvr, once.
func (w *targetWatches) watch(gvr schema.GroupVersionResource) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.started[gvr]; ok {
		return
	}
	w.started[gvr] = false
	if w.ctx != nil {
		w.startLocked(gvr)
	}
}

func (w *targetWatches) startLocked(gvr schema.GroupVersionResource) {
	if w.started[gvr] {
		return
	}
	w.started[gvr] = true
	inf := dynamicinformer.NewFilteredDynamicInformer(w.dynamic, gvr, w.namespace, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = reconcile.LabelManaged + "=true" })
	_ = inf.Informer().SetTransform(engine.StripManagedFields)
	changed := func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if m, ok := obj.(metav1.Object); ok {
			w.changed(m.GetNamespace(), m.GetName())
		}
	}
	inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
		DeleteFunc: changed,
	})
	go inf.Informer().Run(w.ctx.Done())
}

package main

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/reconcile"
)

// byCluster indexes ExternalSecrets by the ClusterExternalSecret label:
// what a ClusterExternalSecret of that name owns. Only labelled ones are
// indexed, so the index costs nothing for the others.
const byCluster = "byCluster"

func indexByCluster(obj any) ([]string, error) {
	es, ok := obj.(*externalsecret.ExternalSecret)
	if !ok {
		return nil, nil
	}
	if owner := es.Labels[reconcile.LabelClusterExternalSecret]; owner != "" {
		return []string{owner}, nil
	}
	return nil, nil
}

// clusterLoop runs ClusterExternalSecrets: it watches them, the
// namespaces they select and the ExternalSecrets they own, so a namespace
// created, relabelled or deleted is acted on at once, not at refreshTime.
type clusterLoop struct {
	c          *Controller
	informer   cache.SharedIndexInformer
	namespaces v1.NamespaceLister
	queue      workqueue.TypedRateLimitingInterface[string]
}

func newClusterLoop(c *Controller, crd *engine.CRDClient, namespaces cache.SharedIndexInformer, lister v1.NamespaceLister) (*clusterLoop, error) {
	l := &clusterLoop{
		c: c,
		informer: cache.NewSharedIndexInformer(
			crd.ListWatch(engine.ResourceClusterExternalSecrets, "", func() runtime.Object { return &externalsecret.ClusterExternalSecretList{} }),
			&externalsecret.ClusterExternalSecret{}, 0, cache.Indexers{},
		),
		namespaces: lister,
		queue:      newQueue(workqueue.DefaultTypedControllerRateLimiter[string](), "clusterexternalsecrets", c.metrics),
	}
	if err := l.informer.SetTransform(engine.StripForStatusWrites); err != nil {
		return nil, err
	}
	if err := c.esInformer.AddIndexers(cache.Indexers{byCluster: indexByCluster}); err != nil {
		return nil, err
	}
	add := func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if ces, ok := obj.(*externalsecret.ClusterExternalSecret); ok {
			l.queue.Add(ces.Name)
		}
	}
	l.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, obj any) { add(obj) }})
	all := func(any) {
		for _, name := range l.informer.GetIndexer().ListKeys() {
			l.queue.Add(name)
		}
	}
	namespaces.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: all,
		UpdateFunc: func(old, obj any) {
			o, n := old.(*corev1.Namespace), obj.(*corev1.Namespace)
			if !labels.Equals(o.Labels, n.Labels) || (o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil) {
				all(obj)
			}
		},
		DeleteFunc: all,
	})
	owned := func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if es, ok := obj.(*externalsecret.ExternalSecret); ok {
			if owner := es.Labels[reconcile.LabelClusterExternalSecret]; owner != "" {
				l.queue.Add(owner)
			}
		}
	}
	c.esInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: owned, UpdateFunc: func(_, obj any) { owned(obj) }, DeleteFunc: owned})
	return l, nil
}

func (l *clusterLoop) process(ctx context.Context) bool {
	name, shutdown := l.queue.Get()
	if shutdown {
		return false
	}
	defer l.queue.Done(name)
	obj, exists, err := l.informer.GetIndexer().GetByKey(name)
	if err != nil || !exists {
		l.queue.Forget(name)
		return true
	}
	ces := obj.(*externalsecret.ClusterExternalSecret)
	if !l.c.owns(ces) {
		l.queue.Forget(name) // another replica's
		return true
	}
	namespaces, err := l.namespaces.List(labels.Everything())
	var existing []*externalsecret.ExternalSecret
	if err == nil {
		existing, err = l.existing(ctx, ces)
	}
	if err == nil {
		_, err = l.c.engine.SyncClusterExternalSecret(ctx, ces, namespaces, existing)
	}
	if err != nil {
		klog.FromContext(ctx).V(2).Info("ClusterExternalSecret sync failed; retrying", "clusterexternalsecret", name, "err", err)
		l.queue.AddRateLimited(name)
		return true
	}
	l.queue.Forget(name)
	if d := ces.Spec.RefreshInterval; d != nil && d.Duration > 0 {
		l.queue.AddAfter(name, d.Duration)
	}
	return true
}

// existing returns the ExternalSecrets ces may own or collide with,
// whole even where the cache holds stubs of another shard's.
func (l *clusterLoop) existing(ctx context.Context, ces *externalsecret.ClusterExternalSecret) ([]*externalsecret.ExternalSecret, error) {
	seen := map[string]bool{}
	var out []*externalsecret.ExternalSecret
	// What it owns, and whatever has the name it writes in any namespace.
	objs, _ := l.c.esInformer.GetIndexer().ByIndex(byCluster, ces.Name)
	namespaces, err := l.namespaces.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	for _, ns := range namespaces {
		if obj, ok, _ := l.c.esInformer.GetIndexer().GetByKey(ns.Name + "/" + ces.ExternalSecretName()); ok {
			objs = append(objs, obj)
		}
	}
	for _, obj := range objs {
		es := obj.(*externalsecret.ExternalSecret)
		if k := es.Namespace + "/" + es.Name; !seen[k] {
			seen[k] = true
			es, err := l.c.resolveES(ctx, es)
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, es)
		}
	}
	return out, nil
}

package main

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/pushsecret"
)

var secretsResource = corev1.SchemeGroupVersion.WithResource("secrets")

// bySource indexes PushSecrets by the Secret they push, namespace/name.
const bySource = "bySource"

func indexBySource(obj any) ([]string, error) {
	ps, ok := obj.(*pushsecret.PushSecret)
	if !ok || ps.Spec.Selector.Secret == nil || ps.Spec.Selector.Secret.Name == "" {
		return nil, nil
	}
	return []string{ps.Namespace + "/" + ps.Spec.Selector.Secret.Name}, nil
}

// pushLoop runs PushSecrets. A change of a Secret one pushes reaches it at
// once through a watch of Secrets' metadata, started with the first
// PushSecret, so a cluster without PushSecrets pays nothing for it.
type pushLoop struct {
	c        *Controller
	informer cache.SharedIndexInformer
	queue    workqueue.TypedRateLimitingInterface[cache.ObjectName]

	meta      metadata.Interface
	namespace string
	startOnce sync.Once
	ctx       context.Context
	ready     chan struct{}
}

func newPushLoop(c *Controller, crd *engine.CRDClient, meta metadata.Interface, namespace string) (*pushLoop, error) {
	l := &pushLoop{
		c: c,
		informer: cache.NewSharedIndexInformer(
			crd.ListWatch(engine.ResourcePushSecrets, namespace, func() runtime.Object { return &pushsecret.PushSecretList{} }),
			&pushsecret.PushSecret{}, 0, cache.Indexers{bySource: indexBySource},
		),
		queue:     newQueue(workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](), "pushsecrets", c.metrics),
		meta:      meta,
		namespace: namespace,
		ready:     make(chan struct{}),
	}
	if err := l.informer.SetTransform(engine.StripForStatusWrites); err != nil {
		return nil, err
	}
	enqueue := func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		name, err := cache.ObjectToName(obj)
		if err != nil {
			return
		}
		l.queue.Add(name)
		l.watchSources()
	}
	l.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }, DeleteFunc: enqueue})
	return l, nil
}

// run lets the Secret watch start, in ctx.
func (l *pushLoop) run(ctx context.Context) {
	l.ctx = ctx
	close(l.ready)
}

// watchSources starts the watch of Secrets' metadata, once.
func (l *pushLoop) watchSources() {
	if l.meta == nil {
		return
	}
	l.startOnce.Do(func() {
		go func() {
			<-l.ready
			inf := metadatainformer.NewFilteredMetadataInformer(l.meta, secretsResource, l.namespace, 0, cache.Indexers{}, nil)
			_ = inf.Informer().SetTransform(engine.StripManagedFields)
			changed := func(obj any) {
				if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = tomb.Obj
				}
				m, ok := obj.(metav1.Object)
				if !ok {
					return
				}
				pss, _ := l.informer.GetIndexer().ByIndex(bySource, m.GetNamespace()+"/"+m.GetName())
				for _, ps := range pss {
					if name, err := cache.ObjectToName(ps); err == nil {
						l.queue.Add(name)
					}
				}
			}
			inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
				AddFunc:    changed,
				UpdateFunc: func(_, obj any) { changed(obj) },
				DeleteFunc: changed,
			})
			inf.Informer().Run(l.ctx.Done())
		}()
	})
}

func (l *pushLoop) process(ctx context.Context) bool {
	name, shutdown := l.queue.Get()
	if shutdown {
		return false
	}
	defer l.queue.Done(name)
	logger := klog.FromContext(ctx).WithValues("pushsecret", name.String())
	ctx = klog.NewContext(ctx, logger)
	obj, exists, err := l.informer.GetIndexer().GetByKey(name.String())
	if err != nil || !exists {
		l.c.engine.ForgetPush(types.NamespacedName(name))
		l.queue.Forget(name)
		return true
	}
	ps := obj.(*pushsecret.PushSecret)
	if !l.c.owns(ps) {
		l.c.engine.ForgetPush(types.NamespacedName(name)) // another replica's
		l.queue.Forget(name)
		return true
	}
	res, err := l.c.engine.Push(ctx, ps)
	if res.Pushed+res.Deleted > 0 {
		logger.V(1).Info("Pushed", "writes", res.Pushed, "deletes", res.Deleted)
	}
	if res.StatusChanged && ps.DeletionTimestamp == nil {
		if serr := l.c.engine.UpdatePushStatus(ctx, ps, res.Status); serr != nil && !apierrors.IsNotFound(serr) && !apierrors.IsConflict(serr) {
			err = serr
		}
	}
	if err != nil {
		logger.V(2).Info("Push failed; retrying with backoff", "err", err)
		l.queue.AddRateLimited(name)
		return true
	}
	l.queue.Forget(name)
	if res.RequeueAfter > 0 {
		l.queue.AddAfter(name, res.RequeueAfter)
	}
	return true
}

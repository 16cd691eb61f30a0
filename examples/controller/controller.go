package main

import (
	"context"
	"errors"
	"hash/fnv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/secretstore"
	"github.com/secretsync/secretsync/shard"
)

// Config configures a Controller.
type Config struct {
	Kube kubernetes.Interface
	CRD  *engine.CRDClient
	// Registry holds the providers served.
	Registry *provider.Registry
	// Namespace limits the controller to one namespace; empty means all.
	Namespace string
	// Store holds the rules for which stores are served.
	Store reconcile.StoreOptions
	// Workers is how many ExternalSecrets are refreshed at once.
	Workers int
	// FirstSyncWorkers is how many ExternalSecrets not yet synced are
	// reconciled at once, on a queue of their own, so new ExternalSecrets
	// are not starved behind a backlog of refreshes. Twice Workers when
	// zero.
	FirstSyncWorkers int
	// StatusWorkers bounds how many deferred first-sync statuses are
	// written at once; twice Workers when zero. Within it the number
	// follows the apiserver's headroom (engine.AdaptiveLimit), from a
	// quarter of Workers. While first syncs wait, each status yields to
	// them for up to a second: Secrets go first.
	StatusWorkers int
	// Metrics records what the controller does; nil records nothing.
	Metrics *metrics
	// Now returns the time; time.Now when nil.
	Now func() time.Time
	// RetryBackoff is how long an ExternalSecret waits before its first
	// retry after a failed sync; each further failure in a row doubles
	// the wait, up to MaxRetryBackoff. Each wait is drawn at random from
	// its upper half. One second and five minutes when zero.
	RetryBackoff, MaxRetryBackoff time.Duration
	// FetchTimeout bounds the reads of one sync. 30 seconds when zero.
	FetchTimeout time.Duration
	// GenericTargets lets ExternalSecrets write targets other than
	// Secrets (spec.target.manifest) through Dynamic, which is required
	// then. See engine.Config.AllowGenericTargets.
	GenericTargets bool
	Dynamic        dynamic.Interface
	// Generators serves generatorRef entries; RenewFraction and
	// RevokeGrace tune the lifecycle of what they generate (see
	// engine.Config).
	// Audit, if set, receives a record of each call to a store.
	Audit         func(engine.Access)
	Generators    *generator.Registry
	RenewFraction float64
	RevokeGrace   time.Duration
	// Metadata, if set, watches the metadata of Secrets once a PushSecret
	// exists, so a change to a Secret one pushes is pushed at once rather
	// than at its next refresh.
	Metadata metadata.Interface
	// Shard, if set, splits the work with the other replicas of its
	// group: this one syncs only the ExternalSecrets, PushSecrets,
	// ClusterExternalSecrets and stores whose ShardBy key it owns, and its
	// caches hold only stubs of the others.
	Shard   *shard.Membership
	ShardBy shard.By
}

// Controller is the watch loop over the engine: informers, queues and
// workers. Every decision and write of a sync is the engine's.
type Controller struct {
	cfg     Config
	kube    kubernetes.Interface
	engine  *engine.Engine
	metrics *metrics

	esInformer cache.SharedIndexInformer
	secrets    cache.SharedIndexInformer
	// esResolver reads an ExternalSecret from the cache, or live when
	// the cache holds a stub of it (see Config.Shard).
	esResolver     func(context.Context, string, string) (*externalsecret.ExternalSecret, error)
	storeInformer  cache.SharedIndexInformer
	cstoreInformer cache.SharedIndexInformer
	kubeInformers  informers.SharedInformerFactory
	nsInformers    informers.SharedInformerFactory
	informersSync  []cache.InformerSynced
	broadcast      record.EventBroadcaster

	queue      workqueue.TypedRateLimitingInterface[cache.ObjectName]
	firstQueue workqueue.TypedRateLimitingInterface[cache.ObjectName]
	// statusQueue holds first syncs whose status write was deferred so
	// that the Secrets of a burst are written first.
	statusQueue workqueue.TypedRateLimitingInterface[cache.ObjectName]
	// statusLimit bounds the deferred status writes in flight.
	statusLimit *engine.AdaptiveLimit
	storeQueue  workqueue.TypedRateLimitingInterface[engine.StoreKey]
	keyLocks    [64]sync.Mutex

	targets *targetWatches
	// clusters runs ClusterExternalSecrets; nil with Config.Namespace,
	// as they are cluster-scoped.
	clusters *clusterLoop
	pushes   *pushLoop

	mu sync.Mutex
	// pending holds the deferred statuses of statusQueue.
	pending map[cache.ObjectName]pendingStatus
}

// pendingStatus is a status computed by a first sync and not yet written,
// for the ExternalSecret at resourceVersion.
type pendingStatus struct {
	resourceVersion string
	status          externalsecret.ExternalSecretStatus
}

// Index names.
const (
	byStore  = "byStore"
	byTarget = "byTarget"
)

// NewController builds a controller; Run starts it.
func NewController(cfg Config) (*Controller, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.FirstSyncWorkers <= 0 {
		cfg.FirstSyncWorkers = 2 * cfg.Workers
	}
	if cfg.StatusWorkers <= 0 {
		cfg.StatusWorkers = 2 * cfg.Workers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Metrics == nil {
		cfg.Metrics = newMetrics(nil)
	}
	c := &Controller{cfg: cfg, kube: cfg.Kube, metrics: cfg.Metrics, pending: map[cache.ObjectName]pendingStatus{},
		statusLimit: engine.NewAdaptiveLimit(cfg.Workers/4, 1, cfg.StatusWorkers)}
	// One count of failures per ExternalSecret, whichever queue it fails on.
	retries := engine.NewRetryLimiter[cache.ObjectName](cfg.RetryBackoff, cfg.MaxRetryBackoff)
	c.queue = newQueue[cache.ObjectName](retries, "externalsecrets", cfg.Metrics)
	c.firstQueue = newQueue[cache.ObjectName](retries, "externalsecrets-first-sync", cfg.Metrics)
	c.statusQueue = newQueue(workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](), "externalsecrets-status", cfg.Metrics)
	c.storeQueue = newQueue(workqueue.DefaultTypedControllerRateLimiter[engine.StoreKey](), "secretstores", cfg.Metrics)

	c.esInformer = cache.NewSharedIndexInformer(
		cfg.CRD.ListWatch(engine.ResourceExternalSecrets, cfg.Namespace, func() runtime.Object { return &externalsecret.ExternalSecretList{} }),
		&externalsecret.ExternalSecret{}, 0,
		cache.Indexers{byStore: indexByStore, byTarget: indexByTarget},
	)
	c.storeInformer = cache.NewSharedIndexInformer(
		cfg.CRD.ListWatch(engine.ResourceSecretStores, cfg.Namespace, func() runtime.Object { return &secretstore.SecretStoreList{} }),
		&secretstore.SecretStore{}, 0, cache.Indexers{},
	)
	c.cstoreInformer = cache.NewSharedIndexInformer(
		cfg.CRD.ListWatch(engine.ResourceClusterSecretStores, "", func() runtime.Object { return &secretstore.ClusterSecretStoreList{} }),
		&secretstore.ClusterSecretStore{}, 0, cache.Indexers{},
	)
	// Only the Secrets secretsync manages are cached: a cluster with many
	// unrelated Secrets costs nothing.
	c.kubeInformers = informers.NewSharedInformerFactoryWithOptions(cfg.Kube, 0,
		informers.WithNamespace(cfg.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = reconcile.LabelManaged + "=true" }),
	)
	secrets := c.kubeInformers.Core().V1().Secrets()
	// Namespaces carry the labels ClusterSecretStore conditions select on.
	c.nsInformers = informers.NewSharedInformerFactory(cfg.Kube, 0)
	namespaces := engine.NamespaceGetter(engine.NamespaceGetterFunc(func(_ context.Context, name string) (*corev1.Namespace, error) {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, nil
	}))
	// Managed fields are most of a small object and nothing here reads
	// them: do not cache them. kubectl apply keeps a copy of the whole
	// object in an annotation, a second copy the controller never reads.
	// It writes only the status of these, which leaves the annotation
	// alone.
	var err error
	transforms := map[cache.SharedIndexInformer]cache.TransformFunc{
		secrets.Informer(): engine.CompactSecrets, c.esInformer: engine.CompactExternalSecrets,
		c.storeInformer: engine.StripForStatusWrites, c.cstoreInformer: engine.StripForStatusWrites,
	}
	c.secrets = secrets.Informer()
	c.esResolver = shard.Resolver(c.getES, c.liveES, c.esInformer.GetIndexer(), engine.CompactExternalSecrets)
	secretGetter := engine.SecretsFromLister(secrets.Lister())
	if cfg.Shard != nil {
		// The objects of other shards are stubs: their bodies, most of
		// the memory, stay out of this replica.
		transforms[c.esInformer] = shard.Transform(c.owns, engine.CompactExternalSecrets)
		transforms[secrets.Informer()] = shard.Transform(c.ownsSecret, engine.CompactSecrets)
		live := engine.Kube{Interface: cfg.Kube}
		secretGetter = engine.SecretGetterFunc(shard.Resolver(secretGetter.Secret, live.Secret, secrets.Informer().GetStore(), engine.CompactSecrets))
	}
	if cfg.Namespace == "" {
		ns := c.nsInformers.Core().V1().Namespaces()
		namespaces = engine.NamespacesFromLister(ns.Lister())
		transforms[ns.Informer()] = engine.StripManagedFields
		c.informersSync = append(c.informersSync, ns.Informer().HasSynced)
		if c.clusters, err = newClusterLoop(c, cfg.CRD, ns.Informer(), ns.Lister()); err != nil {
			return nil, err
		}
		c.informersSync = append(c.informersSync, c.clusters.informer.HasSynced)
	}
	for inf, fn := range transforms {
		if err := inf.SetTransform(fn); err != nil {
			return nil, err
		}
	}
	if c.pushes, err = newPushLoop(c, cfg.CRD, cfg.Metadata, cfg.Namespace); err != nil {
		return nil, err
	}
	c.informersSync = append(c.informersSync, c.pushes.informer.HasSynced,
		c.esInformer.HasSynced, c.storeInformer.HasSynced, c.cstoreInformer.HasSynced, secrets.Informer().HasSynced)

	c.esInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
		DeleteFunc: c.forget,
	})
	secrets.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueForSecret,
		UpdateFunc: func(_, obj any) { c.enqueueForSecret(obj) },
		DeleteFunc: c.enqueueForSecret,
	})
	for _, inf := range []cache.SharedIndexInformer{c.storeInformer, c.cstoreInformer} {
		inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { c.storeChanged(obj, false) },
			UpdateFunc: func(old, obj any) {
				// A new spec may mean new values: read them now. A status
				// write changes no generation and reads nothing.
				c.storeChanged(obj, old.(metav1.Object).GetGeneration() != obj.(metav1.Object).GetGeneration())
			},
			DeleteFunc: c.storeDeleted,
		})
	}

	c.broadcast = record.NewBroadcaster()
	var onTarget func(schema.GroupVersionResource)
	if cfg.GenericTargets {
		if cfg.Dynamic == nil {
			return nil, errors.New("Config.GenericTargets needs Config.Dynamic")
		}
		c.targets = &targetWatches{dynamic: cfg.Dynamic, namespace: cfg.Namespace, changed: c.enqueueForTarget, started: map[schema.GroupVersionResource]bool{}}
		onTarget = c.targets.watch
	}
	c.engine, err = engine.New(engine.Config{
		Kube:                cfg.Kube,
		Registry:            cfg.Registry,
		Stores:              engine.StoresFromIndexers(c.storeInformer.GetIndexer(), c.cstoreInformer.GetIndexer()),
		Secrets:             secretGetter,
		Namespaces:          namespaces,
		CRD:                 cfg.CRD,
		Recorder:            c.broadcast.NewRecorder(engine.Scheme, corev1.EventSource{Component: "secretsync"}),
		ControllerClass:     cfg.Store.ControllerClass,
		DenyUnconditioned:   cfg.Store.DenyUnconditioned,
		FetchTimeout:        cfg.FetchTimeout,
		AllowGenericTargets: cfg.GenericTargets,
		Generators:          cfg.Generators,
		Audit:               cfg.Audit,
		RenewFraction:       cfg.RenewFraction,
		RevokeGrace:         cfg.RevokeGrace,
		Dynamic:             cfg.Dynamic,
		OnTarget:            onTarget,
		Requeue:             func(n types.NamespacedName) { c.queue.Add(cache.ObjectName(n)) },
		OnProviderCall:      cfg.Metrics.providerCall,
		OnSecretWrite:       func(a reconcile.Action) { cfg.Metrics.secretWrites.WithLabelValues(string(a)).Inc() },
		Now:                 cfg.Now,
	})
	if err == nil && cfg.Shard != nil {
		cfg.Shard.OnChange(c.reshard)
	}
	return c, err
}

func newQueue[T comparable](rl workqueue.TypedRateLimiter[T], name string, m *metrics) workqueue.TypedRateLimitingInterface[T] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(rl, workqueue.TypedRateLimitingQueueConfig[T]{Name: name, MetricsProvider: m})
}

func indexByStore(obj any) ([]string, error) {
	es, ok := obj.(*externalsecret.ExternalSecret)
	if !ok {
		return nil, nil
	}
	var keys []string
	for _, k := range engine.StoreKeysOf(es) {
		keys = append(keys, k.String())
	}
	return keys, nil
}

// indexByTarget indexes the ExternalSecrets whose target is named other
// than themselves; those that write their own name, most, are found by
// name, and cost the index nothing.
func indexByTarget(obj any) ([]string, error) {
	es, ok := obj.(*externalsecret.ExternalSecret)
	if !ok || es.TargetName() == es.Name {
		return nil, nil
	}
	return []string{es.Namespace + "/" + es.TargetName()}, nil
}

// Run starts the informers and workers and blocks until ctx is done.
func (c *Controller) Run(ctx context.Context) error {
	defer utilruntime.HandleCrash()
	logger := klog.FromContext(ctx)

	c.broadcast.StartStructuredLogging(3)
	c.broadcast.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.kube.CoreV1().Events("")})
	defer c.broadcast.Shutdown()

	if c.cfg.Shard != nil {
		// Informers made before this replica owns its keys would hold
		// nothing but stubs.
		logger.Info("Waiting to join the shard group")
		select {
		case <-c.cfg.Shard.Ready():
		case <-ctx.Done():
			return nil
		}
	}
	go c.esInformer.Run(ctx.Done())
	go c.storeInformer.Run(ctx.Done())
	go c.cstoreInformer.Run(ctx.Done())
	if c.clusters != nil {
		go c.clusters.informer.Run(ctx.Done())
	}
	go c.pushes.informer.Run(ctx.Done())
	c.kubeInformers.Start(ctx.Done())
	c.nsInformers.Start(ctx.Done())
	defer c.kubeInformers.Shutdown()
	defer c.nsInformers.Shutdown()

	logger.Info("Waiting for informer caches to sync")
	if !cache.WaitForCacheSync(ctx.Done(), c.informersSync...) {
		return errors.New("informer caches did not sync")
	}
	if c.cfg.Shard != nil {
		c.reshard(c.cfg.Shard.View()) // count the share the caches now hold
	}
	c.metrics.setReady(true)
	defer c.metrics.setReady(false)
	if c.targets != nil {
		c.targets.run(ctx)
	}
	c.pushes.run(ctx)

	logger.Info("Starting workers", "refresh", c.cfg.Workers, "firstSync", c.cfg.FirstSyncWorkers, "status", c.cfg.StatusWorkers)
	var wg sync.WaitGroup
	start := func(n int, work func(context.Context) bool) {
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				wait.UntilWithContext(ctx, func(ctx context.Context) {
					for work(ctx) {
					}
				}, time.Second)
			}()
		}
	}
	start(c.cfg.Workers, func(ctx context.Context) bool { return c.processNext(ctx, c.queue) })
	start(c.cfg.FirstSyncWorkers, func(ctx context.Context) bool { return c.processNext(ctx, c.firstQueue) })
	start(c.cfg.StatusWorkers, c.processStatus)
	start(1, c.processStore)
	start(1, c.pushes.process)
	queues := []interface{ ShutDown() }{c.queue, c.firstQueue, c.statusQueue, c.storeQueue, c.pushes.queue}
	if c.clusters != nil {
		start(1, c.clusters.process)
		queues = append(queues, c.clusters.queue)
	}
	<-ctx.Done()
	logger.Info("Shutting down workers")
	for _, q := range queues {
		q.ShutDown()
	}
	wg.Wait()
	c.engine.Close(context.WithoutCancel(ctx))
	return nil
}

// enqueue queues an ExternalSecret: on the first-sync queue if this
// version of it was never synced, else on the refresh queue.
func (c *Controller) enqueue(obj any) {
	name, err := cache.ObjectToName(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	es, ok := obj.(*externalsecret.ExternalSecret)
	if ok && !c.owns(es) {
		return
	}
	if ok && es.Status.SyncedResourceVersion != es.SyncVersion() {
		c.firstQueue.Add(name)
		return
	}
	c.queue.Add(name)
}

func (c *Controller) forget(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	name, err := cache.ObjectToName(obj)
	if err != nil {
		return
	}
	c.engine.Forget(types.NamespacedName(name))
	c.mu.Lock()
	delete(c.pending, name)
	c.mu.Unlock()
	c.queue.Add(name)
}

// enqueueForSecret enqueues the ExternalSecrets that write a Secret that
// changed, so hand edits and deletions are undone.
func (c *Controller) enqueueForSecret(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if s, ok := obj.(*corev1.Secret); ok {
		c.enqueueForTarget(s.Namespace, s.Name)
	}
}

// enqueueForTarget enqueues the ExternalSecrets that write the target
// namespace/name, of whatever kind.
func (c *Controller) enqueueForTarget(namespace, name string) {
	key := namespace + "/" + name
	if obj, ok, _ := c.esInformer.GetIndexer().GetByKey(key); ok && obj.(*externalsecret.ExternalSecret).TargetName() == name {
		c.enqueue(obj)
	}
	ess, _ := c.esInformer.GetIndexer().ByIndex(byTarget, key)
	for _, es := range ess {
		c.enqueue(es)
	}
}

// storeChanged requeues the ExternalSecrets that use a store, and the
// store's own validation. With reread, they read their values again now
// rather than at their next refresh.
func (c *Controller) storeChanged(obj any, reread bool) {
	store, ok := obj.(secretstore.GenericStore)
	if !ok {
		return
	}
	key := engine.StoreKeyOf(store)
	c.storeQueue.Add(key)
	ess, _ := c.esInformer.GetIndexer().ByIndex(byStore, key.String())
	for _, obj := range ess {
		if reread {
			es := obj.(*externalsecret.ExternalSecret)
			c.engine.Refresh(types.NamespacedName{Namespace: es.Namespace, Name: es.Name})
			c.queue.Add(cache.ObjectName{Namespace: es.Namespace, Name: es.Name})
		} else {
			c.enqueue(obj)
		}
	}
}

// storeDeleted closes a deleted store's client, and the token it holds,
// and requeues the ExternalSecrets that used it.
func (c *Controller) storeDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if store, ok := obj.(secretstore.GenericStore); ok {
		c.engine.ForgetStore(context.Background(), store)
		c.storeChanged(obj, true)
	}
}

func (c *Controller) processNext(ctx context.Context, queue workqueue.TypedRateLimitingInterface[cache.ObjectName]) bool {
	name, shutdown := queue.Get()
	if shutdown {
		return false
	}
	defer queue.Done(name)
	// One ExternalSecret may sit in both queues; never sync it twice at once.
	lock := &c.keyLocks[fnv32(name.String())%uint32(len(c.keyLocks))]
	lock.Lock()
	defer lock.Unlock()
	logger := klog.FromContext(ctx).WithValues("externalsecret", name.String())
	ctx = klog.NewContext(ctx, logger)

	start := c.cfg.Now()
	requeue, err := c.sync(ctx, name, queue == c.firstQueue)
	c.metrics.observeReconcile(c.cfg.Now().Sub(start), err)
	switch {
	case err != nil:
		logger.V(2).Info("Sync failed; retrying with backoff", "err", err)
		queue.AddRateLimited(name)
	default:
		logger.V(5).Info("Synced", "requeueAfter", requeue)
		queue.Forget(name)
		if requeue > 0 {
			c.queue.AddAfter(name, requeue)
		}
	}
	return true
}

// sync reconciles one ExternalSecret and returns when to look at it again.
// A first sync (first) during a burst writes the Secret and leaves the
// status to statusQueue.
func (c *Controller) sync(ctx context.Context, name cache.ObjectName, first bool) (time.Duration, error) {
	obj, exists, err := c.esInformer.GetIndexer().GetByKey(name.String())
	if err != nil || !exists {
		return 0, err
	}
	es := obj.(*externalsecret.ExternalSecret)
	if !c.owns(es) {
		c.engine.Forget(types.NamespacedName(name)) // another replica's now
		return 0, nil
	}
	if es, err = c.resolveES(ctx, es); err != nil {
		if apierrors.IsNotFound(err) {
			err = nil // deleted since: its delete event follows
		}
		return 0, err
	}
	if c.statusPending(name, es) {
		return 0, nil
	}
	res, err := c.engine.Sync(ctx, engine.Request{ExternalSecret: es})
	if !res.Read || res.Err == nil && err != nil {
		return res.RequeueAfter, err // nothing was due, or the write failed
	}
	switch {
	case res.StatusChanged && first && res.Err == nil && c.firstQueue.Len() > 0:
		// More first syncs wait: their Secrets, which workloads wait
		// for, go before this status.
		c.mu.Lock()
		c.pending[name] = pendingStatus{resourceVersion: es.ResourceVersion, status: res.Status}
		c.mu.Unlock()
		c.statusQueue.Add(name)
	case res.StatusChanged:
		if serr := c.engine.UpdateStatus(ctx, es, res.Status); serr != nil {
			return 0, serr
		}
	}
	c.metrics.observeSync(res.Output)
	return res.RequeueAfter, err
}

// statusPending reports whether es, as the cache shows it, has a deferred
// status waiting in statusQueue; its write, not another sync, comes next.
// A pending status for an older version of es is dropped: the change is
// synced afresh.
func (c *Controller) statusPending(name cache.ObjectName, es *externalsecret.ExternalSecret) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pending[name]
	if !ok {
		return false
	}
	if p.resourceVersion == es.ResourceVersion {
		return true
	}
	delete(c.pending, name)
	return false
}

// statusYield bounds how long a deferred status waits for the first syncs
// queued behind it, so a long burst does not starve statuses.
const statusYield = time.Second

func (c *Controller) processStatus(ctx context.Context) bool {
	name, shutdown := c.statusQueue.Get()
	if shutdown {
		return false
	}
	defer c.statusQueue.Done(name)
	for deadline := time.Now().Add(statusYield); c.firstQueue.Len() > 0 && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	lock := &c.keyLocks[fnv32(name.String())%uint32(len(c.keyLocks))]
	lock.Lock()
	defer lock.Unlock()
	if err := c.writePendingStatus(ctx, name); err != nil {
		klog.FromContext(ctx).V(2).Info("Status write failed; retrying with backoff", "externalsecret", name.String(), "err", err)
		c.statusQueue.AddRateLimited(name)
		return true
	}
	c.statusQueue.Forget(name)
	return true
}

// writePendingStatus writes the deferred status of name, unless the
// ExternalSecret changed or went away since it was computed; then it is
// synced afresh.
func (c *Controller) writePendingStatus(ctx context.Context, name cache.ObjectName) error {
	c.mu.Lock()
	p, ok := c.pending[name]
	c.mu.Unlock()
	if !ok {
		return nil
	}
	obj, exists, err := c.esInformer.GetIndexer().GetByKey(name.String())
	if err != nil {
		return err
	}
	if exists && obj.(*externalsecret.ExternalSecret).ResourceVersion == p.resourceVersion {
		done, lerr := c.statusLimit.Acquire(ctx)
		if lerr != nil {
			return lerr
		}
		err = c.engine.UpdateStatus(ctx, obj.(*externalsecret.ExternalSecret), p.status)
		done(err)
		c.metrics.statusLimit.Set(float64(c.statusLimit.Limit()))
		if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return err
		}
	}
	c.mu.Lock()
	delete(c.pending, name)
	c.mu.Unlock()
	if !exists || err != nil || obj.(*externalsecret.ExternalSecret).ResourceVersion != p.resourceVersion {
		c.firstQueue.Add(name) // it changed or went away: sync it afresh
	}
	return nil
}

// processStore validates one store and writes its status.
func (c *Controller) processStore(ctx context.Context) bool {
	key, shutdown := c.storeQueue.Get()
	if shutdown {
		return false
	}
	defer c.storeQueue.Done(key)
	store, err := c.engine.Store(ctx, key)
	if apierrors.IsNotFound(err) {
		c.storeQueue.Forget(key)
		return true
	}
	if err == nil && !c.owns(store) {
		c.storeQueue.Forget(key) // another replica validates it
		return true
	}
	var res engine.StoreResult
	if err == nil {
		res, err = c.engine.SyncStore(ctx, store)
	}
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Store sync failed; retrying", "store", key.String(), "err", err)
		c.storeQueue.AddRateLimited(key)
		return true
	}
	c.storeQueue.Forget(key)
	if res.RequeueAfter > 0 && !res.Ignored {
		c.storeQueue.AddAfter(key, res.RequeueAfter)
	}
	return true
}

func fnv32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

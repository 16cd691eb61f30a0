package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/secretstore"
)

// FieldManager names secretsync in the managed fields of what it writes.
const FieldManager = "secretsync"

// Config configures a Controller.
type Config struct {
	Kube kubernetes.Interface
	CRD  *crdClient
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
	// StatusWorkers is how many deferred first-sync statuses are written
	// at once; a quarter of Workers, at least one, when zero. While first
	// syncs wait, each status yields to them for up to a second.
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
	// FetchTimeout bounds the reads of one sync, so a store that hangs
	// costs a worker no longer than this. 30 seconds when zero.
	FetchTimeout time.Duration
}

// Controller syncs ExternalSecrets into Secrets. All decisions come from
// package reconcile; the controller fetches, applies and schedules.
type Controller struct {
	cfg     Config
	kube    kubernetes.Interface
	crd     *crdClient
	metrics *metrics
	now     func() time.Time

	esInformer     cache.SharedIndexInformer
	storeInformer  cache.SharedIndexInformer
	cstoreInformer cache.SharedIndexInformer
	kubeInformers  informers.SharedInformerFactory
	secretLister   corelisters.SecretLister
	nsInformers    informers.SharedInformerFactory
	nsLister       corelisters.NamespaceLister
	informersSync  []cache.InformerSynced

	queue      workqueue.TypedRateLimitingInterface[cache.ObjectName]
	firstQueue workqueue.TypedRateLimitingInterface[cache.ObjectName]
	// statusQueue holds first syncs whose status write was deferred so
	// that the Secrets of a burst are written first.
	statusQueue workqueue.TypedRateLimitingInterface[cache.ObjectName]
	storeQueue  workqueue.TypedRateLimitingInterface[storeKey]
	keyLocks    [64]sync.Mutex
	reads       *reconcile.Cache
	recorder    record.EventRecorder
	broadcast   record.EventBroadcaster
	clients     *clientCache

	mu       sync.Mutex
	lastRead map[cache.ObjectName]time.Time
	// written holds, for an ExternalSecret whose status this controller
	// just changed, the resourceVersion it had before. While the cache
	// still shows that version, the cache is behind the write and the
	// event for the write is on its way.
	written map[cache.ObjectName]string
	// forceRead marks ExternalSecrets to read now, whatever their
	// schedule: another reader of one of their remote secrets saw it change.
	forceRead map[cache.ObjectName]bool
	// pending holds the deferred statuses of statusQueue.
	pending map[cache.ObjectName]pendingStatus
}

// pendingStatus is a status computed by a first sync and not yet written,
// for the ExternalSecret at resourceVersion.
type pendingStatus struct {
	resourceVersion string
	status          externalsecret.ExternalSecretStatus
}

// storeKey identifies a SecretStore (with namespace) or a
// ClusterSecretStore (without).
type storeKey struct {
	Kind      string
	Namespace string
	Name      string
}

// Index names.
const (
	byStore     = "byStore"
	byTarget    = "byTarget"
	byRemoteKey = "byRemoteKey"
)

// NewController builds a controller; Run starts it.
func NewController(cfg Config) *Controller {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.FirstSyncWorkers <= 0 {
		cfg.FirstSyncWorkers = 2 * cfg.Workers
	}
	if cfg.StatusWorkers <= 0 {
		cfg.StatusWorkers = max(1, cfg.Workers/4)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = time.Second
	}
	if cfg.MaxRetryBackoff <= 0 {
		cfg.MaxRetryBackoff = 5 * time.Minute
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 30 * time.Second
	}
	if cfg.Metrics == nil {
		cfg.Metrics = newMetrics(nil)
	}
	c := &Controller{
		cfg:       cfg,
		kube:      cfg.Kube,
		crd:       cfg.CRD,
		metrics:   cfg.Metrics,
		now:       cfg.Now,
		lastRead:  map[cache.ObjectName]time.Time{},
		written:   map[cache.ObjectName]string{},
		forceRead: map[cache.ObjectName]bool{},
		pending:   map[cache.ObjectName]pendingStatus{},
	}
	// One count of failures per ExternalSecret, whichever queue it fails on.
	retries := newRetryLimiter(cfg.RetryBackoff, cfg.MaxRetryBackoff)
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		retries,
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "externalsecrets", MetricsProvider: cfg.Metrics},
	)
	c.firstQueue = workqueue.NewTypedRateLimitingQueueWithConfig(
		retries,
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "externalsecrets-first-sync", MetricsProvider: cfg.Metrics},
	)
	c.statusQueue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[cache.ObjectName](),
		workqueue.TypedRateLimitingQueueConfig[cache.ObjectName]{Name: "externalsecrets-status", MetricsProvider: cfg.Metrics},
	)
	c.reads = reconcile.NewCache(reconcile.CacheOptions{Now: cfg.Now, OnChange: c.remoteChanged})
	c.storeQueue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[storeKey](),
		workqueue.TypedRateLimitingQueueConfig[storeKey]{Name: "secretstores", MetricsProvider: cfg.Metrics},
	)

	c.esInformer = cache.NewSharedIndexInformer(
		cfg.CRD.listWatch(resExternalSecrets, cfg.Namespace, func() runtime.Object { return &externalsecret.ExternalSecretList{} }),
		&externalsecret.ExternalSecret{}, 0,
		cache.Indexers{
			cache.NamespaceIndex: cache.MetaNamespaceIndexFunc,
			byStore:              indexByStore,
			byTarget:             indexByTarget,
			byRemoteKey:          indexByRemoteKey,
		},
	)
	c.storeInformer = cache.NewSharedIndexInformer(
		cfg.CRD.listWatch(resSecretStores, cfg.Namespace, func() runtime.Object { return &secretstore.SecretStoreList{} }),
		&secretstore.SecretStore{}, 0, cache.Indexers{},
	)
	c.cstoreInformer = cache.NewSharedIndexInformer(
		cfg.CRD.listWatch(resClusterSecretStores, "", func() runtime.Object { return &secretstore.ClusterSecretStoreList{} }),
		&secretstore.ClusterSecretStore{}, 0, cache.Indexers{},
	)
	// Only the Secrets secretsync manages are cached: a cluster with many
	// unrelated Secrets costs nothing.
	c.kubeInformers = informers.NewSharedInformerFactoryWithOptions(cfg.Kube, 0,
		informers.WithNamespace(cfg.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = reconcile.LabelManaged + "=true"
		}),
	)
	secrets := c.kubeInformers.Core().V1().Secrets()
	c.secretLister = secrets.Lister()
	// Namespaces carry the labels ClusterSecretStore conditions select on.
	c.nsInformers = informers.NewSharedInformerFactory(cfg.Kube, 0)
	if cfg.Namespace == "" {
		c.nsLister = c.nsInformers.Core().V1().Namespaces().Lister()
		c.informersSync = append(c.informersSync, c.nsInformers.Core().V1().Namespaces().Informer().HasSynced)
	}

	c.informersSync = append(c.informersSync,
		c.esInformer.HasSynced, c.storeInformer.HasSynced, c.cstoreInformer.HasSynced, secrets.Informer().HasSynced)
	// Managed fields are most of a small object and nothing here reads
	// them: do not cache them.
	cached := []cache.SharedIndexInformer{secrets.Informer()}
	if cfg.Namespace == "" {
		cached = append(cached, c.nsInformers.Core().V1().Namespaces().Informer())
	}
	for _, inf := range cached {
		if err := inf.SetTransform(stripManagedFields); err != nil {
			utilruntime.HandleError(err)
		}
	}
	// kubectl apply keeps a copy of the whole object in an annotation, a
	// second copy the controller never reads. It writes only the status of
	// these, which leaves the annotation alone.
	for _, inf := range []cache.SharedIndexInformer{c.esInformer, c.storeInformer, c.cstoreInformer} {
		if err := inf.SetTransform(stripForStatusWrites); err != nil {
			utilruntime.HandleError(err)
		}
	}

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
			DeleteFunc: func(obj any) { c.storeChanged(obj, true) },
		})
	}

	c.broadcast = record.NewBroadcaster()
	c.recorder = c.broadcast.NewRecorder(scheme, corev1.EventSource{Component: "secretsync"})
	c.clients = newClientCache(cfg.Registry, &kubeCredentials{kube: cfg.Kube}, cfg.Metrics)
	return c
}

// stripManagedFields drops managedFields from objects before they are
// cached. An update sent without them keeps the server's.
// stripForStatusWrites is stripManagedFields, and drops kubectl's
// last-applied-configuration annotation, for objects the controller writes
// only the status subresource of.
func stripForStatusWrites(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		if a := m.GetAnnotations(); a != nil {
			if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
				a = maps.Clone(a)
				delete(a, corev1.LastAppliedConfigAnnotation)
				m.SetAnnotations(a)
			}
		}
	}
	return obj, nil
}

func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

func indexByStore(obj any) ([]string, error) {
	es, ok := obj.(*externalsecret.ExternalSecret)
	if !ok {
		return nil, nil
	}
	var keys []string
	for _, ref := range reconcile.StoreRefs(es) {
		keys = append(keys, storeIndexKey(ref, es.Namespace))
	}
	return keys, nil
}

func storeIndexKey(ref externalsecret.SecretStoreRef, namespace string) string {
	if ref.StoreKind() == externalsecret.KindClusterSecretStore {
		namespace = ""
	}
	return ref.StoreKind() + "/" + namespace + "/" + ref.Name
}

// indexByRemoteKey indexes ExternalSecrets by each remote key they read,
// so a rotation one of them notices reaches the others at once.
func indexByRemoteKey(obj any) ([]string, error) {
	es, ok := obj.(*externalsecret.ExternalSecret)
	if !ok {
		return nil, nil
	}
	var keys []string
	for _, d := range es.Spec.Data {
		ref := es.Spec.SecretStoreRef
		if d.SourceRef != nil && d.SourceRef.SecretStoreRef.Name != "" {
			ref = d.SourceRef.SecretStoreRef
		}
		keys = append(keys, storeIndexKey(ref, es.Namespace)+"|"+d.RemoteRef.Key)
	}
	for _, d := range es.Spec.DataFrom {
		if d.Extract == nil {
			continue
		}
		ref := es.Spec.SecretStoreRef
		if d.SourceRef != nil && d.SourceRef.SecretStoreRef != nil {
			ref = *d.SourceRef.SecretStoreRef
		}
		keys = append(keys, storeIndexKey(ref, es.Namespace)+"|"+d.Extract.Key)
	}
	return keys, nil
}

// remoteChanged refreshes every ExternalSecret that reads a remote secret
// whose value a read found changed; they get the new value from the read
// cache, without another provider call.
func (c *Controller) remoteChanged(store string, ref provider.Ref, reader string) {
	storeIdx, _, _ := strings.Cut(store, "#")
	ess, err := c.esInformer.GetIndexer().ByIndex(byRemoteKey, storeIdx+"|"+ref.Key)
	if err != nil {
		return
	}
	for _, obj := range ess {
		es := obj.(*externalsecret.ExternalSecret)
		name := cache.ObjectName{Namespace: es.Namespace, Name: es.Name}
		if name.String() == reader {
			continue // it has the new value already
		}
		c.mu.Lock()
		delete(c.lastRead, name)
		c.mu.Unlock()
		c.refreshNow(name)
	}
}

// refreshNow makes the next look at an ExternalSecret read its values.
func (c *Controller) refreshNow(name cache.ObjectName) {
	c.mu.Lock()
	c.forceRead[name] = true
	c.mu.Unlock()
	c.queue.Add(name)
}

// readCacheID identifies a store and the version of its spec for the read
// cache: "Kind/namespace/name#uid#generation".
func readCacheID(store secretstore.GenericStore) string {
	ref := externalsecret.SecretStoreRef{Kind: store.Kind(), Name: store.GetName()}
	return fmt.Sprintf("%s#%s#%d", storeIndexKey(ref, store.GetNamespace()), store.GetUID(), store.GetGeneration())
}

func indexByTarget(obj any) ([]string, error) {
	es, ok := obj.(*externalsecret.ExternalSecret)
	if !ok {
		return nil, nil
	}
	return []string{es.Namespace + "/" + es.TargetName()}, nil
}

// Run starts the informers and workers and blocks until ctx is done.
func (c *Controller) Run(ctx context.Context) error {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	defer c.firstQueue.ShutDown()
	defer c.statusQueue.ShutDown()
	defer c.storeQueue.ShutDown()
	logger := klog.FromContext(ctx)

	c.broadcast.StartStructuredLogging(3)
	c.broadcast.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.kube.CoreV1().Events("")})
	defer c.broadcast.Shutdown()

	go c.esInformer.Run(ctx.Done())
	go c.storeInformer.Run(ctx.Done())
	go c.cstoreInformer.Run(ctx.Done())
	c.kubeInformers.Start(ctx.Done())
	c.nsInformers.Start(ctx.Done())
	defer c.kubeInformers.Shutdown()
	defer c.nsInformers.Shutdown()

	logger.Info("Waiting for informer caches to sync")
	if !cache.WaitForCacheSync(ctx.Done(), c.informersSync...) {
		return errors.New("informer caches did not sync")
	}
	c.metrics.setReady(true)
	defer c.metrics.setReady(false)

	logger.Info("Starting workers", "refresh", c.cfg.Workers, "firstSync", c.cfg.FirstSyncWorkers, "status", c.cfg.StatusWorkers)
	var wg sync.WaitGroup
	for q, n := range map[workqueue.TypedRateLimitingInterface[cache.ObjectName]]int{c.queue: c.cfg.Workers, c.firstQueue: c.cfg.FirstSyncWorkers} {
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				wait.UntilWithContext(ctx, func(ctx context.Context) {
					for c.processNext(ctx, q) {
					}
				}, time.Second)
			}()
		}
	}
	for i := 0; i < c.cfg.StatusWorkers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, func(ctx context.Context) {
				for c.processStatus(ctx) {
				}
			}, time.Second)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		wait.UntilWithContext(ctx, c.runStoreWorker, time.Second)
	}()
	<-ctx.Done()
	logger.Info("Shutting down workers")
	c.queue.ShutDown()
	c.firstQueue.ShutDown()
	c.statusQueue.ShutDown()
	c.storeQueue.ShutDown()
	wg.Wait()
	c.clients.closeAll(context.WithoutCancel(ctx))
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
	if es, ok := obj.(*externalsecret.ExternalSecret); ok && es.Status.SyncedResourceVersion != es.SyncVersion() {
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
	c.mu.Lock()
	delete(c.lastRead, name)
	delete(c.written, name)
	delete(c.forceRead, name)
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
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	ess, err := c.esInformer.GetIndexer().ByIndex(byTarget, s.Namespace+"/"+s.Name)
	if err != nil {
		return
	}
	for _, es := range ess {
		c.enqueue(es)
	}
}

// storeChanged requeues the ExternalSecrets that use a store, and the
// store's own validation. With reread, they read their values again now
// rather than at their next refresh.
func (c *Controller) storeChanged(obj any, reread bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	store, ok := obj.(secretstore.GenericStore)
	if !ok {
		return
	}
	key := storeKey{Kind: store.Kind(), Namespace: store.GetNamespace(), Name: store.GetName()}
	c.storeQueue.Add(key)
	ess, err := c.esInformer.GetIndexer().ByIndex(byStore, key.Kind+"/"+key.Namespace+"/"+key.Name)
	if err != nil {
		return
	}
	for _, obj := range ess {
		if !reread {
			c.enqueue(obj)
			continue
		}
		es := obj.(*externalsecret.ExternalSecret)
		c.refreshNow(cache.ObjectName{Namespace: es.Namespace, Name: es.Name})
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

	start := c.now()
	requeue, err := c.sync(ctx, name, queue == c.firstQueue)
	c.metrics.observeReconcile(c.now().Sub(start), err)
	switch {
	case err != nil:
		logger.V(2).Info("Sync failed; retrying with backoff", "err", err)
		queue.AddRateLimited(name)
	default:
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
	if err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	es := obj.(*externalsecret.ExternalSecret)
	if c.cacheBehind(name, es) || c.statusPending(name, es) {
		return 0, nil
	}

	// An ExternalSecret whose store belongs to another controller class is
	// that controller's business: leave it, status and all.
	main, storeErr := c.lookupStore(es.Spec.SecretStoreRef, es.Namespace)
	if storeErr == nil && main.StoreSpec().Controller != c.cfg.Store.ControllerClass {
		return 0, nil
	}

	existing, err := c.existingSecret(ctx, es)
	if err != nil {
		return 0, err
	}
	now := c.now()
	c.mu.Lock()
	lastRead, force := c.lastRead[name], c.forceRead[name]
	delete(c.forceRead, name)
	c.mu.Unlock()
	due, wait := reconcile.Due(es, existing, lastRead, now)
	if !due && !force {
		return wait, nil
	}

	in := reconcile.Input{ExternalSecret: es, Existing: existing}
	if storeErr == nil {
		storeErr = c.checkStore(main, es.Namespace)
	}
	if storeErr != nil && es.Spec.SecretStoreRef.Name != "" {
		in.StoreErr = storeErr
	} else {
		fetchCtx, cancel := context.WithTimeout(ctx, c.cfg.FetchTimeout)
		in.Fetched = reconcile.Fetch(fetchCtx, es, &esClients{c: c, es: es})
		cancel()
		if in.ConfigMaps, in.Secrets, err = c.templateSources(ctx, es); err != nil {
			in.Fetched, in.StoreErr = nil, err
		}
		c.mu.Lock()
		c.lastRead[name] = now
		c.mu.Unlock()
	}
	in.Now = c.now()
	out := reconcile.Reconcile(in)

	if err := c.apply(ctx, es, in, &out); err != nil {
		return 0, err
	}
	for _, e := range out.Events {
		c.recorder.Event(es, e.Type, e.Reason, e.Message)
	}
	switch {
	case out.StatusChanged && first && out.Err == nil && c.firstQueue.Len() > 0:
		// More first syncs wait: their Secrets, which workloads wait
		// for, go before this status.
		c.mu.Lock()
		c.pending[name] = pendingStatus{resourceVersion: es.ResourceVersion, status: out.Status}
		c.mu.Unlock()
		c.statusQueue.Add(name)
	case out.StatusChanged:
		updated := es.DeepCopy()
		updated.Status = out.Status
		if err := c.crd.updateStatus(ctx, resExternalSecrets, es.Namespace, es.Name, updated, FieldManager); err != nil {
			return 0, fmt.Errorf("update status: %w", err)
		}
		if updated.ResourceVersion != es.ResourceVersion {
			c.mu.Lock()
			c.written[name] = es.ResourceVersion
			c.mu.Unlock()
		}
	}
	c.metrics.observeSync(out)
	if out.Err != nil {
		return 0, out.Err
	}
	return out.RequeueAfter, nil
}

// cacheBehind reports whether the cache still shows es as it was before
// this controller's last status write, so acting on it would repeat work.
func (c *Controller) cacheBehind(name cache.ObjectName, es *externalsecret.ExternalSecret) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	rv, ok := c.written[name]
	if !ok {
		return false
	}
	if rv == es.ResourceVersion {
		return true
	}
	delete(c.written, name)
	return false
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
	drop := func() {
		c.mu.Lock()
		delete(c.pending, name)
		c.mu.Unlock()
		c.firstQueue.Add(name)
	}
	if !exists || obj.(*externalsecret.ExternalSecret).ResourceVersion != p.resourceVersion {
		drop()
		return nil
	}
	es := obj.(*externalsecret.ExternalSecret)
	updated := es.DeepCopy()
	updated.Status = p.status
	if err := c.crd.updateStatus(ctx, resExternalSecrets, es.Namespace, es.Name, updated, FieldManager); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			drop()
			return nil
		}
		return fmt.Errorf("update status: %w", err)
	}
	c.mu.Lock()
	delete(c.pending, name)
	if updated.ResourceVersion != es.ResourceVersion {
		c.written[name] = es.ResourceVersion
	}
	c.mu.Unlock()
	return nil
}

// existingSecret returns the target Secret. Managed Secrets come from the
// cache; a Secret secretsync does not manage yet is read from the API only
// when a Merge needs it.
func (c *Controller) existingSecret(ctx context.Context, es *externalsecret.ExternalSecret) (*corev1.Secret, error) {
	s, err := c.secretLister.Secrets(es.Namespace).Get(es.TargetName())
	if err == nil {
		return s, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	if es.CreationPolicy() != externalsecret.CreatePolicyMerge {
		return nil, nil
	}
	return c.getSecret(ctx, es.Namespace, es.TargetName())
}

func (c *Controller) getSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	s, err := c.kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return s, err
}

// maxApplyAttempts bounds how often a write is retried with a fresh copy of
// the Secret after a conflict, without reading the stores again.
const maxApplyAttempts = 3

// apply carries out the decision on the Secret. When the apiserver holds a
// different Secret than the cache did (a conflict, or one that already
// exists), it reconciles again against the fresh copy with the values
// already fetched.
func (c *Controller) apply(ctx context.Context, es *externalsecret.ExternalSecret, in reconcile.Input, out *reconcile.Output) error {
	secrets := c.kube.CoreV1().Secrets(es.Namespace)
	for attempt := 1; ; attempt++ {
		var err error
		switch out.Action {
		case reconcile.ActionNone:
			return nil
		case reconcile.ActionCreate:
			_, err = secrets.Create(ctx, out.Secret, metav1.CreateOptions{FieldManager: FieldManager})
		case reconcile.ActionUpdate:
			_, err = secrets.Update(ctx, out.Secret, metav1.UpdateOptions{FieldManager: FieldManager})
		case reconcile.ActionDelete:
			uid := in.Existing.UID
			err = secrets.Delete(ctx, in.Existing.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			if apierrors.IsNotFound(err) {
				err = nil
			}
		}
		if err == nil {
			c.metrics.secretWrites.WithLabelValues(string(out.Action)).Inc()
			return nil
		}
		if !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) || attempt == maxApplyAttempts {
			return fmt.Errorf("%s Secret %s: %w", out.Action, es.TargetName(), err)
		}
		fresh, gerr := c.getSecret(ctx, es.Namespace, es.TargetName())
		if gerr != nil {
			return gerr
		}
		in.Existing = fresh
		*out = reconcile.Reconcile(in)
	}
}

func (c *Controller) templateSources(ctx context.Context, es *externalsecret.ExternalSecret) (map[string]map[string]string, map[string]map[string][]byte, error) {
	t := es.Spec.Target.Template
	if t == nil || len(t.TemplateFrom) == 0 {
		return nil, nil, nil
	}
	cms := map[string]map[string]string{}
	secrets := map[string]map[string][]byte{}
	for _, from := range t.TemplateFrom {
		if from.ConfigMap != nil {
			if _, done := cms[from.ConfigMap.Name]; !done {
				cm, err := c.kube.CoreV1().ConfigMaps(es.Namespace).Get(ctx, from.ConfigMap.Name, metav1.GetOptions{})
				if err != nil {
					return nil, nil, fmt.Errorf("templateFrom ConfigMap %s: %w", from.ConfigMap.Name, err)
				}
				cms[cm.Name] = cm.Data
			}
		}
		if from.Secret != nil {
			if _, done := secrets[from.Secret.Name]; !done {
				s, err := c.kube.CoreV1().Secrets(es.Namespace).Get(ctx, from.Secret.Name, metav1.GetOptions{})
				if err != nil {
					return nil, nil, fmt.Errorf("templateFrom Secret %s: %w", from.Secret.Name, err)
				}
				secrets[s.Name] = s.Data
			}
		}
	}
	return cms, secrets, nil
}

// lookupStore finds the store ref names from an ExternalSecret in
// namespace.
func (c *Controller) lookupStore(ref externalsecret.SecretStoreRef, namespace string) (secretstore.GenericStore, error) {
	if ref.Name == "" {
		return nil, errors.New("spec.secretStoreRef.name is not set")
	}
	var (
		obj    any
		exists bool
		err    error
	)
	switch kind := ref.StoreKind(); kind {
	case externalsecret.KindSecretStore:
		obj, exists, err = c.storeInformer.GetIndexer().GetByKey(namespace + "/" + ref.Name)
	case externalsecret.KindClusterSecretStore:
		obj, exists, err = c.cstoreInformer.GetIndexer().GetByKey(ref.Name)
	default:
		return nil, fmt.Errorf("store kind %q is not SecretStore or ClusterSecretStore", kind)
	}
	if err != nil {
		return nil, err
	}
	if !exists {
		if ref.StoreKind() == externalsecret.KindSecretStore {
			return nil, fmt.Errorf("SecretStore %q not found in namespace %s", ref.Name, namespace)
		}
		return nil, fmt.Errorf("ClusterSecretStore %q not found", ref.Name)
	}
	return obj.(secretstore.GenericStore), nil
}

// checkStore applies the class and namespace rules.
func (c *Controller) checkStore(store secretstore.GenericStore, namespace string) error {
	var ns *corev1.Namespace
	if store.Kind() == secretstore.KindClusterSecretStore {
		if c.nsLister == nil {
			ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
		} else {
			var err error
			if ns, err = c.nsLister.Get(namespace); err != nil {
				return fmt.Errorf("namespace %s: %w", namespace, err)
			}
		}
	}
	return reconcile.CheckStore(store, ns, c.cfg.Store)
}

// esClients gives Fetch the provider clients for one ExternalSecret,
// checking each store it names.
type esClients struct {
	c  *Controller
	es *externalsecret.ExternalSecret
}

func (e *esClients) Client(ctx context.Context, ref externalsecret.SecretStoreRef) (provider.Client, error) {
	store, err := e.c.lookupStore(ref, e.es.Namespace)
	if err != nil {
		return nil, err
	}
	if err := e.c.checkStore(store, e.es.Namespace); err != nil {
		return nil, err
	}
	client, err := e.c.clients.get(ctx, store)
	if err != nil {
		return nil, err
	}
	// A first sync takes a shared read at most a minute old; a refresh, one
	// younger than its refresh interval.
	window := e.es.RefreshInterval()
	if e.es.Status.SyncedResourceVersion != e.es.SyncVersion() && (window == 0 || window > firstSyncWindow) {
		window = firstSyncWindow
	}
	return e.c.reads.Client(client, readCacheID(store), e.es.Namespace+"/"+e.es.Name, window), nil
}

// firstSyncWindow is the oldest shared read a first sync takes.
const firstSyncWindow = time.Minute

func fnv32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// managedSecrets lists the Secrets in the cache, for tests and metrics.
func (c *Controller) managedSecrets() ([]*corev1.Secret, error) {
	return c.secretLister.List(labels.Everything())
}

// retryLimiter spaces the retries of failed syncs: exponential per
// ExternalSecret, capped, and jittered so that ExternalSecrets that failed
// together, as in a store outage, do not retry together. Unlike client-go's
// default it starts at seconds, not milliseconds, since a store that failed
// rarely answers a few milliseconds later, and it has no overall rate
// limit, which would make the last of many failed ExternalSecrets wait
// far longer than the cap once the store is back.
type retryLimiter struct {
	base, max time.Duration

	mu       sync.Mutex
	failures map[cache.ObjectName]int
}

func newRetryLimiter(base, max time.Duration) *retryLimiter {
	return &retryLimiter{base: base, max: max, failures: map[cache.ObjectName]int{}}
}

// When returns the wait before the next retry of item: at least half and
// at most all of base·2^(failures so far), capped at max.
func (r *retryLimiter) When(item cache.ObjectName) time.Duration {
	r.mu.Lock()
	n := r.failures[item]
	r.failures[item] = n + 1
	r.mu.Unlock()
	d := r.max
	if n < 32 {
		if exp := r.base << n; exp > 0 && exp < r.max {
			d = exp
		}
	}
	return wait.Jitter(d/2, 1)
}

func (r *retryLimiter) Forget(item cache.ObjectName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.failures, item)
}

func (r *retryLimiter) NumRequeues(item cache.ObjectName) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures[item]
}

// Package controller restarts the pods of Deployments, StatefulSets and
// DaemonSets annotated [rollout.AnnotationRestartOnSecretChange] when the
// data they read from Secrets changes, by writing [rollout.Hash] to their
// pod template's [rollout.AnnotationConfigHash]. Any Secret counts, whoever
// wrote it: secretsync, ESO or a person.
//
// The reference controller runs it with --rollout; any operator can run it
// beside its own controllers: build one with [New] and call
// [Controller.Run]. It is for workloads the operator does not own. An
// operator that builds its own workloads needs no second controller: it
// calls package rollout in the reconcile that writes them.
//
// What it holds in memory, in a cluster with many Secrets and workloads:
//
//   - Workloads: informers cannot select by annotation, so it watches every
//     Deployment, StatefulSet and DaemonSet, but keeps only a name-sized
//     stub of those not opted in. The initial list still transfers them all
//     once.
//   - Secrets: no Secret informer. It watches the metadata of Secrets, without
//     a cache, from a resourceVersion it gets with a one-item list, and drops
//     the events of Secrets no opted-in workload reads. It GETs the Secrets
//     that are read, and caches those only, keeping their data and
//     resourceVersion. Memory stays flat however many unrelated Secrets the
//     cluster holds; what grows with them is the decoding of their
//     metadata events.
//
// Opting in never rolls: the first hash is recorded in the workload's own
// annotations, which leaves the pod template alone. A later change writes
// the template, which rolls the pods once; an unchanged hash writes
// nothing. The changes of a burst shorter than the coalescing delay roll
// once, onto the last value. A paused Deployment is left alone until it is
// resumed. A required Secret or key that is missing holds the roll, since
// its pods could not start: the running pods keep running. An edit of the
// pod template that changes which Secrets or keys it reads rolls the pods
// itself, and the controller's new hash rolls them a second time.
//
// It needs list, watch and update on Deployments, StatefulSets and
// DaemonSets, get, list and watch on Secrets, and create and patch on
// Events.
package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/rollout"
)

// Config configures a [Controller]. Kube and Metadata are required; the
// zero value of every other field is a working default.
type Config struct {
	// Kube reads Secrets, watches and updates workloads, and records
	// events.
	Kube kubernetes.Interface
	// Metadata watches Secrets by their metadata alone.
	Metadata metadata.Interface
	// Namespace limits the controller to one namespace; empty means all.
	Namespace string
	// Coalesce is how long a workload waits after the first change to its
	// Secrets before it rolls, so a burst of rotations shorter than that
	// rolls it once. Zero means [DefaultCoalesce].
	Coalesce time.Duration
	// Workers is how many workloads are looked at at once. Zero means 4.
	Workers int
	// Registerer receives the counter secretsync_rollout_writes_total, of
	// writes to workloads by kind and action: record (a first hash, no
	// roll) or roll. If a counter of that name is registered already, as
	// by another Controller, the controller adds to it. Nil registers it
	// nowhere.
	Registerer prometheus.Registerer
	// QueueMetrics receives the metrics of the controller's workqueue,
	// named "rollouts". Nil records none, whatever provider
	// workqueue.SetProvider set.
	QueueMetrics workqueue.MetricsProvider
}

// DefaultCoalesce is the coalescing delay of a zero [Config.Coalesce].
const DefaultCoalesce = 2 * time.Second

// fieldManager names the controller in the managed fields of the workloads
// it writes: the name the reference controller writes Secrets under.
const fieldManager = "secretsync"

// Controller rolls opted-in workloads when the Secrets they read change;
// the package documentation says how, and what it holds in memory. Build
// one with [New].
type Controller struct {
	kube      kubernetes.Interface
	meta      metadata.Interface
	namespace string
	coalesce  time.Duration
	workers   int
	writes    *prometheus.CounterVec

	factory   informers.SharedInformerFactory
	informers map[string]cache.SharedIndexInformer // by kind
	queue     workqueue.TypedRateLimitingInterface[workloadKey]
	secrets   *secretIndex
	recorder  record.EventRecorder
	broadcast record.EventBroadcaster
	now       func() time.Time

	mu sync.Mutex
	// due holds, for a workload whose Secrets changed, when the coalescing
	// delay since the first change of the burst is over: it rolls no
	// earlier.
	due map[workloadKey]time.Time
}

// workloadKey names a Deployment, StatefulSet or DaemonSet.
type workloadKey struct {
	Kind      string
	Namespace string
	Name      string
}

func (k workloadKey) String() string { return k.Kind + "/" + k.Namespace + "/" + k.Name }

const (
	kindDeployment  = "Deployment"
	kindStatefulSet = "StatefulSet"
	kindDaemonSet   = "DaemonSet"
)

// New builds a Controller; Run starts it.
func New(cfg Config) *Controller {
	if cfg.Coalesce <= 0 {
		cfg.Coalesce = DefaultCoalesce
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	c := &Controller{
		kube:      cfg.Kube,
		meta:      cfg.Metadata,
		namespace: cfg.Namespace,
		coalesce:  cfg.Coalesce,
		workers:   cfg.Workers,
		secrets:   newSecretIndex(),
		now:       time.Now,
		due:       map[workloadKey]time.Time{},
	}
	c.writes = registerCounter(cfg.Registerer, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "secretsync_rollout_writes_total",
		Help: "Writes to workloads by kind and action: record (a first hash, no roll) or roll.",
	}, []string{"kind", "action"}))
	queueCfg := workqueue.TypedRateLimitingQueueConfig[workloadKey]{}
	if cfg.QueueMetrics != nil {
		// An unnamed queue reports to no provider, not even the global one.
		queueCfg.Name, queueCfg.MetricsProvider = "rollouts", cfg.QueueMetrics
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[workloadKey](), queueCfg)
	c.factory = informers.NewSharedInformerFactoryWithOptions(cfg.Kube, 0,
		informers.WithNamespace(cfg.Namespace), informers.WithTransform(slimWorkload))
	apps := c.factory.Apps().V1()
	c.informers = map[string]cache.SharedIndexInformer{
		kindDeployment:  apps.Deployments().Informer(),
		kindStatefulSet: apps.StatefulSets().Informer(),
		kindDaemonSet:   apps.DaemonSets().Informer(),
	}
	for _, inf := range c.informers {
		inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { c.workloadChanged(nil, obj) },
			UpdateFunc: c.workloadChanged,
			DeleteFunc: c.workloadDeleted,
		})
	}
	c.broadcast = record.NewBroadcaster()
	c.recorder = c.broadcast.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "secretsync-rollout"})
	return c
}

// registerCounter registers cv in reg, or returns the one registered
// before, so two controllers can share a registry. A nil reg registers
// nothing.
func registerCounter(reg prometheus.Registerer, cv *prometheus.CounterVec) *prometheus.CounterVec {
	if reg == nil {
		return cv
	}
	if err := reg.Register(cv); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
		utilruntime.HandleError(err)
	}
	return cv
}

// Run starts the watches and workers and blocks until ctx is done; call it
// once. It returns nil if it started, an error if ctx was done before its
// watches started and its caches synced, and an error at once if [Config]
// lacked a client.
func (c *Controller) Run(ctx context.Context) error {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	switch {
	case c.kube == nil:
		return errors.New("rollout controller: Config.Kube is nil")
	case c.meta == nil:
		return errors.New("rollout controller: Config.Metadata is nil")
	}
	logger := klog.FromContext(ctx)

	c.broadcast.StartStructuredLogging(3)
	c.broadcast.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.kube.CoreV1().Events("")})
	defer c.broadcast.Shutdown()

	// The Secret watch starts from a version taken before any Secret is
	// read, so no change falls between a read and the watch.
	rv, err := c.secretsVersion(ctx)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.watchSecrets(ctx, rv)
	}()
	c.factory.Start(ctx.Done())
	defer c.factory.Shutdown()

	logger.Info("Waiting for rollout informer caches to sync")
	var synced []cache.InformerSynced
	for _, inf := range c.informers {
		synced = append(synced, inf.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return errors.New("rollout informer caches did not sync")
	}

	logger.Info("Starting rollout workers", "workers", c.workers, "coalesce", c.coalesce)
	for i := 0; i < c.workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, func(ctx context.Context) {
				for c.processNext(ctx) {
				}
			}, time.Second)
		}()
	}
	<-ctx.Done()
	logger.Info("Shutting down rollout workers")
	c.queue.ShutDown()
	return nil
}

var secretsResource = corev1.SchemeGroupVersion.WithResource("secrets")

// secretsVersion returns the current resourceVersion of the Secrets
// collection. A one-item list costs the same in a cluster with 100,000
// Secrets as in an empty one. It retries until it succeeds or ctx is done.
func (c *Controller) secretsVersion(ctx context.Context) (string, error) {
	var rv string
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := c.meta.Resource(secretsResource).Namespace(c.namespace).List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			klog.FromContext(ctx).Info("Listing Secrets failed; retrying", "err", err)
			return false, nil
		}
		rv = list.ResourceVersion
		return true, nil
	})
	if err != nil {
		return "", fmt.Errorf("list Secrets: %w", err)
	}
	return rv, nil
}

// watchSecrets follows the metadata of Secrets from rv until ctx is done.
// When the watch cannot resume (its version is too old), it starts again
// from now and looks at every opted-in workload again, since changes in
// between went unseen.
func (c *Controller) watchSecrets(ctx context.Context, rv string) {
	logger := klog.FromContext(ctx)
	for {
		c.watchSecretsFrom(ctx, rv)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second): // no hot loop if the apiserver keeps ending it
		}
		var err error
		if rv, err = c.secretsVersion(ctx); err != nil {
			return
		}
		users := c.secrets.invalidateAll()
		logger.Info("Secret watch restarted; checking every opted-in workload", "workloads", len(users))
		for _, w := range users {
			c.queue.Add(w)
		}
	}
}

func (c *Controller) watchSecretsFrom(ctx context.Context, rv string) {
	secrets := c.meta.Resource(secretsResource).Namespace(c.namespace)
	w, err := watchtools.NewRetryWatcher(rv, &cache.ListWatch{
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) { return secrets.Watch(ctx, o) },
	})
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	defer func() {
		w.Stop()
		<-w.Done()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			if ev.Type == watch.Error {
				klog.FromContext(ctx).V(2).Info("Secret watch ended", "err", apierrors.FromObject(ev.Object))
				return
			}
			if m, ok := ev.Object.(metav1.Object); ok {
				c.secretChanged(cache.ObjectName{Namespace: m.GetNamespace(), Name: m.GetName()}, m.GetResourceVersion())
			}
		}
	}
}

// secretChanged queues the workloads that read a Secret that changed,
// each for when the coalescing delay since the first change of a burst is
// over; sync rolls none of them earlier, whatever else queues them, so
// the changes of a burst roll a workload once.
func (c *Controller) secretChanged(name cache.ObjectName, rv string) {
	users := c.secrets.invalidate(name, rv)
	if len(users) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for _, w := range users {
		if _, waiting := c.due[w]; !waiting {
			c.due[w] = now.Add(c.coalesce)
			c.queue.AddAfter(w, c.coalesce)
		}
	}
}

// coalescing reports whether a workload waits for a burst of Secret
// changes to end. Once the wait is over, it forgets the burst: a change
// after this point starts the next one.
func (c *Controller) coalescing(w workloadKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	due, ok := c.due[w]
	if !ok {
		return false
	}
	if c.now().Before(due) {
		return true
	}
	delete(c.due, w)
	return false
}

// workloadChanged keeps the index of the Secrets opted-in workloads read,
// and queues a workload when its spec or annotations changed. Status
// updates, the most frequent, are ignored.
func (c *Controller) workloadChanged(old, obj any) {
	w, ok := asWorkload(obj)
	if !ok {
		return
	}
	refs, optedIn := w.refs()
	if !optedIn {
		c.secrets.remove(w.key)
		return
	}
	names := make([]cache.ObjectName, len(refs))
	for i, r := range refs {
		names[i] = cache.ObjectName{Namespace: w.key.Namespace, Name: r.Name}
	}
	c.secrets.set(w.key, names)
	if o, ok := asWorkload(old); ok && !relevantChange(o, w) {
		return
	}
	c.queue.Add(w.key)
}

// relevantChange reports whether a workload changed in a way that may need
// a write: its spec or its annotations.
func relevantChange(old, w workload) bool {
	return old.obj.GetGeneration() != w.obj.GetGeneration() ||
		!maps.Equal(old.obj.GetAnnotations(), w.obj.GetAnnotations()) ||
		!maps.Equal(old.template.Annotations, w.template.Annotations)
}

func (c *Controller) workloadDeleted(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if w, ok := asWorkload(obj); ok {
		c.secrets.remove(w.key)
		c.queue.Forget(w.key)
		c.mu.Lock()
		delete(c.due, w.key)
		c.mu.Unlock()
	}
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)
	logger := klog.FromContext(ctx).WithValues(strings.ToLower(key.Kind), klog.KRef(key.Namespace, key.Name))
	ctx = klog.NewContext(ctx, logger)
	if err := c.sync(ctx, key); err != nil {
		logger.V(2).Info("Rollout sync failed; retrying with backoff", "err", err)
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

// sync brings one workload's hash up to date.
func (c *Controller) sync(ctx context.Context, key workloadKey) error {
	inf, ok := c.informers[key.Kind]
	if !ok {
		return nil
	}
	obj, exists, err := inf.GetIndexer().GetByKey(cache.ObjectName{Namespace: key.Namespace, Name: key.Name}.String())
	if err != nil || !exists {
		return err
	}
	w, _ := asWorkload(obj)
	refs, optedIn := w.refs()
	if !optedIn {
		return nil
	}
	if w.paused {
		klog.FromContext(ctx).V(4).Info("Deployment is paused; not rolling it")
		return nil
	}
	if c.coalescing(key) {
		return nil // queued again for when the burst is over
	}

	secrets := map[string]*corev1.Secret{}
	for _, r := range refs {
		s, err := c.secret(ctx, cache.ObjectName{Namespace: key.Namespace, Name: r.Name})
		if err != nil {
			return err
		}
		if s != nil {
			secrets[r.Name] = s
		}
	}
	if err := rollout.Check(refs, secrets); err != nil {
		// The Secret's arrival is an event that brings the workload back.
		c.recorder.Eventf(w.obj.(runtime.Object), corev1.EventTypeWarning, "SecretMissing", "Not restarting the pods, which could not start: %v", err)
		return nil
	}
	hash := rollout.Hash(refs, secrets)
	action := decideRollout(w.obj.GetAnnotations(), w.template.Annotations, hash)
	if action == rolloutNone {
		return nil
	}

	// NEVER modify objects from the store.
	updated, _ := asWorkload(w.obj.(runtime.Object).DeepCopyObject())
	setAnnotation(updated.obj, hash)
	if action == rolloutRoll {
		if updated.template.Annotations == nil {
			updated.template.Annotations = map[string]string{}
		}
		updated.template.Annotations[rollout.AnnotationConfigHash] = hash
	}
	if err := c.update(ctx, updated); err != nil {
		return fmt.Errorf("update %s: %w", key, err)
	}
	c.writes.WithLabelValues(key.Kind, string(action)).Inc()
	logger := klog.FromContext(ctx)
	if action == rolloutRoll {
		names := make([]string, len(refs))
		for i, r := range refs {
			names[i] = r.Name
		}
		logger.Info("Restarting pods: the Secrets they read changed", "secrets", names)
		c.recorder.Eventf(w.obj.(runtime.Object), corev1.EventTypeNormal, "SecretsChanged", "Restarting the pods: the Secrets they read changed (%s)", strings.Join(names, ", "))
	} else {
		logger.V(2).Info("Recorded the config hash of a workload that opted in")
	}
	return nil
}

func setAnnotation(obj metav1.Object, hash string) {
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[rollout.AnnotationConfigHash] = hash
	obj.SetAnnotations(a)
}

// rolloutAction is what a workload needs written.
type rolloutAction string

const (
	rolloutNone   rolloutAction = "none"
	rolloutRecord rolloutAction = "record"
	rolloutRoll   rolloutAction = "roll"
)

// decideRollout says what to write for a workload whose Secrets hash to
// hash, given the annotations of the workload and of its pod template.
// The template's hash is what the pods run with; before the first roll,
// the workload's own annotation holds the hash recorded when it opted in.
// Recording leaves the template, and so the pods, alone.
func decideRollout(workload, template map[string]string, hash string) rolloutAction {
	last := template[rollout.AnnotationConfigHash]
	if last == "" {
		last = workload[rollout.AnnotationConfigHash]
	}
	switch last {
	case hash:
		return rolloutNone
	case "":
		return rolloutRecord
	default:
		return rolloutRoll
	}
}

// secret returns a Secret from the cache of read Secrets, or GETs it; nil
// when it does not exist.
func (c *Controller) secret(ctx context.Context, name cache.ObjectName) (*corev1.Secret, error) {
	s, ok, epoch := c.secrets.lookup(name)
	if ok {
		return s, nil
	}
	s, err := c.kube.CoreV1().Secrets(name.Namespace).Get(ctx, name.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		s = nil
	case err != nil:
		return nil, fmt.Errorf("get Secret %s: %w", name, err)
	default:
		// Only what Hash reads, and the version the watch compares.
		s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, ResourceVersion: s.ResourceVersion}, Data: s.Data}
	}
	c.secrets.store(name, s, epoch)
	return s, nil
}

func (c *Controller) update(ctx context.Context, w workload) error {
	opts := metav1.UpdateOptions{FieldManager: fieldManager}
	var err error
	switch o := w.obj.(type) {
	case *appsv1.Deployment:
		_, err = c.kube.AppsV1().Deployments(o.Namespace).Update(ctx, o, opts)
	case *appsv1.StatefulSet:
		_, err = c.kube.AppsV1().StatefulSets(o.Namespace).Update(ctx, o, opts)
	case *appsv1.DaemonSet:
		_, err = c.kube.AppsV1().DaemonSets(o.Namespace).Update(ctx, o, opts)
	default:
		err = fmt.Errorf("unexpected workload %T", w.obj)
	}
	return err
}

// workload is a Deployment, StatefulSet or DaemonSet as the controller
// sees it; obj and template point into the object.
type workload struct {
	key      workloadKey
	obj      metav1.Object
	template *corev1.PodTemplateSpec
	paused   bool
}

func asWorkload(obj any) (workload, bool) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return workload{key: workloadKey{kindDeployment, o.Namespace, o.Name}, obj: o, template: &o.Spec.Template, paused: o.Spec.Paused}, true
	case *appsv1.StatefulSet:
		return workload{key: workloadKey{kindStatefulSet, o.Namespace, o.Name}, obj: o, template: &o.Spec.Template}, true
	case *appsv1.DaemonSet:
		return workload{key: workloadKey{kindDaemonSet, o.Namespace, o.Name}, obj: o, template: &o.Spec.Template}, true
	}
	return workload{}, false
}

// refs returns the Secrets whose changes roll the workload; optedIn is
// false when the workload has not opted in.
func (w workload) refs() (refs []rollout.Ref, optedIn bool) {
	value, ok := w.obj.GetAnnotations()[rollout.AnnotationRestartOnSecretChange]
	if !ok {
		return nil, false
	}
	return rollout.Select(rollout.SecretRefs(w.template), value)
}

// slimWorkload is the informers' transform: a workload that has not opted
// in is cached as a stub with its name and version, which is all the
// controller reads of it. An opted-in one is cached whole but for its
// managed fields: an update without them keeps those on the server.
func slimWorkload(obj any) (any, error) {
	w, ok := asWorkload(obj)
	if !ok {
		return obj, nil
	}
	if _, optedIn := w.obj.GetAnnotations()[rollout.AnnotationRestartOnSecretChange]; optedIn {
		w.obj.SetManagedFields(nil)
		return obj, nil
	}
	meta := metav1.ObjectMeta{
		Name: w.obj.GetName(), Namespace: w.obj.GetNamespace(), UID: w.obj.GetUID(),
		ResourceVersion: w.obj.GetResourceVersion(), Generation: w.obj.GetGeneration(),
	}
	switch obj.(type) {
	case *appsv1.Deployment:
		return &appsv1.Deployment{ObjectMeta: meta}, nil
	case *appsv1.StatefulSet:
		return &appsv1.StatefulSet{ObjectMeta: meta}, nil
	default:
		return &appsv1.DaemonSet{ObjectMeta: meta}, nil
	}
}

// secretIndex maps the Secrets opted-in workloads read to those workloads,
// and caches those Secrets, and only those. A Secret leaves the cache when
// an event shows it changed, or when no workload reads it any more.
type secretIndex struct {
	mu     sync.Mutex
	users  map[cache.ObjectName]map[workloadKey]bool
	reads  map[workloadKey][]cache.ObjectName
	cached map[cache.ObjectName]*corev1.Secret // nil: known not to exist
	// epoch counts invalidations, so a read that raced with one is not
	// cached.
	epoch uint64
}

func newSecretIndex() *secretIndex {
	return &secretIndex{
		users:  map[cache.ObjectName]map[workloadKey]bool{},
		reads:  map[workloadKey][]cache.ObjectName{},
		cached: map[cache.ObjectName]*corev1.Secret{},
	}
}

// set records the Secrets a workload reads.
func (x *secretIndex) set(w workloadKey, secrets []cache.ObjectName) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(w)
	if len(secrets) == 0 {
		return
	}
	x.reads[w] = secrets
	for _, s := range secrets {
		if x.users[s] == nil {
			x.users[s] = map[workloadKey]bool{}
		}
		x.users[s][w] = true
	}
}

// remove forgets a workload, and the Secrets only it read.
func (x *secretIndex) remove(w workloadKey) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(w)
}

func (x *secretIndex) removeLocked(w workloadKey) {
	for _, s := range x.reads[w] {
		delete(x.users[s], w)
		if len(x.users[s]) == 0 {
			delete(x.users, s)
			delete(x.cached, s)
		}
	}
	delete(x.reads, w)
}

// invalidate drops a Secret from the cache unless the cache holds version
// rv already, and returns the workloads that read it, sorted.
func (x *secretIndex) invalidate(s cache.ObjectName, rv string) []workloadKey {
	x.mu.Lock()
	defer x.mu.Unlock()
	users := x.users[s]
	if len(users) == 0 {
		return nil
	}
	if cached, ok := x.cached[s]; ok && cached != nil && cached.ResourceVersion == rv {
		return nil
	}
	delete(x.cached, s)
	x.epoch++
	return sortedWorkloads(users)
}

// invalidateAll empties the cache and returns every workload indexed.
func (x *secretIndex) invalidateAll() []workloadKey {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.cached = map[cache.ObjectName]*corev1.Secret{}
	x.epoch++
	all := map[workloadKey]bool{}
	for w := range x.reads {
		all[w] = true
	}
	return sortedWorkloads(all)
}

// lookup returns a cached Secret, and the epoch a read that misses must
// pass to store.
func (x *secretIndex) lookup(s cache.ObjectName) (secret *corev1.Secret, ok bool, epoch uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	secret, ok = x.cached[s]
	return secret, ok, x.epoch
}

// store caches a Secret read at epoch, unless something was invalidated
// since or no workload reads it.
func (x *secretIndex) store(s cache.ObjectName, secret *corev1.Secret, epoch uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if epoch != x.epoch || len(x.users[s]) == 0 {
		return
	}
	x.cached[s] = secret
}

func sortedWorkloads(set map[workloadKey]bool) []workloadKey {
	out := make([]workloadKey, 0, len(set))
	for w := range set {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

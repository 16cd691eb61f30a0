package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/secretstore"
)

// DefaultFieldManager names secretsync in the managed fields of what the
// engine writes.
const DefaultFieldManager = "secretsync"

// Config configures an [Engine]. Registry and Stores are required; the
// rest have working defaults.
type Config struct {
	// Kube writes Secrets and Events, requests ServiceAccount tokens, and
	// by default reads Secrets, ConfigMaps and Namespaces. Without it the
	// engine can [Engine.Plan] but not [Engine.Sync].
	Kube kubernetes.Interface
	// Registry holds the providers stores may use. Required.
	Registry *provider.Registry
	// Stores finds the stores ExternalSecrets name. Required: an informer's
	// cache, a cached controller-runtime client, or a [CRDClient].
	Stores StoreGetter
	// Secrets reads the target Secrets, typically from a cache of the
	// Secrets the engine manages (label reconcile.LabelManaged=true). A
	// Secret it does not find is read from the API when creationPolicy
	// Merge or CreateOrMerge needs it. Live reads through Kube when nil.
	Secrets SecretGetter
	// Namespaces reads the namespaces ClusterSecretStore conditions select
	// on. Live reads through Kube when nil.
	Namespaces NamespaceGetter
	// Objects reads store credentials and templateFrom sources. Live reads
	// through Kube when nil.
	Objects Objects
	// CRD writes the status of ExternalSecrets and stores
	// ([Engine.UpdateStatus], [Engine.SyncStore]). Optional for a host
	// that writes statuses itself or has none to write.
	CRD *CRDClient
	// Recorder records the events of each sync. Optional: the events are
	// also in every [Result].
	Recorder record.EventRecorder

	// AllowGenericTargets lets ExternalSecrets write a target other than
	// a Secret (spec.target.manifest): a ConfigMap or a custom resource,
	// which Kubernetes does not encrypt at rest as it may Secrets, and
	// which whoever may read it may read the values in. Off by default,
	// as in the External Secrets Operator (--unsafe-allow-generic-targets);
	// an ExternalSecret with a manifest target then fails with
	// ErrGenericTargetsOff. The engine's RBAC must allow writing the kinds.
	AllowGenericTargets bool
	// Dynamic reads and writes manifest targets. Required for Sync of
	// them.
	Dynamic dynamic.Interface
	// Mapper maps a manifest target's kind to its resource. When nil, a
	// mapper over Kube's discovery, which reads discovery again for a kind
	// it does not know.
	Mapper meta.RESTMapper
	// Generators serves data[].sourceRef.generatorRef and
	// dataFrom[].sourceRef.generatorRef; without it such entries fail.
	Generators *generator.Registry
	// GeneratorObjects reads generator resources; Config.CRD when nil.
	GeneratorObjects GeneratorGetter
	// RenewFraction is the fraction of a generated value's lifetime after
	// which it is made again: DefaultRenewFraction (2/3) when zero.
	RenewFraction float64
	// RevokeGrace is how long replaced generated values live on before
	// they are revoked, so pods still using them are not cut off mid
	// rollout: DefaultRevokeGrace when zero.
	RevokeGrace time.Duration

	// OnTarget, if set, is called with the resource of each manifest
	// target the engine syncs, so that a host can watch that resource
	// (label reconcile.LabelManaged=true) and sync again the
	// ExternalSecret of one edited by hand.
	OnTarget func(schema.GroupVersionResource)

	// ControllerClass is the class of this controller; it serves only
	// stores whose spec.controller equals it.
	ControllerClass string
	// DenyUnconditioned makes a ClusterSecretStore without conditions
	// usable from no namespace, instead of from every namespace.
	DenyUnconditioned bool
	// FieldManager names the writer in managed fields; DefaultFieldManager
	// when empty.
	FieldManager string
	// FetchTimeout bounds the reads of one sync, so a store that hangs
	// costs a worker no longer than this. 30 seconds when zero.
	FetchTimeout time.Duration
	// Requeue, if set, is called with ExternalSecrets the engine wants
	// synced now: other readers of a remote secret one of them just saw
	// change. Their next Sync reads, and takes the new value from the
	// engine's shared reads without another provider call.
	Requeue func(types.NamespacedName)
	// OnProviderCall, if set, is called after each provider call with the
	// provider's name, the operation and its error.
	OnProviderCall func(provider, operation string, err error)
	// Audit, if set, is called with a record of each call made to a store:
	// reads for ExternalSecrets and PushSecrets, and PushSecret writes.
	// See [Access].
	Audit func(Access)
	// OnSecretWrite, if set, is called after each Secret written.
	OnSecretWrite func(reconcile.Action)
	// Now returns the time; time.Now when nil.
	Now func() time.Time
}

// Engine syncs ExternalSecrets into Secrets. It keeps what makes a sync
// cheap between calls: one provider client per store (tokens reused until
// the store or its credentials change), the reads of the last refresh
// interval shared by every ExternalSecret that names the same remote key,
// and for each ExternalSecret when it last read its stores.
//
// An Engine is safe for concurrent use by many workers, as long as one
// ExternalSecret is synced by one worker at a time, as a workqueue
// ensures.
type Engine struct {
	cfg     Config
	mapper  meta.RESTMapper
	clients *clientCache
	reads   *reconcile.Cache

	mu sync.Mutex
	// state is what the engine remembers of each ExternalSecret between
	// syncs.
	state map[types.NamespacedName]*esState
	// readers indexes ExternalSecrets by the remote secrets they read, so
	// a rotation one of them sees reaches the others at once.
	readers map[remoteKey]readerSet
	// pushes is what the engine remembers of each PushSecret.
	pushes map[types.NamespacedName]*pushState
	// genLocks serialise the generations of one state Secret.
	genLocks sync.Map
}

type esState struct {
	lastRead time.Time
	// firstSeen is when the engine first planned the ExternalSecret
	// without having read it: where its refresh grid starts.
	firstSeen time.Time
	// force makes the next sync read, whatever the schedule.
	force bool
	// statusFrom is the resourceVersion an ExternalSecret had before the
	// engine last wrote its status. While the host's cache still shows
	// it, the cache is behind the write and its event is on the way.
	statusFrom string
	// secretRV and secretAt are the resourceVersion and time of the
	// Secret the engine last wrote, so a cache that does not show it yet
	// is not taken for the truth: that would create a Secret twice.
	secretRV string
	secretAt time.Time
	// keys are the remote secrets it read, for the readers index.
	keys []remoteKey
	// genNext is when its generated values are next renewed or revoked.
	genNext time.Time
	// finalized is the UID the engine added GeneratorFinalizer to.
	finalized types.UID
	// forceSeen is the force-sync annotation at the last sync, when
	// forceKnown.
	forceSeen  string
	forceKnown bool
	// changed is set by Changed: the next read takes the one fresh read
	// the readers of the changed key share, whatever the refresh interval.
	changed bool
}

// remoteKey is one remote secret: the key in a store.
type remoteKey struct {
	store StoreKey
	key   string
}

// New returns an Engine, or an error naming the missing part of cfg.
func New(cfg Config) (*Engine, error) {
	if cfg.Registry == nil {
		return nil, errors.New("engine.Config.Registry is nil: list the providers to serve with provider.NewRegistry")
	}
	if cfg.Stores == nil {
		return nil, errors.New("engine.Config.Stores is nil: give a StoreGetter, such as a CRDClient")
	}
	if cfg.Kube != nil {
		kube := Kube{cfg.Kube}
		if cfg.Secrets == nil {
			cfg.Secrets = kube
		}
		if cfg.Namespaces == nil {
			cfg.Namespaces = kube
		}
		if cfg.Objects == nil {
			cfg.Objects = kube
		}
	}
	switch {
	case cfg.AllowGenericTargets && cfg.Kube != nil && cfg.Dynamic == nil:
		return nil, errors.New("engine.Config.AllowGenericTargets needs Config.Dynamic to write the targets")
	case cfg.Secrets == nil:
		return nil, errors.New("engine.Config.Secrets is nil and there is no Kube to read Secrets with")
	case cfg.Namespaces == nil:
		return nil, errors.New("engine.Config.Namespaces is nil and there is no Kube to read Namespaces with")
	case cfg.Objects == nil:
		return nil, errors.New("engine.Config.Objects is nil and there is no Kube to read credentials with")
	}
	if cfg.FieldManager == "" {
		cfg.FieldManager = DefaultFieldManager
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OnProviderCall == nil {
		cfg.OnProviderCall = func(string, string, error) {}
	}
	if cfg.RenewFraction <= 0 || cfg.RenewFraction >= 1 {
		cfg.RenewFraction = DefaultRenewFraction
	}
	if cfg.RevokeGrace <= 0 {
		cfg.RevokeGrace = DefaultRevokeGrace
	}
	if cfg.OnSecretWrite == nil {
		cfg.OnSecretWrite = func(reconcile.Action) {}
	}
	e := &Engine{
		cfg:     cfg,
		mapper:  newMapper(cfg),
		state:   map[types.NamespacedName]*esState{},
		readers: map[remoteKey]readerSet{},
	}
	e.clients = &clientCache{
		registry: cfg.Registry,
		creds:    &credentials{objects: cfg.Objects, kube: cfg.Kube},
		observe:  cfg.OnProviderCall,
		entries:  map[types.UID]*clientEntry{},
	}
	e.reads = reconcile.NewCache(reconcile.CacheOptions{Now: cfg.Now, OnChange: e.remoteChanged, Solo: e.soleReader})
	return e, nil
}

// Request is one ExternalSecret to sync.
type Request struct {
	// ExternalSecret to sync: one from the cluster, or one the host built
	// in memory from a resource of its own. It is never modified. It needs
	// a namespace and a name; its UID seeds the refresh schedule.
	ExternalSecret *externalsecret.ExternalSecret
	// Owner, if set, is the controller of the Secret instead of the
	// ExternalSecret, with creationPolicy Owner: the host's own resource
	// (see metav1.NewControllerRef).
	Owner *metav1.OwnerReference
	// EventObject is what events are recorded on: the ExternalSecret when
	// nil. A host with a resource of its own names that resource.
	EventObject runtime.Object
	// Force reads the stores now, whatever the refresh schedule says.
	Force bool
}

// Result is what one [Engine.Sync] or [Engine.Plan] decided and did.
type Result struct {
	// Output is what reconcile.Reconcile decided: the Secret action
	// (carried out by Sync), the status (written by nobody: see
	// [Engine.UpdateStatus]), the events and RequeueAfter, the time until
	// the next scheduled read. A host returns RequeueAfter to its queue,
	// as controller-runtime's ctrl.Result{RequeueAfter: r.RequeueAfter}.
	reconcile.Output
	// Read reports whether the stores were read. When false, nothing was
	// due and Output holds only RequeueAfter.
	Read bool
	// Ignored reports that the ExternalSecret's store belongs to another
	// controller class: nothing was done or decided, status included.
	Ignored bool
}

// Sync syncs one ExternalSecret: when a read is due (or forced), it reads
// the stores through the shared reads and kept clients, decides with
// reconcile.Reconcile, and writes the Secret, retrying a conflict against
// a fresh copy without reading the stores again. It does not write the
// ExternalSecret's status: when Result.StatusChanged, a host with real
// ExternalSecrets calls [Engine.UpdateStatus], and a host with its own
// resource maps Result.Status onto it.
//
// The error is set when the Secret could not be synced; the host retries
// with backoff. It never holds a secret value. When the sync failed, the
// status in Result says why (Result.Err is the error); when the write
// itself failed, Result.Err is nil and StatusChanged false.
func (e *Engine) Sync(ctx context.Context, req Request) (Result, error) {
	if e.cfg.Kube == nil {
		return Result{}, errors.New("engine.Config.Kube is nil: this engine can Plan, not Sync")
	}
	res, in, err := e.plan(ctx, req)
	if err != nil || !res.Read {
		return res, err
	}
	var w writer = secretWriter{e, req.ExternalSecret}
	if req.ExternalSecret.GenericTarget() && in.TargetErr == nil {
		if w, err = e.objectWriter(req.ExternalSecret); err != nil {
			res.StatusChanged = false
			return res, err
		}
	}
	if err := e.apply(ctx, req, in, &res.Output, w); err != nil {
		// The status would claim a sync that did not happen: the retry
		// decides again.
		res.StatusChanged = false
		return res, err
	}
	if e.cfg.Recorder != nil {
		obj := req.EventObject
		if obj == nil {
			obj = req.ExternalSecret
		}
		for _, ev := range res.Events {
			e.cfg.Recorder.Event(obj, ev.Type, ev.Reason, ev.Message)
		}
	}
	return res, res.Err
}

// Plan is Sync without the write: it reads what is due and returns the
// decision, the Secret to write included. The offline `render` uses it.
func (e *Engine) Plan(ctx context.Context, req Request) (Result, error) {
	res, _, err := e.plan(ctx, req)
	if err == nil {
		err = res.Err
	}
	return res, err
}

func (e *Engine) plan(ctx context.Context, req Request) (Result, reconcile.Input, error) {
	es := req.ExternalSecret
	switch {
	case es == nil:
		return Result{}, reconcile.Input{}, errors.New("engine.Request.ExternalSecret is nil")
	case es.Name == "" || es.Namespace == "":
		return Result{}, reconcile.Input{}, fmt.Errorf("ExternalSecret %q in namespace %q: both a name and a namespace are required", es.Name, es.Namespace)
	}
	name := types.NamespacedName{Namespace: es.Namespace, Name: es.Name}
	if e.statusBehind(name, es) {
		return Result{}, reconcile.Input{}, nil
	}
	if es.DeletionTimestamp != nil && slices.Contains(es.Finalizers, GeneratorFinalizer) && e.cfg.Kube != nil {
		return Result{}, reconcile.Input{}, e.releaseGenerated(ctx, es)
	}

	// An ExternalSecret whose store belongs to another controller class is
	// that controller's business: leave it, status and all.
	main, storeErr := e.lookupStore(ctx, es.Spec.SecretStoreRef, es.Namespace)
	if storeErr == nil && main.StoreSpec().Controller != e.cfg.ControllerClass {
		return Result{Ignored: true}, reconcile.Input{}, nil
	}
	st := e.stateOf(name)
	var (
		existing    *corev1.Secret
		existingObj *unstructured.Unstructured
		targetErr   error
		err         error
	)
	if es.GenericTarget() {
		var gvr schema.GroupVersionResource
		if gvr, targetErr = e.targetResource(es); targetErr == nil {
			existingObj, err = e.existingObject(ctx, gvr, es)
		}
	} else {
		existing, err = e.existingSecret(ctx, st, es)
	}
	if err != nil {
		return Result{}, reconcile.Input{}, err
	}
	now := e.cfg.Now()
	fresh := e.forceSynced(st, es)
	e.mu.Lock()
	lastRead, force := st.lastRead, st.force || req.Force || fresh
	changed := st.changed
	st.force, st.changed = false, false
	// Generated values are renewed, and replaced ones revoked, when they
	// are due, whatever the refresh schedule; after a restart the engine
	// does not know when that is, and reads once to learn it.
	if usesGenerators(es) && ((!st.genNext.IsZero() && !now.Before(st.genNext)) || lastRead.IsZero()) {
		force = true
	}
	if lastRead.IsZero() {
		// Not read by this engine, as after a restart or a shard moving
		// here: the refresh grid counts from when the engine first saw
		// it, so it is read at its next place on the grid, and then on.
		if st.firstSeen.IsZero() {
			st.firstSeen = now
		}
		lastRead = st.firstSeen
	}
	e.mu.Unlock()
	// A read another ExternalSecret's rotation asks for is a refresh like
	// the scheduled one: the sync windows hold it back too.
	if force && !req.Force {
		if ok, _ := reconcile.RefreshAllowed(es, now); !ok {
			force = false
		}
	}
	due, wait := reconcile.Due(es, existing, lastRead, now)
	if es.GenericTarget() {
		due, wait = reconcile.DueObject(es, existingObj, lastRead, now)
	}
	if !due && !force {
		return Result{Output: reconcile.Output{Action: reconcile.ActionNone, Status: es.Status, RequeueAfter: wait}}, reconcile.Input{}, nil
	}

	in := reconcile.Input{ExternalSecret: es, Existing: existing, ExistingObject: existingObj, TargetErr: targetErr, Owner: req.Owner}
	if storeErr == nil {
		storeErr = e.checkStore(ctx, main, es.Namespace)
	}
	if storeErr != nil && es.Spec.SecretStoreRef.Name != "" {
		in.StoreErr = storeErr
	} else {
		fetchCtx, cancel := context.WithTimeout(ctx, e.cfg.FetchTimeout)
		e.mu.Lock()
		st.genNext = time.Time{}
		e.mu.Unlock()
		in.Fetched = reconcile.Fetch(fetchCtx, es, &clients{e: e, es: es, main: main, owner: req.Owner, fresh: fresh, changed: changed})
		cancel()
		if in.ConfigMaps, in.Secrets, err = e.templateSources(ctx, es); err != nil {
			in.Fetched, in.StoreErr = nil, err
		}
		e.mu.Lock()
		st.lastRead = now
		e.indexLocked(name, st, es)
		e.mu.Unlock()
	}
	in.Now = e.cfg.Now()
	out := reconcile.Reconcile(in)
	e.mu.Lock()
	genNext := st.genNext
	e.mu.Unlock()
	if !genNext.IsZero() {
		if wait := genNext.Sub(in.Now); out.RequeueAfter == 0 || wait < out.RequeueAfter {
			out.RequeueAfter = max(wait, time.Second)
		}
		if c := out.Status.ReadyCondition(); c != nil && c.Status == corev1.ConditionTrue {
			c.Message += "; generated values are renewed or revoked at " + genNext.UTC().Format(time.RFC3339)
			out.StatusChanged = !apiequality.Semantic.DeepEqual(es.Status, out.Status)
		}
	}
	return Result{Output: out, Read: true}, in, nil
}

// usesGenerators reports whether es has a generatorRef entry.
func usesGenerators(es *externalsecret.ExternalSecret) bool {
	for _, d := range es.Spec.Data {
		if d.SourceRef != nil && d.SourceRef.GeneratorRef != nil {
			return true
		}
	}
	for _, d := range es.Spec.DataFrom {
		if d.SourceRef != nil && d.SourceRef.GeneratorRef != nil {
			return true
		}
	}
	return false
}

// Refresh makes the next Sync of name read its stores, whatever the
// refresh schedule says: for a host that learnt the remote values changed.
func (e *Engine) Refresh(name types.NamespacedName) {
	e.mu.Lock()
	e.stateOfLocked(name).force = true
	e.mu.Unlock()
}

// Forget drops what the engine remembers of an ExternalSecret. Call it
// when the ExternalSecret is deleted.
func (e *Engine) Forget(name types.NamespacedName) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if st, ok := e.state[name]; ok {
		e.unindexLocked(name, st)
		delete(e.state, name)
	}
}

// Close closes every provider client the engine keeps, revoking the
// tokens they hold.
func (e *Engine) Close(ctx context.Context) {
	e.clients.closeAll(ctx)
}

func (e *Engine) stateOf(name types.NamespacedName) *esState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stateOfLocked(name)
}

func (e *Engine) stateOfLocked(name types.NamespacedName) *esState {
	st, ok := e.state[name]
	if !ok {
		st = &esState{}
		e.state[name] = st
	}
	return st
}

// statusBehind reports whether es, as the host's cache shows it, is the
// version from before the engine's last status write, so syncing it would
// repeat work the write's event will bring back.
func (e *Engine) statusBehind(name types.NamespacedName, es *externalsecret.ExternalSecret) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.state[name]
	if !ok || st.statusFrom == "" {
		return false
	}
	if st.statusFrom == es.ResourceVersion {
		return true
	}
	st.statusFrom = ""
	return false
}

// UpdateStatus writes status to the ExternalSecret es through Config.CRD
// and remembers that it did, so that a Sync of the version from before
// the write, which a cache still shows, does nothing.
func (e *Engine) UpdateStatus(ctx context.Context, es *externalsecret.ExternalSecret, status externalsecret.ExternalSecretStatus) error {
	if e.cfg.CRD == nil {
		return errors.New("engine.Config.CRD is nil: the engine cannot write statuses")
	}
	updated := es.DeepCopy()
	updated.Status = status
	if err := e.cfg.CRD.UpdateStatus(ctx, updated, e.cfg.FieldManager); err != nil {
		return fmt.Errorf("update status of ExternalSecret %s/%s: %w", es.Namespace, es.Name, err)
	}
	if updated.ResourceVersion != es.ResourceVersion {
		e.mu.Lock()
		e.stateOfLocked(types.NamespacedName{Namespace: es.Namespace, Name: es.Name}).statusFrom = es.ResourceVersion
		e.mu.Unlock()
	}
	return nil
}

// secretLag is how long after writing a Secret the engine distrusts a
// cache that does not show the write yet, and reads the API instead.
const secretLag = 30 * time.Second

// existingSecret returns the target Secret. It comes from Config.Secrets,
// unless that does not show the engine's own last write yet; a Secret it
// does not hold is read from the API only when a Merge needs it.
func (e *Engine) existingSecret(ctx context.Context, st *esState, es *externalsecret.ExternalSecret) (*corev1.Secret, error) {
	s, err := e.cfg.Secrets.Secret(ctx, es.Namespace, es.TargetName())
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("get Secret %s/%s: %w", es.Namespace, es.TargetName(), err)
	}
	if err != nil {
		s = nil
	}
	e.mu.Lock()
	behind := !st.secretAt.IsZero()
	if behind && ((s != nil && s.ResourceVersion == st.secretRV) || e.cfg.Now().Sub(st.secretAt) > secretLag) {
		st.secretRV, st.secretAt, behind = "", time.Time{}, false
	}
	e.mu.Unlock()
	switch {
	case behind:
		return e.getSecret(ctx, es.Namespace, es.TargetName())
	case s != nil:
		return s, nil
	case es.CreationPolicy() == externalsecret.CreatePolicyMerge, es.CreationPolicy() == externalsecret.CreatePolicyCreateOrMerge:
		return e.getSecret(ctx, es.Namespace, es.TargetName())
	}
	return nil, nil
}

// getSecret reads a Secret from the API; nil when there is none.
func (e *Engine) getSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	if e.cfg.Kube == nil {
		return nil, nil
	}
	s, err := Kube{e.cfg.Kube}.Secret(ctx, namespace, name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get Secret %s/%s: %w", namespace, name, err)
	}
	return s, nil
}

// maxApplyAttempts bounds how often a write is retried with a fresh copy of
// the Secret after a conflict, without reading the stores again.
const maxApplyAttempts = 3

// apply carries out the decision on the target. When the apiserver holds
// a different target than the cache did (a conflict, or one that already
// exists), it decides again against the fresh copy with the values
// already fetched.
func (e *Engine) apply(ctx context.Context, req Request, in reconcile.Input, out *reconcile.Output, w writer) error {
	es := req.ExternalSecret
	for attempt := 1; ; attempt++ {
		if out.Action == reconcile.ActionNone {
			return nil
		}
		rv, err := w.write(ctx, out.Action, in, *out)
		if apierrors.IsNotFound(err) && out.Action == reconcile.ActionDelete {
			err = nil
		}
		if err == nil {
			e.cfg.OnSecretWrite(out.Action)
			e.mu.Lock()
			st := e.stateOfLocked(types.NamespacedName{Namespace: es.Namespace, Name: es.Name})
			st.secretRV, st.secretAt = rv, e.cfg.Now()
			e.mu.Unlock()
			return nil
		}
		if !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) || attempt == maxApplyAttempts {
			return fmt.Errorf("%s %s %s/%s: %w", out.Action, w.kind(), es.Namespace, es.TargetName(), err)
		}
		if err := w.reread(ctx, &in); err != nil {
			return err
		}
		*out = reconcile.Reconcile(in)
	}
}

// A writer writes one kind of target.
type writer interface {
	kind() string
	// write carries out action, returning the resourceVersion written.
	write(ctx context.Context, action reconcile.Action, in reconcile.Input, out reconcile.Output) (string, error)
	// reread puts a fresh copy of the target from the API in in.
	reread(ctx context.Context, in *reconcile.Input) error
}

// secretWriter writes a target Secret.
type secretWriter struct {
	e  *Engine
	es *externalsecret.ExternalSecret
}

func (w secretWriter) kind() string { return "Secret" }

func (w secretWriter) write(ctx context.Context, action reconcile.Action, in reconcile.Input, out reconcile.Output) (string, error) {
	secrets := w.e.cfg.Kube.CoreV1().Secrets(w.es.Namespace)
	var (
		written *corev1.Secret
		err     error
	)
	switch action {
	case reconcile.ActionCreate:
		written, err = secrets.Create(ctx, out.Secret, metav1.CreateOptions{FieldManager: w.e.cfg.FieldManager})
	case reconcile.ActionUpdate:
		written, err = secrets.Update(ctx, out.Secret, metav1.UpdateOptions{FieldManager: w.e.cfg.FieldManager})
	case reconcile.ActionDelete:
		uid := in.Existing.UID
		return "", secrets.Delete(ctx, in.Existing.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	}
	if err != nil {
		return "", err
	}
	return written.ResourceVersion, nil
}

func (w secretWriter) reread(ctx context.Context, in *reconcile.Input) error {
	fresh, err := w.e.getSecret(ctx, w.es.Namespace, w.es.TargetName())
	in.Existing = fresh
	return err
}

// templateSources reads the ConfigMaps and Secrets templateFrom names, from
// the ExternalSecret's namespace.
func (e *Engine) templateSources(ctx context.Context, es *externalsecret.ExternalSecret) (map[string]map[string]string, map[string]map[string][]byte, error) {
	t := es.Spec.Target.Template
	if t == nil || len(t.TemplateFrom) == 0 {
		return nil, nil, nil
	}
	cms := map[string]map[string]string{}
	secrets := map[string]map[string][]byte{}
	for _, from := range t.TemplateFrom {
		if from.ConfigMap != nil {
			if _, done := cms[from.ConfigMap.Name]; !done {
				cm, err := e.cfg.Objects.ConfigMap(ctx, es.Namespace, from.ConfigMap.Name)
				if err != nil {
					return nil, nil, fmt.Errorf("templateFrom ConfigMap %s: %w", from.ConfigMap.Name, err)
				}
				cms[from.ConfigMap.Name] = cm.Data
			}
		}
		if from.Secret != nil {
			if _, done := secrets[from.Secret.Name]; !done {
				s, err := e.cfg.Objects.Secret(ctx, es.Namespace, from.Secret.Name)
				if err != nil {
					return nil, nil, fmt.Errorf("templateFrom Secret %s: %w", from.Secret.Name, err)
				}
				secrets[from.Secret.Name] = s.Data
			}
		}
	}
	return cms, secrets, nil
}

// checkStore applies the class and namespace rules.
func (e *Engine) checkStore(ctx context.Context, store secretstore.GenericStore, namespace string) error {
	var ns *corev1.Namespace
	if store.Kind() == secretstore.KindClusterSecretStore {
		var err error
		if ns, err = e.cfg.Namespaces.Namespace(ctx, namespace); err != nil {
			return fmt.Errorf("namespace %s: %w", namespace, err)
		}
	}
	return reconcile.CheckStore(store, ns, reconcile.StoreOptions{ControllerClass: e.cfg.ControllerClass, DenyUnconditioned: e.cfg.DenyUnconditioned})
}

// clients gives Fetch the provider clients for one ExternalSecret,
// checking each store it names, through the shared reads.
type clients struct {
	e  *Engine
	es *externalsecret.ExternalSecret
	// main is the store spec.secretStoreRef names, already looked up and
	// checked.
	main secretstore.GenericStore
	// owner is the host's resource, when the ExternalSecret is built in
	// memory.
	owner *metav1.OwnerReference
	// fresh reads from the stores, not from shared reads: force-sync.
	fresh bool
	// changed shares reads made since Changed dropped the old ones.
	changed bool
}

// Generate serves generatorRef entries: see [reconcile.Generators].
func (c *clients) Generate(ctx context.Context, entry string, ref externalsecret.GeneratorRef) (map[string][]byte, error) {
	return c.e.generated(ctx, c.es, entry, ref, c.owner)
}

// firstSyncWindow is the oldest shared read a first sync takes.
const firstSyncWindow = time.Minute

func (c *clients) Client(ctx context.Context, ref externalsecret.SecretStoreRef) (provider.Client, error) {
	store := c.main
	if store == nil || StoreKeyFor(ref, c.es.Namespace) != StoreKeyOf(store) {
		var err error
		if store, err = c.e.lookupStore(ctx, ref, c.es.Namespace); err != nil {
			return nil, err
		}
		if err := c.e.checkStore(ctx, store, c.es.Namespace); err != nil {
			return nil, err
		}
	}
	client, err := c.e.clients.get(ctx, store)
	if err != nil {
		return nil, err
	}
	// A first sync takes a shared read at most a minute old; a refresh, one
	// younger than its refresh interval.
	window := c.es.RefreshInterval()
	if c.es.Status.SyncedResourceVersion != c.es.SyncVersion() && (window == 0 || window > firstSyncWindow) {
		window = firstSyncWindow
	}
	if c.changed && window < firstSyncWindow {
		window = firstSyncWindow
	}
	if c.fresh {
		window = 0
	}
	reader := types.NamespacedName{Namespace: c.es.Namespace, Name: c.es.Name}
	client = c.e.audited(client, store, externalsecret.Kind, c.es.Namespace, c.es.Name)
	return c.e.reads.Client(client, reconcile.StoreIDOf(store), reader, window), nil
}

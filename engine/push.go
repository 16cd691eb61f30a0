package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/pushsecret"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/secretstore"
	"github.com/secretsync/secretsync/template"
)

// PushFinalizer holds a PushSecret with deletionPolicy Delete until what it
// pushed is deleted.
const PushFinalizer = "pushsecret.externalsecrets.io/finalizer"

// StoreLister is implemented by a [StoreGetter] that can list stores, for
// PushSecret's secretStoreRefs by labelSelector. [StoresFromIndexers]
// implements it.
type StoreLister interface {
	ListStores(ctx context.Context, kind, namespace string, selector labels.Selector) ([]secretstore.GenericStore, error)
}

// PushResult is what one [Engine.Push] did.
type PushResult struct {
	// Status is the new status; write it with [Engine.UpdatePushStatus]
	// when StatusChanged.
	Status        pushsecret.Status
	StatusChanged bool
	// RequeueAfter is when to push again; zero for only when something
	// changes.
	RequeueAfter time.Duration
	// Pushed and Deleted count the provider writes made.
	Pushed, Deleted int
	// Err is why the push failed, in part or whole; Status says it too.
	Err error
}

// pushState is what the engine remembers of a PushSecret between pushes.
type pushState struct {
	// synced is what the last push left pushed: newer than the status
	// until the host writes it.
	synced    map[string]map[string]pushsecret.Data
	lastPush  time.Time
	sourceRV  string
	specHash  string
	lastError bool
}

// Push pushes the values of ps's Secret to its stores, comparing each
// with the remote value first so that an unchanged value is not written:
// an unchanged refresh reads, and writes nothing. It reads the Secret
// only in ps's namespace.
//
// With deletionPolicy Delete it holds ps with [PushFinalizer] (through
// Config.CRD), and when ps is being deleted it deletes exactly what the
// status records as pushed, logging each remote key, then lets ps go.
// Changing or removing a store, or an entry, never deletes remote data.
//
// It does not write the status: the host does, when
// PushResult.StatusChanged, with [Engine.UpdatePushStatus].
func (e *Engine) Push(ctx context.Context, ps *pushsecret.PushSecret) (PushResult, error) {
	if ps.DeletionTimestamp != nil {
		return e.pushDeleted(ctx, ps)
	}
	if err := e.holdForDeletion(ctx, ps); err != nil {
		return PushResult{Status: ps.Status}, err
	}
	name := types.NamespacedName{Namespace: ps.Namespace, Name: ps.Name}
	now := e.cfg.Now()

	source, err := e.pushSource(ctx, ps)
	if err == nil && ps.Spec.Template != nil {
		source, err = renderPushTemplate(ps, source)
	}
	var rv string
	if err == nil {
		rv = source.rv
	}
	e.mu.Lock()
	st := e.pushStates()[name]
	e.mu.Unlock()
	specHash := pushSpecHash(ps)
	if err == nil && st != nil && !st.lastError && st.sourceRV == rv && st.specHash == specHash {
		if wait := st.lastPush.Add(ps.RefreshInterval()).Sub(now); ps.RefreshInterval() == 0 || wait > 0 {
			if ps.RefreshInterval() == 0 {
				wait = 0
			}
			return PushResult{Status: ps.Status, RequeueAfter: e.untilGenerated(name, now, wait)}, nil
		}
	}

	res := PushResult{}
	synced := map[string]map[string]pushsecret.Data{}
	var errs []error
	if err != nil {
		errs = append(errs, err)
	} else {
		errs = e.pushAll(ctx, ps, source.values, synced, &res)
	}
	res.Err = errors.Join(errs...)
	res.Status = pushStatus(ps, synced, res, now)
	res.StatusChanged = !apiequality.Semantic.DeepEqual(ps.Status, res.Status)
	if ps.RefreshInterval() > 0 {
		res.RequeueAfter = ps.RefreshInterval()
	}
	res.RequeueAfter = e.untilGenerated(name, now, res.RequeueAfter)
	e.mu.Lock()
	e.pushStates()[name] = &pushState{synced: synced, lastPush: now, sourceRV: rv, specHash: specHash, lastError: res.Err != nil}
	e.mu.Unlock()
	return res, res.Err
}

// untilGenerated shortens wait to when what was generated for name is
// next renewed or revoked.
func (e *Engine) untilGenerated(name types.NamespacedName, now time.Time, wait time.Duration) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.state[name]
	if !ok || st.genNext.IsZero() {
		return wait
	}
	if d := max(st.genNext.Sub(now), time.Second); wait == 0 || d < wait {
		return d
	}
	return wait
}

// ForgetPush drops what the engine remembers of a PushSecret; call it when
// the PushSecret is gone.
func (e *Engine) ForgetPush(name types.NamespacedName) {
	e.mu.Lock()
	delete(e.pushStates(), name)
	e.mu.Unlock()
}

// UpdatePushStatus writes status to ps through Config.CRD.
func (e *Engine) UpdatePushStatus(ctx context.Context, ps *pushsecret.PushSecret, status pushsecret.Status) error {
	if e.cfg.CRD == nil {
		return errors.New("engine.Config.CRD is nil: the engine cannot write statuses")
	}
	updated := ps.DeepCopy()
	updated.Status = status
	if err := e.cfg.CRD.UpdateStatus(ctx, updated, e.cfg.FieldManager); err != nil {
		return fmt.Errorf("update status of PushSecret %s/%s: %w", ps.Namespace, ps.Name, err)
	}
	return nil
}

func (e *Engine) pushStates() map[types.NamespacedName]*pushState {
	if e.pushes == nil {
		e.pushes = map[types.NamespacedName]*pushState{}
	}
	return e.pushes
}

// source is the Secret a PushSecret pushes, its values keyed as in the
// Secret.
type source struct {
	values map[string][]byte
	rv     string
}

// pushSource reads the Secret ps names, in ps's namespace only.
func (e *Engine) pushSource(ctx context.Context, ps *pushsecret.PushSecret) (source, error) {
	sel := ps.Spec.Selector
	switch {
	case sel.GeneratorRef != nil:
		values, err := e.generated(ctx, pushGeneratorOwner(ps), "selector", *sel.GeneratorRef, pushOwnerRef(ps))
		if err != nil {
			return source{}, fmt.Errorf("selector.generatorRef: %w", err)
		}
		// What was generated changes only when it is made again.
		return source{values: values, rv: "generated/" + hashOf(flatten(values))}, nil
	case sel.Secret == nil:
		return source{}, errors.New("selector.secret is not set")
	case sel.Secret.Name == "":
		return source{}, errors.New("selector.secret.selector is not supported; name the Secret with selector.secret.name")
	}
	s, err := e.cfg.Objects.Secret(ctx, ps.Namespace, sel.Secret.Name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return source{}, fmt.Errorf("Secret %s/%s does not exist", ps.Namespace, sel.Secret.Name)
		}
		return source{}, fmt.Errorf("get Secret %s/%s: %w", ps.Namespace, sel.Secret.Name, err)
	}
	return source{values: s.Data, rv: s.ResourceVersion}, nil
}

func renderPushTemplate(ps *pushsecret.PushSecret, src source) (source, error) {
	out, err := template.Render(template.Input{Template: ps.Spec.Template, Data: src.values})
	if err != nil {
		return source{}, fmt.Errorf("template: %w", err)
	}
	return source{values: out.Data, rv: src.rv}, nil
}

// pushEntry is one value bound for one store.
type pushEntry struct {
	data  pushsecret.Data
	value []byte
}

// pushAll pushes every entry to every store it names, recording in synced
// what now holds the value.
func (e *Engine) pushAll(ctx context.Context, ps *pushsecret.PushSecret, values map[string][]byte, synced map[string]map[string]pushsecret.Data, res *PushResult) []error {
	var errs []error
	entries, err := dataEntries(ps, values)
	if err != nil {
		return []error{err}
	}
	stores, err := e.pushStores(ctx, ps.Namespace, ps.Spec.SecretStoreRefs)
	if err != nil {
		errs = append(errs, err)
	}
	for _, store := range stores {
		errs = append(errs, e.pushToStore(ctx, ps, store, entries, synced, res)...)
	}
	for i, dt := range ps.Spec.DataTo {
		if dt.StoreRef == nil {
			continue
		}
		entries, err := dataToEntries(dt, values)
		if err != nil {
			errs = append(errs, fmt.Errorf("dataTo[%d]: %w", i, err))
			continue
		}
		stores, err := e.pushStores(ctx, ps.Namespace, []pushsecret.StoreRef{*dt.StoreRef})
		if err != nil {
			errs = append(errs, fmt.Errorf("dataTo[%d]: %w", i, err))
		}
		for _, store := range stores {
			errs = append(errs, e.pushToStore(ctx, ps, store, entries, synced, res)...)
		}
	}
	return errs
}

// dataEntries returns the values of spec.data.
func dataEntries(ps *pushsecret.PushSecret, values map[string][]byte) ([]pushEntry, error) {
	var out []pushEntry
	for i, d := range ps.Spec.Data {
		if d.ConversionStrategy == pushsecret.ConversionReverseUnicode {
			return nil, fmt.Errorf("data[%d]: conversionStrategy ReverseUnicode is not supported", i)
		}
		key := d.Match.SecretKey
		if key == "" {
			whole, err := wholeSecret(values)
			if err != nil {
				return nil, err
			}
			out = append(out, pushEntry{data: d, value: whole})
			continue
		}
		v, ok := values[key]
		if !ok {
			return nil, fmt.Errorf("data[%d]: the Secret has no key %s", i, key)
		}
		out = append(out, pushEntry{data: d, value: v})
	}
	return out, nil
}

// wholeSecret is a Secret pushed whole: a JSON object of its keys and
// values, as the External Secrets Operator pushes it.
func wholeSecret(values map[string][]byte) ([]byte, error) {
	m := make(map[string]string, len(values))
	for k, v := range values {
		m[k] = string(v)
	}
	return json.Marshal(m)
}

// dataToEntries returns the values dt pushes: each key it matches, renamed
// by its rewrites, to the remote secret of that name.
func dataToEntries(dt pushsecret.DataTo, values map[string][]byte) ([]pushEntry, error) {
	var re *regexp.Regexp
	if dt.Match != nil && dt.Match.RegExp != "" {
		var err error
		if re, err = regexp.Compile(dt.Match.RegExp); err != nil {
			return nil, fmt.Errorf("match.regexp: %w", err)
		}
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		if re == nil || re.MatchString(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []pushEntry
	for _, k := range keys {
		rewrites := make([]externalsecret.Rewrite, len(dt.Rewrite))
		for j, rw := range dt.Rewrite {
			rewrites[j] = externalsecret.Rewrite{Regexp: rw.Regexp, Transform: rw.Transform}
		}
		renamed, err := reconcile.Rewrite(rewrites, map[string][]byte{k: nil})
		if err != nil {
			return nil, fmt.Errorf("rewrite of key %s: %w", k, err)
		}
		var remote string
		for remote = range renamed {
		}
		out = append(out, pushEntry{
			data:  pushsecret.Data{Match: pushsecret.Match{SecretKey: k, RemoteRef: pushsecret.RemoteRef{RemoteKey: remote}}, Metadata: dt.Metadata},
			value: values[k],
		})
	}
	return out, nil
}

// pushStores resolves secretStoreRefs, by name or label selector, in
// namespace, applying the same class and namespace rules as reads.
func (e *Engine) pushStores(ctx context.Context, namespace string, refs []pushsecret.StoreRef) ([]secretstore.GenericStore, error) {
	var out []secretstore.GenericStore
	var errs []error
	for i, ref := range refs {
		kind := ref.Kind
		if kind == "" {
			kind = secretstore.KindSecretStore
		}
		var stores []secretstore.GenericStore
		switch {
		case ref.Name != "":
			store, err := e.lookupStore(ctx, externalsecret.SecretStoreRef{Name: ref.Name, Kind: kind}, namespace)
			if err != nil {
				errs = append(errs, fmt.Errorf("secretStoreRefs[%d]: %w", i, err))
				continue
			}
			stores = []secretstore.GenericStore{store}
		case ref.LabelSelector != nil:
			lister, ok := e.cfg.Stores.(StoreLister)
			if !ok {
				errs = append(errs, fmt.Errorf("secretStoreRefs[%d]: this engine's store getter cannot list stores by label", i))
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(ref.LabelSelector)
			if err != nil {
				errs = append(errs, fmt.Errorf("secretStoreRefs[%d].labelSelector: %w", i, err))
				continue
			}
			ns := namespace
			if kind == secretstore.KindClusterSecretStore {
				ns = ""
			}
			if stores, err = lister.ListStores(ctx, kind, ns, sel); err != nil {
				errs = append(errs, fmt.Errorf("secretStoreRefs[%d]: %w", i, err))
				continue
			}
		}
		for _, store := range stores {
			if store.StoreSpec().Controller != e.cfg.ControllerClass {
				continue
			}
			if err := e.checkStore(ctx, store, namespace); err != nil {
				errs = append(errs, fmt.Errorf("%s %s: %w", store.Kind(), store.GetName(), err))
				continue
			}
			if !slices.ContainsFunc(out, func(s secretstore.GenericStore) bool { return s.GetUID() == store.GetUID() }) {
				out = append(out, store)
			}
		}
	}
	return out, errors.Join(errs...)
}

// pushToStore pushes entries to store, writing only what differs.
func (e *Engine) pushToStore(ctx context.Context, ps *pushsecret.PushSecret, store secretstore.GenericStore, entries []pushEntry, synced map[string]map[string]pushsecret.Data, res *PushResult) []error {
	storeName := StoreKeyOf(store).String()
	client, err := e.clients.get(ctx, store)
	if err != nil {
		return []error{fmt.Errorf("%s: %w", storeName, err)}
	}
	pusher, ok := pusherOf(client)
	if !ok {
		return []error{fmt.Errorf("%s: provider %s: %w", storeName, providerName(store), provider.ErrPushUnsupported)}
	}
	client = e.audited(client, store, pushsecret.Kind, ps.Namespace, ps.Name)
	pusher = e.auditedPusher(pusher, client)
	var errs []error
	for _, en := range entries {
		ref := en.data.Match.RemoteRef
		what := ref.RemoteKey
		if ref.Property != "" {
			what += " property " + ref.Property
		}
		current, exists, err := remoteValue(ctx, client, ref)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: read %s: %w", storeName, what, err))
			continue
		}
		if exists && (ps.Spec.UpdatePolicy == pushsecret.UpdatePolicyIfNotExists || sameValue(current, en.value)) {
			recordPushed(synced, storeName, en.data)
			continue
		}
		p := provider.Push{RemoteKey: ref.RemoteKey, Property: ref.Property}
		if en.data.Metadata != nil {
			p.Metadata = en.data.Metadata.Raw
		}
		if err := pusher.PushSecret(ctx, en.value, p); err != nil {
			errs = append(errs, fmt.Errorf("%s: push %s: %w", storeName, what, err))
			continue
		}
		res.Pushed++
		recordPushed(synced, storeName, en.data)
	}
	return errs
}

// remoteValue reads what ref holds now.
func remoteValue(ctx context.Context, c provider.Client, ref pushsecret.RemoteRef) ([]byte, bool, error) {
	sec, err := c.GetSecret(ctx, provider.Ref{Key: ref.RemoteKey})
	if errors.Is(err, provider.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var v []byte
	if ref.Property != "" {
		v, err = sec.Property(ref.Property)
	} else {
		v, err = sec.Value()
	}
	if errors.Is(err, provider.ErrNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

// sameValue compares a remote value with the one to push: byte for byte,
// or as JSON when both are JSON objects, which stores may re-serialise.
func sameValue(remote, value []byte) bool {
	if bytes.Equal(remote, value) {
		return true
	}
	var a, b map[string]any
	if json.Unmarshal(remote, &a) != nil || json.Unmarshal(value, &b) != nil {
		return false
	}
	return apiequality.Semantic.DeepEqual(a, b)
}

func recordPushed(synced map[string]map[string]pushsecret.Data, store string, d pushsecret.Data) {
	if synced[store] == nil {
		synced[store] = map[string]pushsecret.Data{}
	}
	synced[store][syncedKey(d.Match.RemoteRef)] = d
}

// syncedKey names an entry in status.syncedPushSecrets: the remote key, as
// in the External Secrets Operator, with the property after a slash.
func syncedKey(ref pushsecret.RemoteRef) string {
	if ref.Property == "" {
		return ref.RemoteKey
	}
	return ref.RemoteKey + "/" + ref.Property
}

func pushStatus(ps *pushsecret.PushSecret, synced map[string]map[string]pushsecret.Data, res PushResult, now time.Time) pushsecret.Status {
	st := *ps.Status.DeepCopy()
	st.SyncedPushSecrets = synced
	if len(synced) == 0 {
		st.SyncedPushSecrets = nil
	}
	st.SyncedResourceVersion = pushSyncVersion(ps)
	cond := pushsecret.Condition{Type: pushsecret.ConditionReady, Status: corev1.ConditionTrue, Reason: pushsecret.ReasonSynced, Message: "PushSecret synced successfully"}
	if res.Err != nil {
		cond = pushsecret.Condition{Type: pushsecret.ConditionReady, Status: corev1.ConditionFalse, Reason: pushsecret.ReasonErrored, Message: "could not push: " + res.Err.Error()}
	}
	prev := st.ReadyCondition()
	changed := prev == nil || prev.Status != cond.Status || prev.Reason != cond.Reason || prev.Message != cond.Message
	if res.Pushed > 0 || changed || st.RefreshTime.IsZero() {
		st.RefreshTime = metav1.NewTime(now.Truncate(time.Second))
	}
	cond.LastTransitionTime = metav1.NewTime(now.Truncate(time.Second))
	if prev != nil {
		if prev.Status == cond.Status {
			cond.LastTransitionTime = prev.LastTransitionTime
		}
		*prev = cond
	} else {
		st.Conditions = append(st.Conditions, cond)
	}
	return st
}

func pushSyncVersion(ps *pushsecret.PushSecret) string {
	return fmt.Sprintf("%d", ps.Generation)
}

// pushSpecHash identifies what a PushSecret asks for: a new one pushes
// at once, whatever the refresh interval.
func pushSpecHash(ps *pushsecret.PushSecret) string {
	b, _ := json.Marshal(ps.Spec)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// pushGeneratorOwner stands for ps where the engine keeps what a generator
// made for it: the state Secret is named after ps and labelled with its UID.
func pushGeneratorOwner(ps *pushsecret.PushSecret) *externalsecret.ExternalSecret {
	return &externalsecret.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Name: ps.Name, Namespace: ps.Namespace, UID: ps.UID},
		Spec:       externalsecret.ExternalSecretSpec{RefreshInterval: ps.Spec.RefreshInterval},
	}
}

func pushOwnerRef(ps *pushsecret.PushSecret) *metav1.OwnerReference {
	return &metav1.OwnerReference{
		APIVersion: pushsecret.SchemeGroupVersion.String(), Kind: pushsecret.Kind,
		Name: ps.Name, UID: ps.UID, BlockOwnerDeletion: ptrTo(true),
	}
}

func flatten(values map[string][]byte) []byte {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	for _, k := range keys {
		b = append(b, k...)
		b = append(b, 0)
		b = append(b, values[k]...)
		b = append(b, 0)
	}
	return b
}

// holdForDeletion adds PushFinalizer to a PushSecret with deletionPolicy
// Delete, or one that pushes generated values, which are revoked when it
// goes, and removes it from one with neither.
func (e *Engine) holdForDeletion(ctx context.Context, ps *pushsecret.PushSecret) error {
	want := ps.Spec.DeletionPolicy == pushsecret.DeletionPolicyDelete || ps.Spec.Selector.GeneratorRef != nil
	return e.setFinalizer(ctx, ps, PushFinalizer, want)
}

// pushDeleted deletes what a PushSecret with deletionPolicy Delete pushed,
// as its status records it, and lets it go.
func (e *Engine) pushDeleted(ctx context.Context, ps *pushsecret.PushSecret) (PushResult, error) {
	res := PushResult{Status: ps.Status}
	if !slices.Contains(ps.Finalizers, PushFinalizer) {
		return res, nil
	}
	logger := klog.FromContext(ctx)
	// What this engine pushed last is newer than a status whose write may
	// not have reached the host's cache yet.
	pushed := ps.Status.SyncedPushSecrets
	e.mu.Lock()
	if st := e.pushStates()[types.NamespacedName{Namespace: ps.Namespace, Name: ps.Name}]; st != nil && st.synced != nil {
		pushed = st.synced
	}
	e.mu.Unlock()
	var errs []error
	if ps.Spec.DeletionPolicy == pushsecret.DeletionPolicyDelete {
		for storeName, entries := range pushed {
			key, ok := parseStoreKey(storeName)
			if !ok {
				errs = append(errs, fmt.Errorf("status names store %q, which is not Kind/name or Kind/namespace/name", storeName))
				continue
			}
			store, err := e.cfg.Stores.Store(ctx, key)
			if apierrors.IsNotFound(err) {
				logger.Info("Store of a pushed secret is gone; its remote secrets are left", "pushsecret", klog.KObj(ps), "store", storeName)
				continue
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", storeName, err))
				continue
			}
			client, err := e.clients.get(ctx, store)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", storeName, err))
				continue
			}
			pusher, ok := pusherOf(client)
			if !ok {
				errs = append(errs, fmt.Errorf("%s: %w", storeName, provider.ErrPushUnsupported))
				continue
			}
			pusher = e.auditedPusher(pusher, e.audited(client, store, pushsecret.Kind, ps.Namespace, ps.Name))
			keys := make([]string, 0, len(entries))
			for k := range entries {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				ref := entries[k].Match.RemoteRef
				if err := pusher.DeleteSecret(ctx, provider.Push{RemoteKey: ref.RemoteKey, Property: ref.Property}); err != nil {
					errs = append(errs, fmt.Errorf("%s: delete %s: %w", storeName, k, err))
					continue
				}
				res.Deleted++
				logger.Info("Deleted a pushed remote secret, as deletionPolicy Delete says", "pushsecret", klog.KObj(ps), "store", storeName, "remoteKey", ref.RemoteKey, "property", ref.Property)
			}
		}
	}
	if ps.Spec.Selector.GeneratorRef != nil {
		if err := e.RevokeGenerated(ctx, pushGeneratorOwner(ps)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		res.Err = err
		return res, err
	}
	if err := e.setFinalizer(ctx, ps, PushFinalizer, false); err != nil {
		return res, err
	}
	e.ForgetPush(types.NamespacedName{Namespace: ps.Namespace, Name: ps.Name})
	return res, nil
}

// parseStoreKey reads back StoreKey.String.
func parseStoreKey(s string) (StoreKey, bool) {
	parts := strings.Split(s, "/")
	switch {
	case len(parts) == 2 && parts[0] == secretstore.KindClusterSecretStore:
		return StoreKey{Kind: parts[0], Name: parts[1]}, true
	case len(parts) == 3 && parts[0] == secretstore.KindSecretStore:
		return StoreKey{Kind: parts[0], Namespace: parts[1], Name: parts[2]}, true
	}
	return StoreKey{}, false
}

// pusherOf returns the Pusher under a kept client, its calls observed.
func pusherOf(c provider.Client) (provider.Pusher, bool) {
	oc, ok := c.(*observedClient)
	if !ok {
		p, ok := c.(provider.Pusher)
		return p, ok
	}
	p, ok := oc.Client.(provider.Pusher)
	if !ok {
		return nil, false
	}
	return observedPusher{p: p, oc: oc}, true
}

type observedPusher struct {
	p  provider.Pusher
	oc *observedClient
}

func (o observedPusher) PushSecret(ctx context.Context, value []byte, p provider.Push) error {
	err := o.p.PushSecret(ctx, value, p)
	o.oc.observe(o.oc.provider, "PushSecret", err)
	return err
}

func (o observedPusher) DeleteSecret(ctx context.Context, p provider.Push) error {
	err := o.p.DeleteSecret(ctx, p)
	o.oc.observe(o.oc.provider, "DeleteSecret", err)
	return err
}

func providerName(store secretstore.GenericStore) string {
	name, err := secretstore.ProviderName(store.StoreSpec())
	if err != nil {
		return "unknown"
	}
	return name
}

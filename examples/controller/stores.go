package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/secretstore"
)

// clientCache keeps one provider client per store and reuses it, with any
// token it holds, until the store's spec or the credentials it read
// change.
type clientCache struct {
	registry *provider.Registry
	creds    *kubeCredentials
	metrics  *metrics

	mu      sync.Mutex
	entries map[types.UID]*cachedClient
}

type cachedClient struct {
	once       sync.Once
	generation int64
	client     provider.Client
	err        error
	// reads are the credentials the client was built from, with a hash of
	// each value, so a rotated credential is noticed.
	reads map[credRef][32]byte
}

type credRef struct {
	kind, namespace, name, key string
}

func newClientCache(reg *provider.Registry, creds *kubeCredentials, m *metrics) *clientCache {
	return &clientCache{registry: reg, creds: creds, metrics: m, entries: map[types.UID]*cachedClient{}}
}

// get returns the client for store, building it on first use.
func (cc *clientCache) get(ctx context.Context, store secretstore.GenericStore) (provider.Client, error) {
	cc.mu.Lock()
	e, ok := cc.entries[store.GetUID()]
	if ok && e.generation != store.GetGeneration() {
		delete(cc.entries, store.GetUID())
		go closeClient(context.WithoutCancel(ctx), e)
		ok = false
	}
	if !ok {
		e = &cachedClient{generation: store.GetGeneration()}
		cc.entries[store.GetUID()] = e
	}
	cc.mu.Unlock()

	e.once.Do(func() {
		p, err := cc.registry.ForStore(store)
		if err != nil {
			e.err = err
			return
		}
		if v, ok := p.(provider.SpecValidator); ok {
			if e.err = v.ValidateStore(store); e.err != nil {
				return
			}
		}
		rec := &recordingCredentials{inner: cc.creds, reads: map[credRef][32]byte{}}
		client, err := p.NewClient(ctx, store, rec)
		cc.metrics.providerCall(p.Name(), "NewClient", err)
		if err != nil {
			e.err = err
			return
		}
		e.client = &instrumentedClient{Client: client, provider: p.Name(), metrics: cc.metrics}
		e.reads = rec.snapshot()
	})
	if e.err != nil {
		// A failed build is not cached: the next use tries again.
		cc.mu.Lock()
		if cc.entries[store.GetUID()] == e {
			delete(cc.entries, store.GetUID())
		}
		cc.mu.Unlock()
	}
	return e.client, e.err
}

// refreshIfCredentialsChanged drops the client of store if a credential it
// was built from changed since.
func (cc *clientCache) refreshIfCredentialsChanged(ctx context.Context, store secretstore.GenericStore) {
	cc.mu.Lock()
	e, ok := cc.entries[store.GetUID()]
	cc.mu.Unlock()
	if !ok || e.client == nil {
		return
	}
	for ref, sum := range e.reads {
		v, err := cc.creds.read(ctx, ref)
		if err == nil && sha256.Sum256(v) == sum {
			continue
		}
		klog.FromContext(ctx).Info("Credentials of store changed; rebuilding its client", "store", secretstore.Ref(store), "credential", ref.kind+" "+ref.namespace+"/"+ref.name)
		cc.drop(ctx, store.GetUID())
		return
	}
}

func (cc *clientCache) drop(ctx context.Context, uid types.UID) {
	cc.mu.Lock()
	e, ok := cc.entries[uid]
	delete(cc.entries, uid)
	cc.mu.Unlock()
	if ok {
		closeClient(context.WithoutCancel(ctx), e)
	}
}

func (cc *clientCache) closeAll(ctx context.Context) {
	cc.mu.Lock()
	entries := cc.entries
	cc.entries = map[types.UID]*cachedClient{}
	cc.mu.Unlock()
	for _, e := range entries {
		closeClient(ctx, e)
	}
}

func closeClient(ctx context.Context, e *cachedClient) {
	ic, ok := e.client.(*instrumentedClient)
	if !ok {
		return
	}
	if closer, ok := ic.Client.(provider.Closer); ok {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := closer.Close(ctx); err != nil {
			klog.FromContext(ctx).Error(err, "Closing provider client")
		}
	}
}

// kubeCredentials reads credentials with the controller's Kubernetes
// client. The namespace rules are applied before it is called, by
// provider.SecretKey and provider.ServiceAccountToken.
type kubeCredentials struct {
	kube kubernetes.Interface
}

func (k *kubeCredentials) SecretValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	return k.read(ctx, credRef{"Secret", namespace, name, key})
}

func (k *kubeCredentials) ConfigMapValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	return k.read(ctx, credRef{"ConfigMap", namespace, name, key})
}

func (k *kubeCredentials) read(ctx context.Context, ref credRef) ([]byte, error) {
	var data map[string][]byte
	switch ref.kind {
	case "Secret":
		s, err := k.kube.CoreV1().Secrets(ref.namespace).Get(ctx, ref.name, metav1.GetOptions{})
		if err != nil {
			return nil, notFound(err)
		}
		data = s.Data
	case "ConfigMap":
		cm, err := k.kube.CoreV1().ConfigMaps(ref.namespace).Get(ctx, ref.name, metav1.GetOptions{})
		if err != nil {
			return nil, notFound(err)
		}
		data = map[string][]byte{}
		for k, v := range cm.Data {
			data[k] = []byte(v)
		}
		for k, v := range cm.BinaryData {
			data[k] = v
		}
	default:
		return nil, fmt.Errorf("cannot read a %s", ref.kind)
	}
	v, ok := data[ref.key]
	if !ok {
		return nil, fmt.Errorf("%s %s/%s has no key %q: %w", ref.kind, ref.namespace, ref.name, ref.key, provider.ErrNotFound)
	}
	return v, nil
}

func notFound(err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w: %w", provider.ErrNotFound, err)
	}
	return err
}

func (k *kubeCredentials) ServiceAccountToken(ctx context.Context, namespace, name string, audiences []string, expiration time.Duration) (string, error) {
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: audiences}}
	if expiration > 0 {
		secs := int64(expiration / time.Second)
		req.Spec.ExpirationSeconds = &secs
	}
	tr, err := k.kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, req, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return tr.Status.Token, nil
}

// ServiceAccountAnnotations reads a ServiceAccount's annotations, for auth
// that takes settings from them (IRSA's role ARN).
func (k *kubeCredentials) ServiceAccountAnnotations(ctx context.Context, namespace, name string) (map[string]string, error) {
	sa, err := k.kube.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return sa.Annotations, nil
}

// recordingCredentials remembers which credentials a client was built
// from, as hashes.
type recordingCredentials struct {
	inner *kubeCredentials
	mu    sync.Mutex
	reads map[credRef][32]byte
}

func (r *recordingCredentials) record(ref credRef, v []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads[ref] = sha256.Sum256(v)
}

func (r *recordingCredentials) snapshot() map[credRef][32]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[credRef][32]byte, len(r.reads))
	for k, v := range r.reads {
		out[k] = v
	}
	return out
}

func (r *recordingCredentials) SecretValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	v, err := r.inner.SecretValue(ctx, namespace, name, key)
	if err == nil {
		r.record(credRef{"Secret", namespace, name, key}, v)
	}
	return v, err
}

func (r *recordingCredentials) ConfigMapValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	v, err := r.inner.ConfigMapValue(ctx, namespace, name, key)
	if err == nil {
		r.record(credRef{"ConfigMap", namespace, name, key}, v)
	}
	return v, err
}

func (r *recordingCredentials) ServiceAccountAnnotations(ctx context.Context, namespace, name string) (map[string]string, error) {
	return r.inner.ServiceAccountAnnotations(ctx, namespace, name)
}

func (r *recordingCredentials) ServiceAccountToken(ctx context.Context, namespace, name string, audiences []string, expiration time.Duration) (string, error) {
	return r.inner.ServiceAccountToken(ctx, namespace, name, audiences, expiration)
}

// instrumentedClient counts provider calls by provider, operation and
// result.
type instrumentedClient struct {
	provider.Client
	provider string
	metrics  *metrics
}

func (i *instrumentedClient) GetSecret(ctx context.Context, ref provider.Ref) (provider.Secret, error) {
	s, err := i.Client.GetSecret(ctx, ref)
	i.metrics.providerCall(i.provider, "GetSecret", err)
	return s, err
}

func (i *instrumentedClient) Find(ctx context.Context, f provider.Find) (map[string][]byte, error) {
	finder, ok := i.Client.(provider.Finder)
	if !ok {
		return nil, fmt.Errorf("provider %s cannot find secrets", i.provider)
	}
	m, err := finder.Find(ctx, f)
	i.metrics.providerCall(i.provider, "Find", err)
	return m, err
}

func (i *instrumentedClient) Validate(ctx context.Context) error {
	v, ok := i.Client.(provider.Validator)
	if !ok {
		return nil
	}
	err := v.Validate(ctx)
	i.metrics.providerCall(i.provider, "Validate", err)
	return err
}

// runStoreWorker validates stores and writes their status.
func (c *Controller) runStoreWorker(ctx context.Context) {
	for {
		key, shutdown := c.storeQueue.Get()
		if shutdown {
			return
		}
		requeue, err := c.syncStore(ctx, key)
		if err != nil {
			klog.FromContext(ctx).V(2).Info("Store sync failed; retrying", "store", key, "err", err)
			c.storeQueue.AddRateLimited(key)
		} else {
			c.storeQueue.Forget(key)
			if requeue > 0 {
				c.storeQueue.AddAfter(key, requeue)
			}
		}
		c.storeQueue.Done(key)
	}
}

// defaultStoreRefresh is how often a store is validated again when its
// spec does not say.
const defaultStoreRefresh = 5 * time.Minute

func (c *Controller) syncStore(ctx context.Context, key storeKey) (time.Duration, error) {
	var (
		obj    any
		exists bool
		err    error
	)
	if key.Kind == secretstore.KindClusterSecretStore {
		obj, exists, err = c.cstoreInformer.GetIndexer().GetByKey(key.Name)
	} else {
		obj, exists, err = c.storeInformer.GetIndexer().GetByKey(key.Namespace + "/" + key.Name)
	}
	if err != nil {
		return 0, err
	}
	if !exists {
		// A deleted store's client, and the token it holds, go with it.
		c.clients.mu.Lock()
		var uids []types.UID
		for uid := range c.clients.entries {
			uids = append(uids, uid)
		}
		c.clients.mu.Unlock()
		c.dropUnknownClients(ctx, uids)
		return 0, nil
	}
	store := obj.(secretstore.GenericStore)
	if store.StoreSpec().Controller != c.cfg.Store.ControllerClass {
		return 0, nil
	}
	c.clients.refreshIfCredentialsChanged(ctx, store)

	status := secretstore.Status{Capabilities: secretstore.ReadOnly}
	cond := secretstore.Condition{Type: secretstore.ConditionReady, Status: corev1.ConditionTrue, Reason: secretstore.ReasonValid, Message: "store validated"}
	client, err := c.clients.get(ctx, store)
	if err == nil {
		if v, ok := client.(provider.Validator); ok {
			if verr := v.Validate(ctx); verr != nil {
				cond = secretstore.Condition{Type: secretstore.ConditionReady, Status: corev1.ConditionFalse, Reason: secretstore.ReasonValidationFailed, Message: "could not validate store: " + verr.Error()}
			}
		}
	} else {
		cond = secretstore.Condition{Type: secretstore.ConditionReady, Status: corev1.ConditionFalse, Reason: secretstore.ReasonInvalidProviderConfig, Message: "invalid store configuration: " + err.Error()}
	}
	old := store.StoreStatus()
	cond.LastTransitionTime = metav1.NewTime(c.now())
	if prev := old.ReadyCondition(); prev != nil && prev.Status == cond.Status {
		cond.LastTransitionTime = prev.LastTransitionTime
	}
	status.Conditions = []secretstore.Condition{cond}

	requeue := defaultStoreRefresh
	if s := store.StoreSpec().RefreshInterval; s > 0 {
		requeue = time.Duration(s) * time.Second
	}
	if prev := old.ReadyCondition(); prev != nil && old.Capabilities == status.Capabilities && len(old.Conditions) == 1 &&
		prev.Status == cond.Status && prev.Reason == cond.Reason && prev.Message == cond.Message {
		return requeue, nil
	}
	if cond.Status == corev1.ConditionTrue {
		c.recorder.Event(store, corev1.EventTypeNormal, "Valid", cond.Message)
	} else {
		c.recorder.Event(store, corev1.EventTypeWarning, cond.Reason, cond.Message)
	}
	updated := store.Copy()
	updated.SetStoreStatus(status)
	res := resSecretStores
	if key.Kind == secretstore.KindClusterSecretStore {
		res = resClusterSecretStores
	}
	if err := c.crd.updateStatus(ctx, res, key.Namespace, key.Name, updated, FieldManager); err != nil {
		return 0, fmt.Errorf("update status of %s: %w", secretstore.Ref(store), err)
	}
	return requeue, nil
}

// dropUnknownClients closes the clients of stores no longer in the cache.
func (c *Controller) dropUnknownClients(ctx context.Context, uids []types.UID) {
	live := map[types.UID]bool{}
	for _, inf := range [][]any{c.storeInformer.GetIndexer().List(), c.cstoreInformer.GetIndexer().List()} {
		for _, obj := range inf {
			if s, ok := obj.(secretstore.GenericStore); ok {
				live[s.GetUID()] = true
			}
		}
	}
	for _, uid := range uids {
		if !live[uid] {
			c.clients.drop(ctx, uid)
		}
	}
}

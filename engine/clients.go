package engine

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/secretstore"
)

// clientCache keeps one provider client per store and reuses it, with any
// token it holds, until the store's spec or the credentials it read
// change.
type clientCache struct {
	registry *provider.Registry
	creds    *credentials
	observe  func(provider, operation string, err error)

	mu      sync.Mutex
	entries map[types.UID]*clientEntry
}

type clientEntry struct {
	once       sync.Once
	generation int64
	client     provider.Client
	err        error
	// reads are the credentials the client was built from, with a hash of
	// each value, so a rotated credential is noticed.
	reads map[credRef][32]byte
}

// credRef names one credential value: a key of a Secret or ConfigMap.
type credRef struct {
	kind, namespace, name, key string
}

func (r credRef) String() string { return r.kind + " " + r.namespace + "/" + r.name }

// get returns the client for store, building it on first use. A failed
// build is not kept: the next use tries again.
func (cc *clientCache) get(ctx context.Context, store secretstore.GenericStore) (provider.Client, error) {
	uid := store.GetUID()
	cc.mu.Lock()
	e, ok := cc.entries[uid]
	if ok && e.generation != store.GetGeneration() {
		delete(cc.entries, uid)
		go cc.close(context.WithoutCancel(ctx), e)
		ok = false
	}
	if !ok {
		e = &clientEntry{generation: store.GetGeneration()}
		cc.entries[uid] = e
	}
	cc.mu.Unlock()

	e.once.Do(func() { e.client, e.reads, e.err = cc.build(ctx, store) })
	if e.err != nil {
		cc.mu.Lock()
		if cc.entries[uid] == e {
			delete(cc.entries, uid)
		}
		cc.mu.Unlock()
	}
	return e.client, e.err
}

// build makes a client for store. A provider that panics or returns
// neither a client nor an error fails the build; it never reaches the
// host.
func (cc *clientCache) build(ctx context.Context, store secretstore.GenericStore) (client provider.Client, reads map[credRef][32]byte, err error) {
	p, err := cc.registry.ForStore(store)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			client, reads, err = nil, nil, fmt.Errorf("%s: provider %s: %w", secretstore.Ref(store), p.Name(), reconcile.ErrPanic)
		}
	}()
	if v, ok := p.(provider.SpecValidator); ok {
		if err := v.ValidateStore(store); err != nil {
			return nil, nil, err
		}
	}
	rec := &recordingCredentials{inner: cc.creds, reads: map[credRef][32]byte{}}
	c, err := p.NewClient(ctx, store, rec)
	cc.observe(p.Name(), "NewClient", err)
	switch {
	case err != nil:
		return nil, nil, err
	case c == nil:
		return nil, nil, fmt.Errorf("%s: provider %s returned no client and no error", secretstore.Ref(store), p.Name())
	}
	return &observedClient{Client: c, provider: p.Name(), observe: cc.observe}, rec.snapshot(), nil
}

// credentialsChanged reports the first credential store's client was built
// from whose value changed since, or "" when none did or no client is
// kept.
func (cc *clientCache) credentialsChanged(ctx context.Context, store secretstore.GenericStore) string {
	cc.mu.Lock()
	e, ok := cc.entries[store.GetUID()]
	cc.mu.Unlock()
	if !ok || e.client == nil {
		return ""
	}
	for ref, sum := range e.reads {
		v, err := cc.creds.read(ctx, ref)
		if err != nil || sha256.Sum256(v) != sum {
			return ref.String()
		}
	}
	return ""
}

// drop closes and forgets the client of the store with uid.
func (cc *clientCache) drop(ctx context.Context, uid types.UID) {
	cc.mu.Lock()
	e, ok := cc.entries[uid]
	delete(cc.entries, uid)
	cc.mu.Unlock()
	if ok {
		cc.close(context.WithoutCancel(ctx), e)
	}
}

func (cc *clientCache) closeAll(ctx context.Context) {
	cc.mu.Lock()
	entries := cc.entries
	cc.entries = map[types.UID]*clientEntry{}
	cc.mu.Unlock()
	for _, e := range entries {
		cc.close(ctx, e)
	}
}

// close closes a client that holds resources, such as a Vault token to
// revoke. It runs on goroutines of its own, so it recovers.
func (cc *clientCache) close(ctx context.Context, e *clientEntry) {
	oc, ok := e.client.(*observedClient)
	if !ok {
		return
	}
	closer, ok := oc.Client.(provider.Closer)
	if !ok {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			klog.FromContext(ctx).Error(reconcile.ErrPanic, "Closing provider client", "provider", oc.provider)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := closer.Close(ctx)
	cc.observe(oc.provider, "Close", err)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Closing provider client", "provider", oc.provider)
	}
}

// credentials reads what stores name: Secret and ConfigMap keys through
// Objects, ServiceAccount tokens and annotations through Kube. The
// namespace rules are applied before it is called, by provider.SecretKey
// and provider.ServiceAccountToken.
type credentials struct {
	objects Objects
	kube    kubernetes.Interface
}

func (c *credentials) SecretValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	return c.read(ctx, credRef{"Secret", namespace, name, key})
}

func (c *credentials) ConfigMapValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	return c.read(ctx, credRef{"ConfigMap", namespace, name, key})
}

func (c *credentials) read(ctx context.Context, ref credRef) ([]byte, error) {
	var data map[string][]byte
	switch ref.kind {
	case "Secret":
		s, err := c.objects.Secret(ctx, ref.namespace, ref.name)
		if err != nil {
			return nil, notFound(err)
		}
		data = s.Data
	case "ConfigMap":
		cm, err := c.objects.ConfigMap(ctx, ref.namespace, ref.name)
		if err != nil {
			return nil, notFound(err)
		}
		data = make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
		for k, v := range cm.Data {
			data[k] = []byte(v)
		}
		maps.Copy(data, cm.BinaryData)
	}
	v, ok := data[ref.key]
	if !ok {
		return nil, fmt.Errorf("%s has no key %q: %w", ref, ref.key, provider.ErrNotFound)
	}
	return v, nil
}

// SecretLabels reads the labels of a Secret: a [provider.SecretLabeler].
func (c *credentials) SecretLabels(ctx context.Context, namespace, name string) (map[string]string, error) {
	s, err := c.objects.Secret(ctx, namespace, name)
	if err != nil {
		return nil, notFound(err)
	}
	return s.Labels, nil
}

func notFound(err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w: %w", provider.ErrNotFound, err)
	}
	return err
}

var errNoCluster = errors.New("the engine has no Kubernetes client (Config.Kube) to request ServiceAccount tokens or read ServiceAccounts")

func (c *credentials) ServiceAccountToken(ctx context.Context, namespace, name string, audiences []string, expiration time.Duration) (string, error) {
	if c.kube == nil {
		return "", errNoCluster
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: audiences}}
	if expiration > 0 {
		secs := int64(expiration / time.Second)
		req.Spec.ExpirationSeconds = &secs
	}
	tr, err := c.kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, req, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return tr.Status.Token, nil
}

// ServiceAccountAnnotations reads a ServiceAccount's annotations, for auth
// that takes settings from them (IRSA's role ARN).
func (c *credentials) ServiceAccountAnnotations(ctx context.Context, namespace, name string) (map[string]string, error) {
	if c.kube == nil {
		return nil, errNoCluster
	}
	sa, err := c.kube.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return sa.Annotations, nil
}

// recordingCredentials remembers which credentials a client was built
// from, as hashes.
type recordingCredentials struct {
	inner *credentials
	mu    sync.Mutex
	reads map[credRef][32]byte
}

func (r *recordingCredentials) record(ref credRef, v []byte, err error) ([]byte, error) {
	if err == nil {
		r.mu.Lock()
		r.reads[ref] = sha256.Sum256(v)
		r.mu.Unlock()
	}
	return v, err
}

func (r *recordingCredentials) snapshot() map[credRef][32]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.reads)
}

func (r *recordingCredentials) SecretValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	v, err := r.inner.SecretValue(ctx, namespace, name, key)
	return r.record(credRef{"Secret", namespace, name, key}, v, err)
}

func (r *recordingCredentials) ConfigMapValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	v, err := r.inner.ConfigMapValue(ctx, namespace, name, key)
	return r.record(credRef{"ConfigMap", namespace, name, key}, v, err)
}

func (r *recordingCredentials) ServiceAccountAnnotations(ctx context.Context, namespace, name string) (map[string]string, error) {
	return r.inner.ServiceAccountAnnotations(ctx, namespace, name)
}

func (r *recordingCredentials) ServiceAccountToken(ctx context.Context, namespace, name string, audiences []string, expiration time.Duration) (string, error) {
	return r.inner.ServiceAccountToken(ctx, namespace, name, audiences, expiration)
}

// observedClient reports each provider call by provider, operation and
// result.
type observedClient struct {
	provider.Client
	provider string
	observe  func(provider, operation string, err error)
}

func (o *observedClient) GetSecret(ctx context.Context, ref provider.Ref) (provider.Secret, error) {
	s, err := o.Client.GetSecret(ctx, ref)
	o.observe(o.provider, "GetSecret", err)
	return s, err
}

func (o *observedClient) Find(ctx context.Context, f provider.Find) (map[string][]byte, error) {
	finder, ok := o.Client.(provider.Finder)
	if !ok {
		return nil, fmt.Errorf("provider %s cannot find secrets", o.provider)
	}
	m, err := finder.Find(ctx, f)
	o.observe(o.provider, "Find", err)
	return m, err
}

func (o *observedClient) Validate(ctx context.Context) error {
	v, ok := o.Client.(provider.Validator)
	if !ok {
		return nil
	}
	err := v.Validate(ctx)
	o.observe(o.provider, "Validate", err)
	return err
}

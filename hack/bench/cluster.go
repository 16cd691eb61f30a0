//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync"
	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/kubeapply"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/secretstore"
)

// maxKeysPerStore keeps a fake store's spec well under etcd's 1.5 MB
// object limit.
const maxKeysPerStore = 1000

// cluster is one control plane laid out for a run: n ExternalSecrets, the
// i-th in namespace i/perNS, each with its own remote key "key-i", held by
// a fake store per group of consecutive keys.
type cluster struct {
	env     *testenv.Env
	kube    kubernetes.Interface // admin, no client-side rate limit
	crd     rest.Interface       // the same, for external-secrets.io
	n       int
	nsNames []string
	perNS   int // ExternalSecrets per namespace
	group   int // keys per store
	refresh time.Duration
	// profile, if set, names the file for the apiserver's CPU profile
	// of a ceiling.
	profile func(ceiling string) string

	mu     sync.Mutex
	values []value // the current value of each remote key
}

// value is a remote secret: a JSON object with three properties.
type value struct{ A, B, C string }

func (v value) json() string {
	b, _ := json.Marshal(map[string]string{"a": v.A, "b": v.B, "c": v.C})
	return string(b)
}

func newValue(k, gen int) value {
	return value{
		A: fmt.Sprintf("a-%05d-%d", k, gen),
		B: fmt.Sprintf("b-%05d-%d", k, gen),
		C: fmt.Sprintf("c-%05d-%d", k, gen),
	}
}

func newCluster(ctx context.Context, env *testenv.Env, repo string, n, namespaces int, refresh time.Duration) (*cluster, error) {
	if n%namespaces != 0 {
		return nil, fmt.Errorf("%d ExternalSecrets do not divide into %d namespaces", n, namespaces)
	}
	perNS := n / namespaces
	group := min(perNS, maxKeysPerStore)
	if perNS%group != 0 || group%10 != 0 {
		return nil, fmt.Errorf("%d ExternalSecrets per namespace do not divide into stores of %d keys, a multiple of 10", perNS, group)
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS = -1 // no client-side rate limit
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	crdCfg := rest.CopyConfig(cfg)
	crdCfg.GroupVersion = &externalsecret.SchemeGroupVersion
	crdCfg.APIPath = "/apis"
	crdCfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	crd, err := rest.RESTClientFor(crdCfg)
	if err != nil {
		return nil, err
	}
	c := &cluster{env: env, kube: kube, crd: crd, n: n, perNS: perNS, group: group, refresh: refresh, values: make([]value, n)}
	for k := range c.values {
		c.values[k] = newValue(k, 0)
	}

	a, err := kubeapply.New(env.Config)
	if err != nil {
		return nil, err
	}
	cfgDir := filepath.Join(repo, "config")
	if err := a.ApplyFiles(ctx, filepath.Join(cfgDir, "crd/bases/*.yaml"), filepath.Join(cfgDir, "manager/namespace.yaml"), filepath.Join(cfgDir, "rbac/*.yaml")); err != nil {
		return nil, err
	}
	if err := a.WaitForCRDs(ctx, externalsecret.SchemeGroupVersion, "externalsecrets", "secretstores"); err != nil {
		return nil, err
	}
	for i := range namespaces {
		name := "bench"
		if namespaces > 1 {
			name = fmt.Sprintf("bench-%03d", i)
		}
		c.nsNames = append(c.nsNames, name)
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, secretsync.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

func (c *cluster) namespace(i int) string { return c.nsNames[i/c.perNS] }
func (c *cluster) name(i int) string      { return fmt.Sprintf("es-%05d", i) }
func (c *cluster) key(k int) string       { return fmt.Sprintf("key-%05d", k) }

// store is the name of the store holding key k, in namespace(k).
func (c *cluster) store(k int) string { return fmt.Sprintf("store-%02d", k%c.perNS/c.group) }

// parallel runs fn(i) for i in [0, n) on workers goroutines and returns the
// first error.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}

// ceiling times creating n Secrets like the ones the controller writes,
// laid out like the ExternalSecrets, on workers goroutines; then deletes
// them.
func (c *cluster) ceiling(ctx context.Context, workers int) (ceilingResult, error) {
	name := func(i int) string { return fmt.Sprintf("ceiling-%d-%05d", workers, i) }
	secrets := func(i int) typedcorev1.SecretInterface { return c.kube.CoreV1().Secrets(c.namespace(i)) }
	res, err := c.timed(ctx, fmt.Sprintf("secrets-%d", workers), workers, func(ctx context.Context, i int) error {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name(i), Labels: map[string]string{"bench.secretsync.io/ceiling": "true"}},
			Data:       map[string][]byte{"value": []byte(c.values[i].json())},
		}
		_, err := secrets(i).Create(ctx, s, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return res, err
	}
	return res, parallel(ctx, c.n, 32, func(ctx context.Context, i int) error {
		return secrets(i).Delete(ctx, name(i), metav1.DeleteOptions{})
	})
}

// esCeiling times creating n ExternalSecrets, laid out and shaped like the
// ones the first sync measures, and then writing each one's status as the
// controller would, on workers goroutines with no controller running; then
// deletes them. A first sync makes both writes, and a Secret, so it can take
// no less than the three together.
func (c *cluster) esCeiling(ctx context.Context, v variant, workers int) (create, status ceilingResult, err error) {
	name := func(i int) string { return fmt.Sprintf("ceiling-%05d", i) }
	created := make([]*externalsecret.ExternalSecret, c.n)
	createOne := func(ctx context.Context, i int) error {
		es := c.externalSecret(v, i)
		es.Name = name(i)
		created[i] = &externalsecret.ExternalSecret{}
		return c.crd.Post().Namespace(es.Namespace).Resource("externalsecrets").Body(es).Do(ctx).Into(created[i])
	}
	del := func(ctx context.Context, i int) error {
		return c.crd.Delete().Namespace(c.namespace(i)).Resource("externalsecrets").Name(name(i)).Do(ctx).Error()
	}
	// The apiserver builds a custom resource's handler (schema, CEL
	// rules) on its first use; that is not what this measures.
	if err := createOne(ctx, 0); err != nil {
		return create, status, err
	}
	if err := del(ctx, 0); err != nil {
		return create, status, err
	}
	if create, err = c.timed(ctx, "externalsecrets", workers, createOne); err != nil {
		return create, status, err
	}
	status, err = c.timed(ctx, "status", workers, func(ctx context.Context, i int) error {
		es := created[i]
		now := metav1.Now()
		es.Status = externalsecret.ExternalSecretStatus{
			RefreshTime:           now,
			SyncedResourceVersion: es.SyncVersion(),
			Binding:               corev1.LocalObjectReference{Name: es.Name},
			Conditions: []externalsecret.Condition{{
				Type: externalsecret.ConditionReady, Status: corev1.ConditionTrue, Reason: externalsecret.ReasonSecretSynced,
				Message: "secret synced", LastTransitionTime: now,
			}},
		}
		return c.crd.Put().Namespace(es.Namespace).Resource("externalsecrets").Name(es.Name).SubResource("status").Body(es).Do(ctx).Error()
	})
	if err != nil {
		return create, status, err
	}
	return create, status, parallel(ctx, c.n, 32, del)
}

// timed times fn(i) for every i on workers goroutines, with the CPU each
// process used meanwhile. If c.profile is set, it also saves a CPU profile
// of the apiserver over the first profileSeconds.
func (c *cluster) timed(ctx context.Context, name string, workers int, fn func(context.Context, int) error) (ceilingResult, error) {
	profiled := make(chan error, 1)
	if c.profile != nil {
		go func() { profiled <- c.saveAPIServerProfile(ctx, c.profile(name)) }()
	} else {
		profiled <- nil
	}
	cpu := sampleCPU()
	start := time.Now()
	err := parallel(ctx, c.n, workers, fn)
	took := time.Since(start)
	if perr := <-profiled; err == nil && perr != nil {
		err = fmt.Errorf("apiserver profile: %w", perr)
	}
	res := ceilingResult{Concurrency: workers, Seconds: took.Seconds(), PerSecond: float64(c.n) / took.Seconds(), CPU: sampleCPU().since(cpu)}
	if err != nil {
		return res, fmt.Errorf("at concurrency %d: %w", workers, err)
	}
	return res, nil
}

// profileSeconds is how long an apiserver profile samples: shorter than
// any ceiling at N = 10,000, so it sees the apiserver at work throughout.
const profileSeconds = 5

// saveAPIServerProfile writes the apiserver's CPU profile over the next
// profileSeconds to path.
func (c *cluster) saveAPIServerProfile(ctx context.Context, path string) error {
	b, err := c.kube.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
		Param("seconds", strconv.Itoa(profileSeconds)).DoRaw(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// createUnrelated creates n Secrets of size bytes each that secretsync
// does not manage, spread over the namespaces.
func (c *cluster) createUnrelated(ctx context.Context, n, size int) error {
	return parallel(ctx, n, 8, func(ctx context.Context, i int) error {
		data := make([]byte, size)
		_, _ = rand.Read(data)
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%05d", i)},
			Data:       map[string][]byte{"blob": data},
		}
		_, err := c.kube.CoreV1().Secrets(c.nsNames[i%len(c.nsNames)]).Create(ctx, s, metav1.CreateOptions{})
		return err
	})
}

// storeData is the spec.provider.fake.data of the store whose first key
// is first.
func (c *cluster) storeData(first int) []secretstore.FakeProviderData {
	c.mu.Lock()
	defer c.mu.Unlock()
	data := make([]secretstore.FakeProviderData, c.group)
	for j := range data {
		data[j] = secretstore.FakeProviderData{Key: c.key(first + j), Value: c.values[first+j].json()}
	}
	return data
}

func (c *cluster) createStores(ctx context.Context) error {
	return parallel(ctx, c.n/c.group, 8, func(ctx context.Context, g int) error {
		first := g * c.group
		s := &secretstore.SecretStore{
			ObjectMeta: metav1.ObjectMeta{Name: c.store(first), Namespace: c.namespace(first)},
			Spec: secretstore.Spec{Provider: &secretstore.Provider{
				Fake: &secretstore.FakeProvider{Data: c.storeData(first)},
			}},
		}
		return c.crd.Post().Namespace(s.Namespace).Resource("secretstores").Body(s).Do(ctx).Error()
	})
}

// rotate gives keys new values, which the stores serve once
// updateStores has run.
func (c *cluster) rotate(keys []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		c.values[k] = newValue(k, 1)
	}
}

// updateStores writes the current values of keys into the stores that
// hold them.
func (c *cluster) updateStores(ctx context.Context, keys []int) error {
	seen := map[int]bool{}
	var firsts []int
	for _, k := range keys {
		if first := k / c.group * c.group; !seen[first] {
			seen[first] = true
			firsts = append(firsts, first)
		}
	}
	return parallel(ctx, len(firsts), 32, func(ctx context.Context, i int) error {
		first := firsts[i]
		patch, err := json.Marshal(map[string]any{"spec": map[string]any{"provider": map[string]any{"fake": map[string]any{"data": c.storeData(first)}}}})
		if err != nil {
			return err
		}
		return c.crd.Patch(types.MergePatchType).Namespace(c.namespace(first)).Resource("secretstores").Name(c.store(first)).Body(patch).Do(ctx).Error()
	})
}

// variant is a way for the ExternalSecrets to read their remote keys.
type variant struct {
	name string
	// remote is the key ExternalSecret i reads.
	remote func(i int) int
	// props are the properties it reads; none means the whole value, into
	// the Secret key "value".
	props []string
}

var variants = []variant{
	{name: "one key per ExternalSecret", remote: func(i int) int { return i }},
	{name: "3 properties of one remote secret", remote: func(i int) int { return i }, props: []string{"a", "b", "c"}},
	{name: "10 ExternalSecrets share each key", remote: func(i int) int { return i - i%10 }},
}

func (v variant) data(c *cluster, i int) []externalsecret.Data {
	key := c.key(v.remote(i))
	if len(v.props) == 0 {
		return []externalsecret.Data{{SecretKey: "value", RemoteRef: externalsecret.RemoteRef{Key: key}}}
	}
	var data []externalsecret.Data
	for _, p := range v.props {
		data = append(data, externalsecret.Data{SecretKey: p, RemoteRef: externalsecret.RemoteRef{Key: key, Property: p}})
	}
	return data
}

// want is the data the Secret of ExternalSecret i must hold.
func (v variant) want(c *cluster, i int) map[string]string {
	c.mu.Lock()
	val := c.values[v.remote(i)]
	c.mu.Unlock()
	if len(v.props) == 0 {
		return map[string]string{"value": val.json()}
	}
	props := map[string]string{"a": val.A, "b": val.B, "c": val.C}
	want := map[string]string{}
	for _, p := range v.props {
		want[p] = props[p]
	}
	return want
}

// distinctKeys is how many remote keys the ExternalSecrets read.
func (v variant) distinctKeys(n int) int {
	seen := map[int]bool{}
	for i := range n {
		seen[v.remote(i)] = true
	}
	return len(seen)
}

// createExternalSecrets creates the n ExternalSecrets, each registered
// with t just before its create request.
func (c *cluster) createExternalSecrets(ctx context.Context, v variant, t *tracker, workers int) error {
	return parallel(ctx, c.n, workers, func(ctx context.Context, i int) error {
		es := c.externalSecret(v, i)
		t.expect(es.Namespace, es.Name, v.want(c, i), time.Now())
		return c.crd.Post().Namespace(es.Namespace).Resource("externalsecrets").Body(es).Do(ctx).Error()
	})
}

func (c *cluster) externalSecret(v variant, i int) *externalsecret.ExternalSecret {
	return &externalsecret.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Name: c.name(i), Namespace: c.namespace(i)},
		Spec: externalsecret.ExternalSecretSpec{
			RefreshInterval: &metav1.Duration{Duration: c.refresh},
			SecretStoreRef:  externalsecret.SecretStoreRef{Name: c.store(i), Kind: externalsecret.KindSecretStore},
			Target:          externalsecret.Target{Name: c.name(i)},
			Data:            v.data(c, i),
		},
	}
}

// reset deletes the ExternalSecrets and the Secrets they made.
func (c *cluster) reset(ctx context.Context) error {
	err := parallel(ctx, c.n, 32, func(ctx context.Context, i int) error {
		err := c.crd.Delete().Namespace(c.namespace(i)).Resource("externalsecrets").Name(c.name(i)).Do(ctx).Error()
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		err = c.kube.CoreV1().Secrets(c.namespace(i)).Delete(ctx, c.name(i), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	})
	return err
}

// createWithoutController creates the ExternalSecrets for v, each
// registered with t, and returns when the first create began.
func (c *cluster) createWithoutController(ctx context.Context, v variant, t *tracker, workers int) (time.Time, error) {
	start := time.Now()
	return start, parallel(ctx, c.n, workers, func(ctx context.Context, i int) error {
		es := c.externalSecret(v, i)
		t.expect(es.Namespace, es.Name, v.want(c, i), start)
		return c.crd.Post().Namespace(es.Namespace).Resource("externalsecrets").Body(es).Do(ctx).Error()
	})
}

// switchVariant rewrites every ExternalSecret's spec.data for v.
func (c *cluster) switchVariant(ctx context.Context, v variant, t *tracker, workers int) error {
	return parallel(ctx, c.n, workers, func(ctx context.Context, i int) error {
		patch, err := json.Marshal(map[string]any{"spec": map[string]any{"data": v.data(c, i)}})
		if err != nil {
			return err
		}
		t.expect(c.namespace(i), c.name(i), v.want(c, i), time.Now())
		return c.crd.Patch(types.MergePatchType).Namespace(c.namespace(i)).Resource("externalsecrets").Name(c.name(i)).Body(patch).Do(ctx).Error()
	})
}

// unsynced counts the ExternalSecrets whose current version has not been
// synced successfully.
// waitSynced waits until every ExternalSecret's status says it is synced.
// It lists them once and then follows a watch: polling lists of N custom
// resources would cost the apiserver, and so the controller, more than
// what it measures.
func (c *cluster) waitSynced(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		var list externalsecret.ExternalSecretList
		if err := c.crd.Get().Resource("externalsecrets").Do(ctx).Into(&list); err != nil {
			return err
		}
		unsynced := map[string]bool{}
		for i := range list.Items {
			if es := &list.Items[i]; !isSynced(es) {
				unsynced[es.Namespace+"/"+es.Name] = true
			}
		}
		missing := c.n - len(list.Items)
		if len(unsynced) == 0 && missing <= 0 {
			return nil
		}
		w, err := c.crd.Get().Resource("externalsecrets").
			VersionedParams(&metav1.ListOptions{Watch: true, ResourceVersion: list.ResourceVersion}, metav1.ParameterCodec).Watch(ctx)
		if err != nil {
			return err
		}
		for ev := range w.ResultChan() {
			es, ok := ev.Object.(*externalsecret.ExternalSecret)
			if !ok {
				continue
			}
			key := es.Namespace + "/" + es.Name
			switch {
			case ev.Type == watch.Added && !unsynced[key]:
				missing--
				if !isSynced(es) {
					unsynced[key] = true
				}
			case ev.Type == watch.Deleted:
				delete(unsynced, key)
			case isSynced(es):
				delete(unsynced, key)
			default:
				unsynced[key] = true
			}
			if len(unsynced) == 0 && missing <= 0 {
				w.Stop()
				return nil
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			return fmt.Errorf("%d ExternalSecrets not synced after %v: %w", len(unsynced)+max(missing, 0), timeout, ctx.Err())
		}
		// The watch ended: list again.
	}
}

func isSynced(es *externalsecret.ExternalSecret) bool {
	cond := es.Status.ReadyCondition()
	return es.Status.SyncedResourceVersion == es.SyncVersion() && cond != nil && cond.Status == corev1.ConditionTrue
}

// apiWrites are the Secret write requests the controller made, from the
// apiserver's audit log: a first sync of N ExternalSecrets should make
// exactly N, none refused.
type apiWrites struct {
	Secrets   int `json:"secrets"`
	Conflicts int `json:"conflicts"` // answered 409: AlreadyExists or Conflict
	Throttled int `json:"throttled"` // answered 429 by priority and fairness, and retried
}

// controllerSecretWrites counts the controller's Secret writes since t.
func (c *cluster) controllerSecretWrites(since time.Time) (apiWrites, error) {
	byCode, err := c.env.CountRequestsByCode(testenv.Requests{
		Verbs: []string{"create", "update", "patch", "delete"}, Resource: "secrets", User: controllerUser, Since: since,
	})
	w := apiWrites{Conflicts: byCode[409], Throttled: byCode[429]}
	for _, n := range byCode {
		w.Secrets += n
	}
	return w, err
}

func (c *cluster) unsynced(ctx context.Context) (int, error) {
	var list externalsecret.ExternalSecretList
	if err := c.crd.Get().Resource("externalsecrets").Do(ctx).Into(&list); err != nil {
		return 0, err
	}
	n := c.n - len(list.Items)
	for i := range list.Items {
		if !isSynced(&list.Items[i]) {
			n++
		}
	}
	return n, nil
}

// events counts the Events about ExternalSecrets in the cluster. The
// controller sends them through the same client, and so the same rate
// limit, as its Secret writes.
func (c *cluster) events(ctx context.Context) (int, error) {
	list, err := c.kube.CoreV1().Events("").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=ExternalSecret"})
	if err != nil {
		return 0, err
	}
	return len(list.Items), nil
}

package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/secretstore"
)

const canary = "canary-engine-91c2"

func testStore(name string) *secretstore.SecretStore {
	return &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "app", UID: types.UID("uid-" + name), Generation: 1},
		Spec:       secretstore.Spec{Provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{}}},
	}
}

func storesOf(stores ...secretstore.GenericStore) StoreGetter {
	return StoreGetterFunc(func(_ context.Context, key StoreKey) (secretstore.GenericStore, error) {
		for _, s := range stores {
			if StoreKeyOf(s) == key {
				return s, nil
			}
		}
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secretstores"}, key.Name)
	})
}

func testES(name, store string, keys ...string) *externalsecret.ExternalSecret {
	es := &externalsecret.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "app", UID: types.UID("uid-" + name), Generation: 1, ResourceVersion: "1"},
		Spec: externalsecret.ExternalSecretSpec{
			SecretStoreRef:  externalsecret.SecretStoreRef{Name: store},
			RefreshInterval: &metav1.Duration{Duration: time.Hour},
		},
	}
	for _, k := range keys {
		es.Spec.Data = append(es.Spec.Data, externalsecret.Data{SecretKey: k, RemoteRef: externalsecret.RemoteRef{Key: k}})
	}
	return es
}

// panicProvider and nilProvider are the fake provider gone wrong.
type panicProvider struct{ *fake.Provider }

func (panicProvider) NewClient(context.Context, secretstore.GenericStore, provider.Credentials) (provider.Client, error) {
	panic("boom " + canary)
}

type nilProvider struct{ *fake.Provider }

func (nilProvider) NewClient(context.Context, secretstore.GenericStore, provider.Credentials) (provider.Client, error) {
	return nil, nil
}

type panicReads struct{ *fake.Provider }

type panicClient struct{}

func (panicClient) GetSecret(context.Context, provider.Ref) (provider.Secret, error) {
	panic("boom " + canary)
}

func (panicReads) NewClient(context.Context, secretstore.GenericStore, provider.Credentials) (provider.Client, error) {
	return panicClient{}, nil
}

func TestSyncSurvivesBrokenProviders(t *testing.T) {
	tests := map[string]struct {
		provider provider.Provider
		want     string
	}{
		"NewClient panics":           {provider: panicProvider{fake.New()}, want: "panicked"},
		"NewClient returns nil, nil": {provider: nilProvider{fake.New()}, want: "returned no client and no error"},
		"GetSecret panics":           {provider: panicReads{fake.New()}, want: "panicked"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			kube := kubefake.NewSimpleClientset()
			reg, _ := provider.NewRegistry(tc.provider)
			eng, err := New(Config{Kube: kube, Registry: reg, Stores: storesOf(testStore("s"))})
			if err != nil {
				t.Fatal(err)
			}
			res, err := eng.Sync(context.Background(), Request{ExternalSecret: testES("es", "s", "a", "b")})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
			c := res.Status.ReadyCondition()
			if !res.StatusChanged || c == nil || c.Status != corev1.ConditionFalse || !strings.Contains(c.Message, tc.want) {
				t.Errorf("status %+v: want Ready False naming the failure", c)
			}
			if strings.Contains(err.Error()+c.Message, canary) {
				t.Error("the panic's value reached the error or status")
			}
			if n := len(writes(kube)); n != 0 {
				t.Errorf("%d writes to the cluster, want none", n)
			}
		})
	}
}

func writes(kube *kubefake.Clientset) []clienttesting.Action {
	var out []clienttesting.Action
	for _, a := range kube.Actions() {
		if a.GetVerb() != "get" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
			out = append(out, a)
		}
	}
	return out
}

func TestNewNamesWhatIsMissing(t *testing.T) {
	reg, _ := provider.NewRegistry(fake.New())
	tests := map[string]struct {
		cfg  Config
		want string
	}{
		"no registry":         {cfg: Config{Stores: storesOf()}, want: "Registry is nil"},
		"no stores":           {cfg: Config{Registry: reg}, want: "Stores is nil"},
		"no kube, no secrets": {cfg: Config{Registry: reg, Stores: storesOf()}, want: "Secrets is nil"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
	eng, err := New(Config{Registry: reg, Stores: storesOf(), Secrets: Kube{kubefake.NewSimpleClientset()}, Namespaces: Kube{}, Objects: Kube{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Sync(context.Background(), Request{ExternalSecret: testES("es", "s")}); err == nil || !strings.Contains(err.Error(), "can Plan, not Sync") {
		t.Errorf("Sync without Kube: err %v", err)
	}
	if _, err := eng.Plan(context.Background(), Request{}); err == nil || !strings.Contains(err.Error(), "ExternalSecret is nil") {
		t.Errorf("Plan of an empty request: err %v", err)
	}
}

// A cache that does not show the Secret the engine just created must not
// make the next sync create it again: the engine reads the API instead.
func TestSyncDoesNotTrustACacheBehindItsWrite(t *testing.T) {
	kube := kubefake.NewSimpleClientset()
	mem := fake.NewMemory()
	mem.Set("a", []byte("1"))
	reg, _ := provider.NewRegistry(mem.Provider())
	lagging := SecretGetterFunc(func(context.Context, string, string) (*corev1.Secret, error) {
		return nil, apierrors.NewNotFound(corev1.Resource("secrets"), "es")
	})
	eng, err := New(Config{Kube: kube, Registry: reg, Stores: storesOf(testStore("s")), Secrets: lagging})
	if err != nil {
		t.Fatal(err)
	}
	es := testES("es", "s", "a")
	for i := 0; i < 3; i++ {
		if _, err := eng.Sync(context.Background(), Request{ExternalSecret: es, Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	creates := 0
	for _, a := range writes(kube) {
		if a.GetVerb() == "create" {
			creates++
		}
	}
	if creates != 1 || len(writes(kube)) != 1 {
		t.Errorf("%d creates and %d writes in all; want one create and nothing else", creates, len(writes(kube)))
	}
}

func TestSyncRetriesAConflictWithoutReadingAgain(t *testing.T) {
	existing := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "es", Namespace: "app", ResourceVersion: "5", Labels: map[string]string{reconcile.LabelManaged: "true"}},
		Data:       map[string][]byte{"a": []byte("old")},
	}
	kube := kubefake.NewSimpleClientset(existing)
	conflicts := 0
	kube.PrependReactor("update", "secrets", func(clienttesting.Action) (bool, runtime.Object, error) {
		if conflicts == 0 {
			conflicts++
			return true, nil, apierrors.NewConflict(corev1.Resource("secrets"), "es", errors.New("changed"))
		}
		return false, nil, nil
	})
	mem := fake.NewMemory()
	mem.Set("a", []byte("new"))
	reg, _ := provider.NewRegistry(mem.Provider())
	eng, err := New(Config{Kube: kube, Registry: reg, Stores: storesOf(testStore("s"))})
	if err != nil {
		t.Fatal(err)
	}
	res, err := eng.Sync(context.Background(), Request{ExternalSecret: testES("es", "s", "a")})
	if err != nil || res.Action != reconcile.ActionUpdate {
		t.Fatalf("action %s, err %v", res.Action, err)
	}
	got, _ := kube.CoreV1().Secrets("app").Get(context.Background(), "es", metav1.GetOptions{})
	if string(got.Data["a"]) != "new" || conflicts != 1 || mem.Calls("a") != 1 {
		t.Errorf("data %q after %d conflicts and %d reads; want the new value, one conflict, one read", got.Data["a"], conflicts, mem.Calls("a"))
	}
}

// A rotation one reader sees is pushed to the other readers of the key,
// which take it from the shared read.
func TestRotationReachesEveryReader(t *testing.T) {
	kube := kubefake.NewSimpleClientset()
	mem := fake.NewMemory()
	mem.Set("db", []byte("v1"))
	reg, _ := provider.NewRegistry(mem.Provider())
	var mu sync.Mutex
	var requeued []string
	eng, err := New(Config{Kube: kube, Registry: reg, Stores: storesOf(testStore("s")), Requeue: func(n types.NamespacedName) {
		mu.Lock()
		defer mu.Unlock()
		requeued = append(requeued, n.Name)
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, b := testES("a", "s", "db"), testES("b", "s", "db")
	for _, es := range []*externalsecret.ExternalSecret{a, b} {
		res, err := eng.Sync(ctx, Request{ExternalSecret: es})
		if err != nil {
			t.Fatal(err)
		}
		es.Status = res.Status
	}
	if got := mem.Calls("db"); got != 1 {
		t.Fatalf("two first syncs of one key made %d reads, want 1", got)
	}
	mem.Set("db", []byte("v2"))
	if _, err := eng.Sync(ctx, Request{ExternalSecret: a, Force: true}); err != nil {
		t.Fatal(err)
	}
	if len(requeued) != 1 || requeued[0] != "b" {
		t.Fatalf("requeued %v, want [b]", requeued)
	}
	res, err := eng.Sync(ctx, Request{ExternalSecret: b})
	if err != nil || !res.Read || res.Action != reconcile.ActionUpdate {
		t.Fatalf("b after the rotation: read %v, action %s, err %v", res.Read, res.Action, err)
	}
	if got := mem.Calls("db"); got != 2 {
		t.Errorf("the rotation cost %d reads in all, want 2", got)
	}
	eng.Forget(types.NamespacedName{Namespace: "app", Name: "b"})
	if got := eng.readers[remoteKey{store: StoreKey{Kind: "SecretStore", Namespace: "app", Name: "s"}, key: "db"}].names(); !slices.Equal(got, []types.NamespacedName{{Namespace: "app", Name: "a"}}) {
		t.Errorf("readers of db after Forget(b): %v; want only a", got)
	}
}

// A Secret owned by the host's own resource, with events recorded on it.
func TestSyncForAResourceOfTheHost(t *testing.T) {
	kube := kubefake.NewSimpleClientset()
	mem := fake.NewMemory()
	mem.Set("a", []byte("1"))
	reg, _ := provider.NewRegistry(mem.Provider())
	rec := &recorder{}
	eng, err := New(Config{Kube: kube, Registry: reg, Stores: storesOf(testStore("s")), Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	owner := &metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "SecretReference", Name: "es", UID: "sr-uid"}
	host := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stand-in"}}
	es := testES("es", "s", "a")
	es.UID = ""
	if _, err := eng.Sync(context.Background(), Request{ExternalSecret: es, Owner: owner, EventObject: host}); err != nil {
		t.Fatal(err)
	}
	s, _ := kube.CoreV1().Secrets("app").Get(context.Background(), "es", metav1.GetOptions{})
	if ref := metav1.GetControllerOf(s); ref == nil || ref.UID != "sr-uid" {
		t.Errorf("controller of the Secret %+v, want the SecretReference", ref)
	}
	if len(rec.objects) != 1 || rec.objects[0] != host {
		t.Errorf("events recorded on %v, want the host's object", rec.objects)
	}
}

type recorder struct{ objects []runtime.Object }

func (r *recorder) Event(obj runtime.Object, _, _, _ string) { r.objects = append(r.objects, obj) }
func (r *recorder) Eventf(obj runtime.Object, _, _, _ string, _ ...any) {
	r.objects = append(r.objects, obj)
}
func (r *recorder) AnnotatedEventf(obj runtime.Object, _ map[string]string, _, _, _ string, _ ...any) {
	r.objects = append(r.objects, obj)
}

func TestGetFuncServesEveryGetter(t *testing.T) {
	var asked []string
	get := GetFunc(func(_ context.Context, namespace, name string, obj Object) error {
		asked = append(asked, fmt.Sprintf("%T %s/%s", obj, namespace, name))
		if name == "missing" {
			return apierrors.NewNotFound(schema.GroupResource{Resource: "things"}, name)
		}
		obj.SetName(name)
		return nil
	})
	ctx := context.Background()
	if s, err := get.Store(ctx, StoreKey{Kind: secretstore.KindClusterSecretStore, Name: "css"}); err != nil || s.Kind() != secretstore.KindClusterSecretStore || s.GetName() != "css" {
		t.Errorf("cluster store: %v, %v", s, err)
	}
	if s, err := get.Store(ctx, StoreKey{Kind: secretstore.KindSecretStore, Namespace: "app", Name: "ss"}); err != nil || s.Kind() != secretstore.KindSecretStore {
		t.Errorf("store: %v, %v", s, err)
	}
	if _, err := get.Secret(ctx, "app", "missing"); !apierrors.IsNotFound(err) {
		t.Errorf("missing Secret: %v, want NotFound", err)
	}
	if _, err := get.ConfigMap(ctx, "app", "cm"); err != nil {
		t.Error(err)
	}
	if _, err := get.Namespace(ctx, "app"); err != nil {
		t.Error(err)
	}
	want := []string{
		"*secretstore.ClusterSecretStore /css", "*secretstore.SecretStore app/ss", "*v1.Secret app/missing", "*v1.ConfigMap app/cm", "*v1.Namespace /app",
	}
	if diff := cmp.Diff(want, asked); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
}

// An ExternalSecret another process synced (after a restart, or a shard
// moving here) is read at its next place on the refresh grid, and on the
// grid after that: the engine counts from when it first saw it, not from
// each look.
func TestRefreshGridAfterARestart(t *testing.T) {
	mem := fake.NewMemory()
	mem.Set("a", []byte("1"))
	reg, _ := provider.NewRegistry(mem.Provider())
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ctx := context.Background()
	es := testES("es", "s", "a")
	kube := kubefake.NewSimpleClientset()
	first, err := New(Config{Kube: kube, Registry: reg, Stores: storesOf(testStore("s")), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	res, err := first.Sync(ctx, Request{ExternalSecret: es})
	if err != nil || !res.Read {
		t.Fatalf("first sync: read %v, err %v", res.Read, err)
	}
	es.Status = res.Status

	// A second engine over the same cluster, as after a restart.
	restarted, err := New(Config{Kube: kube, Registry: reg, Stores: storesOf(testStore("s")), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	next := reconcile.NextRefresh(es, now)
	res, err = restarted.Sync(ctx, Request{ExternalSecret: es})
	if err != nil || res.Read {
		t.Fatalf("right after the restart: read %v, err %v; want no read", res.Read, err)
	}
	if want := next.Sub(now); res.RequeueAfter != want {
		t.Errorf("come back after %v; want %v, the next place on the grid", res.RequeueAfter, want)
	}
	// The host comes back a little late, as a timer does.
	for i := 1; i <= 2; i++ {
		now = next.Add(5 * time.Millisecond)
		res, err = restarted.Sync(ctx, Request{ExternalSecret: es})
		if err != nil || !res.Read {
			t.Fatalf("refresh %d at %v: read %v, err %v; want a read", i, now, res.Read, err)
		}
		next = next.Add(time.Hour)
	}
	if got := mem.Calls("a"); got != 3 {
		t.Errorf("%d reads; want 3: the first sync and two refreshes", got)
	}
}

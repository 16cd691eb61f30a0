package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/pushsecret"
	"github.com/secretsync/secretsync/secretstore"
)

// readOnly serves the fake store without its Pusher: a store that cannot
// be written.
type readOnly struct{ *fake.Provider }

func (p readOnly) NewClient(ctx context.Context, s secretstore.GenericStore, c provider.Credentials) (provider.Client, error) {
	cl, err := p.Provider.NewClient(ctx, s, c)
	return struct{ provider.Client }{cl}, err
}

func testPushSecret(store string, data ...pushsecret.Data) *pushsecret.PushSecret {
	return &pushsecret.PushSecret{
		ObjectMeta: metav1.ObjectMeta{Name: "push", Namespace: "app", UID: "uid-push", Generation: 1},
		Spec: pushsecret.Spec{
			RefreshInterval: &metav1.Duration{Duration: time.Minute},
			SecretStoreRefs: []pushsecret.StoreRef{{Name: store}},
			Selector:        pushsecret.Selector{Secret: &pushsecret.SecretSelector{Name: "source"}},
			Data:            data,
		},
	}
}

func pushData(secretKey, remoteKey, property string) pushsecret.Data {
	return pushsecret.Data{Match: pushsecret.Match{SecretKey: secretKey, RemoteRef: pushsecret.RemoteRef{RemoteKey: remoteKey, Property: property}}}
}

func TestPush(t *testing.T) {
	mem := fake.NewMemory()
	reg, err := provider.NewRegistry(mem.Provider())
	if err != nil {
		t.Fatal(err)
	}
	source := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "source", Namespace: "app", ResourceVersion: "1"},
		Data:       map[string][]byte{"password": []byte(canary), "user": []byte("admin")},
	}
	elsewhere := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "source", Namespace: "other"}, Data: map[string][]byte{"password": []byte("not yours")}}
	kube := kubefake.NewSimpleClientset(source, elsewhere)
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	e, err := New(Config{Kube: kube, Registry: reg, Stores: storesOf(testStore("store")), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ps := testPushSecret("store", pushData("password", "db", "password"), pushData("", "whole", ""))

	res, err := e.Push(ctx, ps)
	if err != nil || res.Pushed != 2 || !res.StatusChanged {
		t.Fatalf("first push: pushed %d, status changed %v, %v", res.Pushed, res.StatusChanged, err)
	}
	if v, _ := mem.Get("db"); string(v) != `{"password":"`+canary+`"}` {
		t.Error("db does not hold the pushed password")
	}
	if v, _ := mem.Get("whole"); string(v) != `{"password":"`+canary+`","user":"admin"}` {
		t.Error("whole does not hold the Secret as a JSON object")
	}
	if c := res.Status.ReadyCondition(); c == nil || c.Reason != pushsecret.ReasonSynced || len(res.Status.SyncedPushSecrets["SecretStore/app/store"]) != 2 {
		t.Errorf("status %+v", res.Status)
	}
	if res.RequeueAfter != time.Minute {
		t.Errorf("requeue after %v, want the refresh interval", res.RequeueAfter)
	}

	// Not due yet: nothing is read.
	ps.Status = res.Status
	reads := mem.TotalCalls()
	if res, _ = e.Push(ctx, ps); res.StatusChanged || mem.TotalCalls() != reads {
		t.Errorf("a push before the refresh interval read %d times or changed the status", mem.TotalCalls()-reads)
	}
	// Due: reads, writes nothing, status unchanged.
	now = now.Add(time.Minute)
	writes := mem.TotalWrites()
	if res, err = e.Push(ctx, ps); err != nil || res.Pushed != 0 || res.StatusChanged || mem.TotalWrites() != writes || mem.TotalCalls() == reads {
		t.Errorf("unchanged refresh: pushed %d, writes %d, status changed %v, %v", res.Pushed, mem.TotalWrites()-writes, res.StatusChanged, err)
	}
	// The remote value edited elsewhere is put back at the next refresh.
	mem.Set("db", []byte(`{"password":"edited"}`))
	now = now.Add(time.Minute)
	if res, _ = e.Push(ctx, ps); res.Pushed != 1 {
		t.Errorf("a remote value edited elsewhere: pushed %d, want 1", res.Pushed)
	}

	// IfNotExists leaves an existing remote value alone.
	ifNot := testPushSecret("store", pushData("password", "db", "password"))
	ifNot.Name, ifNot.Spec.UpdatePolicy = "if-not", pushsecret.UpdatePolicyIfNotExists
	mem.Set("db", []byte(`{"password":"theirs"}`))
	if res, err = e.Push(ctx, ifNot); err != nil || res.Pushed != 0 {
		t.Errorf("IfNotExists over an existing value: pushed %d, %v", res.Pushed, err)
	}

	// Errors name the key and never the value.
	for name, bad := range map[string]*pushsecret.PushSecret{
		"missing key":   testPushSecret("store", pushData("nope", "x", "")),
		"missing store": testPushSecret("gone", pushData("password", "x", "")),
		"generator": func() *pushsecret.PushSecret {
			p := testPushSecret("store")
			p.Spec.Selector = pushsecret.Selector{GeneratorRef: &externalsecret.GeneratorRef{Kind: "Password", Name: "p"}}
			p.Finalizers = []string{PushFinalizer}
			return p
		}(),
		"label selection": func() *pushsecret.PushSecret {
			p := testPushSecret("store")
			p.Spec.Selector.Secret = &pushsecret.SecretSelector{Selector: &metav1.LabelSelector{}}
			return p
		}(),
	} {
		bad.Name = strings.ReplaceAll(name, " ", "-")
		res, err := e.Push(ctx, bad)
		if err == nil || res.Status.ReadyCondition() == nil || res.Status.ReadyCondition().Reason != pushsecret.ReasonErrored {
			t.Errorf("%s: %v, status %+v", name, err, res.Status)
		}
		if err != nil && strings.Contains(err.Error(), canary) {
			t.Errorf("%s: the error holds the value: %v", name, err)
		}
	}
}

func TestPushToReadOnlyStore(t *testing.T) {
	reg, err := provider.NewRegistry(readOnly{fake.NewMemory().Provider()})
	if err != nil {
		t.Fatal(err)
	}
	store := testStore("ro")
	kube := kubefake.NewSimpleClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "source", Namespace: "app"}, Data: map[string][]byte{"k": []byte("v")}})
	e, err := New(Config{Kube: kube, Registry: reg, Stores: storesOf(store)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Push(context.Background(), testPushSecret("ro", pushData("k", "x", "")))
	if !errors.Is(err, provider.ErrPushUnsupported) {
		t.Errorf("push to a store that cannot be written: %v, want ErrPushUnsupported", err)
	}
}

// dataTo pushes the keys it matches, renamed by its rewrites, to the
// stores its label selector chooses; a template shapes the values first.
func TestPushDataToAndTemplate(t *testing.T) {
	mem := fake.NewMemory()
	reg, err := provider.NewRegistry(mem.Provider())
	if err != nil {
		t.Fatal(err)
	}
	kube := kubefake.NewSimpleClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "source", Namespace: "app"},
		Data:       map[string][]byte{"db-user": []byte("admin"), "db-pass": []byte(canary), "other": []byte("x")},
	})
	labelled, unlabelled := testStore("labelled"), testStore("unlabelled")
	labelled.Labels = map[string]string{"push": "yes"}
	stores := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, s := range []*secretstore.SecretStore{labelled, unlabelled} {
		if err := stores.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	e, err := New(Config{Kube: kube, Registry: reg, Stores: StoresFromIndexers(stores, cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}))})
	if err != nil {
		t.Fatal(err)
	}
	ps := testPushSecret("labelled")
	ps.Spec.SecretStoreRefs = nil
	ps.Spec.DataTo = []pushsecret.DataTo{{
		StoreRef: &pushsecret.StoreRef{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"push": "yes"}}},
		Match:    &pushsecret.DataToMatch{RegExp: "^db-"},
		Rewrite:  []pushsecret.Rewrite{{Regexp: &externalsecret.RewriteRegexp{Source: "^db-", Target: "app/db/"}}},
	}}
	ps.Spec.Template = &externalsecret.Template{MergePolicy: externalsecret.MergePolicyMerge, Data: map[string]string{"db-url": `postgres://{{ index . "db-user" }}@db`}}
	res, err := e.Push(context.Background(), ps)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"app/db/user": "admin", "app/db/pass": canary, "app/db/url": "postgres://admin@db"}
	for k, v := range want {
		if got, ok := mem.Get(k); !ok || string(got) != v {
			t.Errorf("%s: pushed %v, want the templated value", k, ok)
		}
	}
	if _, ok := mem.Get("other"); ok {
		t.Error("a key dataTo's regexp does not match was pushed")
	}
	if n := len(res.Status.SyncedPushSecrets["SecretStore/app/labelled"]); n != 3 || len(res.Status.SyncedPushSecrets) != 1 {
		t.Errorf("synced %v, want 3 entries in the labelled store only", res.Status.SyncedPushSecrets)
	}
}

// A PushSecret whose selector is a generator pushes what it made, kept
// across pushes, and revokes it when it goes.
func TestPushGenerated(t *testing.T) {
	mem := fake.NewMemory()
	reg, err := provider.NewRegistry(mem.Provider())
	if err != nil {
		t.Fatal(err)
	}
	gen := &leases{ttl: time.Hour}
	gens, err := generator.NewRegistry(gen)
	if err != nil {
		t.Fatal(err)
	}
	getter := generatorGetterFunc(func(_ context.Context, ref externalsecret.GeneratorRef, ns string) (runtime.Object, error) {
		return &generators.Fake{ObjectMeta: metav1.ObjectMeta{Name: ref.Name, Namespace: ns}}, nil
	})
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	e, err := New(Config{Kube: kubefake.NewSimpleClientset(), Registry: reg, Stores: storesOf(testStore("store")),
		Generators: gens, GeneratorObjects: getter, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ps := testPushSecret("store", pushData("password", "db", ""))
	ps.Spec.Selector = pushsecret.Selector{GeneratorRef: &externalsecret.GeneratorRef{Kind: "Fake", Name: "pw"}}
	ps.Finalizers = []string{PushFinalizer} // as holdForDeletion would add through the CRD client
	res, err := e.Push(context.Background(), ps)
	if err != nil || res.Pushed != 1 {
		t.Fatalf("pushed %d, %v", res.Pushed, err)
	}
	if v, _ := mem.Get("db"); string(v) != canary+"lease-1" {
		t.Error("the generated value was not pushed")
	}
	now = now.Add(2 * time.Minute)
	ps.Status = res.Status
	if res, err = e.Push(context.Background(), ps); err != nil || res.Pushed != 0 || gen.n != 1 {
		t.Errorf("a second push: pushed %d, %d generations, %v", res.Pushed, gen.n, err)
	}
	if res.RequeueAfter != time.Minute {
		t.Errorf("requeue after %v, want the refresh interval", res.RequeueAfter)
	}
}

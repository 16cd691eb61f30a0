package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
)

// Changed makes only the readers of the changed key read, and they share
// one fresh read; a changed force-sync annotation reads the store itself.
func TestChangedAndForceSync(t *testing.T) {
	mem := fake.NewMemory()
	mem.Set("hot", []byte("v1"))
	mem.Set("cold", []byte("c1"))
	reg, err := provider.NewRegistry(mem.Provider())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var requeued []types.NamespacedName
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	e, err := New(Config{Kube: kubefake.NewSimpleClientset(), Registry: reg, Stores: storesOf(testStore("store")),
		Requeue: func(n types.NamespacedName) { mu.Lock(); requeued = append(requeued, n); mu.Unlock() },
		Now:     func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ess := []*struct {
		name, key string
	}{{"a", "hot"}, {"b", "hot"}, {"c", "cold"}}
	synced := map[string]*Result{}
	for _, x := range ess {
		es := testES(x.name, "store", x.key)
		res, err := e.Sync(ctx, Request{ExternalSecret: es})
		if err != nil {
			t.Fatal(err)
		}
		synced[x.name] = &res
	}

	mem.Set("hot", []byte("v2"))
	mem.ResetCalls()
	now = now.Add(time.Second)
	if n := e.Changed(StoreKey{Kind: "SecretStore", Namespace: "app", Name: "store"}, "hot"); n != 2 {
		t.Errorf("Changed: %d readers, want 2", n)
	}
	if len(requeued) != 2 {
		t.Errorf("requeued %v, want a and b", requeued)
	}
	for _, x := range ess {
		es := testES(x.name, "store", x.key)
		es.Status = synced[x.name].Status
		res, err := e.Sync(ctx, Request{ExternalSecret: es})
		if err != nil {
			t.Fatal(err)
		}
		if wantRead := x.key == "hot"; res.Read != wantRead {
			t.Errorf("%s: read %v, want %v", x.name, res.Read, wantRead)
		}
	}
	if mem.Calls("hot") != 1 || mem.Calls("cold") != 0 {
		t.Errorf("provider calls: hot %d, cold %d; want one shared fresh read of hot", mem.Calls("hot"), mem.Calls("cold"))
	}

	// force-sync: a new value of the annotation reads the store itself,
	// though a shared read of the key is a second old.
	es := testES("c", "store", "cold")
	es.Status = synced["c"].Status
	es.Annotations = map[string]string{AnnotationForceSync: "1"}
	if _, err := e.Sync(ctx, Request{ExternalSecret: es}); err != nil {
		t.Fatal(err)
	}
	mem.ResetCalls()
	es.Annotations[AnnotationForceSync] = "2"
	res, err := e.Sync(ctx, Request{ExternalSecret: es})
	if err != nil || !res.Read || mem.Calls("cold") != 1 {
		t.Errorf("force-sync: read %v, %d provider calls, %v", res.Read, mem.Calls("cold"), err)
	}
}

package engine

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/reconcile"
)

// A host that keeps Conditions and the refresh time on its own resource,
// and restores them, makes a restarted engine neither read nor rewrite the
// status; a new generation reads again.
func TestConditionsRoundTrip(t *testing.T) {
	mem := fake.NewMemory()
	mem.Set("a", []byte("1"))
	reg, _ := provider.NewRegistry(mem.Provider())
	kube := kubefake.NewSimpleClientset()
	newEngine := func() *Engine {
		eng, err := New(Config{Kube: kube, Registry: reg, Stores: storesOf(testStore("s"))})
		if err != nil {
			t.Fatal(err)
		}
		return eng
	}
	ctx := context.Background()
	es := testES("es", "s", "a")
	res, err := newEngine().Sync(ctx, Request{ExternalSecret: es})
	if err != nil || !res.StatusChanged {
		t.Fatalf("first sync: changed %v, err %v", res.StatusChanged, err)
	}
	kept, refreshed := Conditions(res.Status, es.Generation), res.Status.RefreshTime
	if len(kept) != 1 || kept[0].Status != metav1.ConditionTrue || kept[0].ObservedGeneration != 1 || kept[0].Reason != externalsecretSynced {
		t.Fatalf("conditions %+v", kept)
	}

	again := testES("es", "s", "a")
	Restore(again, kept, refreshed)
	res, err = newEngine().Sync(ctx, Request{ExternalSecret: again})
	if err != nil || res.Read || res.RequeueAfter <= 0 || res.RequeueAfter > time.Hour {
		t.Errorf("after a restart: read %v, requeue %v, err %v; want no read and the next refresh within the hour", res.Read, res.RequeueAfter, err)
	}
	if got := mem.Calls("a"); got != 1 {
		t.Errorf("%d reads, want 1", got)
	}

	// A forced read of the restored status writes no new status.
	res, err = newEngine().Sync(ctx, Request{ExternalSecret: again, Force: true})
	if err != nil || !res.Read || res.StatusChanged || res.Action != reconcile.ActionNone {
		t.Errorf("forced read: read %v, status changed %v, action %s, err %v", res.Read, res.StatusChanged, res.Action, err)
	}
	if diff := cmp.Diff(kept, Conditions(res.Status, again.Generation)); diff != "" {
		t.Errorf("conditions changed (-kept +now):\n%s", diff)
	}

	next := testES("es", "s", "a")
	next.Generation = 2
	Restore(next, kept, refreshed)
	if res, err = newEngine().Sync(ctx, Request{ExternalSecret: next}); err != nil || !res.Read {
		t.Errorf("a new generation: read %v, err %v; want a read", res.Read, err)
	}
}

const externalsecretSynced = "SecretSynced"

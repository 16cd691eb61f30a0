package shard

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// member runs a Membership of group g on kube until the returned stop.
func member(t *testing.T, kube *kubefake.Clientset, id string) (*Membership, context.CancelFunc) {
	t.Helper()
	m, err := New(Config{Kube: kube, Namespace: "ns", Group: "g", Identity: id, LeaseDuration: time.Second, RenewPeriod: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := m.Run(ctx); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return m, stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// owners returns, for each key, how many of ms own it.
func owners(ms ...*Membership) (none, many int) {
	for _, k := range keys(1000) {
		n := 0
		for _, m := range ms {
			if m.Owns(k) {
				n++
			}
		}
		switch {
		case n == 0:
			none++
		case n > 1:
			many++
		}
	}
	return none, many
}

func TestMembershipJoinLeaveAndExpiry(t *testing.T) {
	kube := kubefake.NewSimpleClientset()
	kube.PrependReactor("delete", "leases", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.(clienttesting.DeleteAction).GetName() == "g-c" {
			return true, nil, errors.New("killed")
		}
		return false, nil, nil
	})
	a, stopA := member(t, kube, "a")
	<-a.Ready()
	if none, _ := owners(a); none != 0 {
		t.Fatalf("a alone leaves %d keys unowned", none)
	}

	// b joins: while it waits for a to see it, no key has two owners.
	b, _ := member(t, kube, "b")
	for !b.View().Active {
		if _, many := owners(a, b); many != 0 {
			t.Fatalf("%d keys owned twice while b joins", many)
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(t, "a to count b", func() bool { return a.View().Ring.Len() == 2 })
	if none, many := owners(a, b); none != 0 || many != 0 {
		t.Fatalf("a and b: %d keys unowned, %d owned twice", none, many)
	}

	// c, below, cannot delete its Lease when it stops, as if killed: the
	// others take its keys when the Lease expires.
	c, stopC := member(t, kube, "c")
	<-c.Ready()
	waitFor(t, "three members", func() bool { return a.View().Ring.Len() == 3 && b.View().Ring.Len() == 3 })
	stopC()
	if c.View().Active {
		t.Error("c is active after it stopped")
	}
	waitFor(t, "c's Lease to expire", func() bool { return a.View().Ring.Len() == 2 && b.View().Ring.Len() == 2 })
	if none, many := owners(a, b); none != 0 || many != 0 {
		t.Fatalf("after c expired: %d keys unowned, %d owned twice", none, many)
	}

	// a leaves: its Lease goes at once, and b owns everything.
	stopA()
	waitFor(t, "b alone", func() bool { return b.View().Ring.Len() == 1 })
	if none, _ := owners(b); none != 0 {
		t.Fatalf("b alone leaves %d keys unowned", none)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	kube := kubefake.NewSimpleClientset()
	for name, cfg := range map[string]Config{
		"no client":   {Namespace: "ns", Group: "g", Identity: "a"},
		"no identity": {Kube: kube, Namespace: "ns", Group: "g"},
		"comma":       {Kube: kube, Namespace: "ns", Group: "g", Identity: "a,b"},
		"renew":       {Kube: kube, Namespace: "ns", Group: "g", Identity: "a", LeaseDuration: time.Second, RenewPeriod: time.Second},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

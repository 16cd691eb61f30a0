package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/generator"
	"github.com/secretsync/secretsync/generators"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
)

// leases is a generator of Fake kind whose values are leases: each
// generation is new, lives ttl, and must be revoked.
type leases struct {
	mu      sync.Mutex
	ttl     time.Duration
	n       int
	revoked []string
}

func (l *leases) Kind() string { return generators.KindFake }

func (l *leases) Generate(_ context.Context, obj runtime.Object, _ provider.Credentials, _ string) (generator.Result, error) {
	if _, ok := obj.(*generators.Fake); !ok {
		return generator.Result{}, fmt.Errorf("got a %T", obj)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	id := fmt.Sprintf("lease-%d", l.n)
	return generator.Result{
		Values: map[string][]byte{"username": []byte("user-" + id), "password": []byte(canary + id)},
		TTL:    l.ttl,
		State:  map[string]string{"leaseID": id},
	}, nil
}

func (l *leases) Revoke(_ context.Context, _ runtime.Object, _ provider.Credentials, _ string, state map[string]string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.revoked = append(l.revoked, state["leaseID"])
	return nil
}

type generatorGetterFunc func(ctx context.Context, ref externalsecret.GeneratorRef, namespace string) (runtime.Object, error)

func (f generatorGetterFunc) Generator(ctx context.Context, ref externalsecret.GeneratorRef, namespace string) (runtime.Object, error) {
	return f(ctx, ref, namespace)
}

func TestGeneratedValuesLifecycle(t *testing.T) {
	gen := &leases{ttl: 30 * time.Second}
	gens, err := generator.NewRegistry(gen)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := provider.NewRegistry(fake.NewMemory().Provider())
	if err != nil {
		t.Fatal(err)
	}
	kube := kubefake.NewSimpleClientset()
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	getter := generatorGetterFunc(func(_ context.Context, ref externalsecret.GeneratorRef, ns string) (runtime.Object, error) {
		return &generators.Fake{ObjectMeta: metav1.ObjectMeta{Name: ref.Name, Namespace: ns}}, nil
	})
	newEngine := func() *Engine {
		e, err := New(Config{Kube: kube, Registry: reg, Stores: storesOf(testStore("store")), Generators: gens, GeneratorObjects: getter,
			RevokeGrace: 10 * time.Second, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	es := testES("db", "store")
	ref := &externalsecret.GeneratorRef{APIVersion: "generators.external-secrets.io/v1alpha1", Kind: "Fake", Name: "pg"}
	for _, k := range []string{"username", "password"} {
		es.Spec.Data = append(es.Spec.Data, externalsecret.Data{SecretKey: k, RemoteRef: externalsecret.RemoteRef{Key: k}, SourceRef: &externalsecret.StoreSourceRef{GeneratorRef: ref}})
	}
	owner := &metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "App", Name: "db", UID: "app-uid", Controller: ptrTo(true)}
	sync := func(e *Engine) Result {
		t.Helper()
		res, err := e.Sync(context.Background(), Request{ExternalSecret: es, Owner: owner})
		if err != nil {
			t.Fatalf("sync: %v", err)
		}
		return res
	}
	secret := func() map[string]string {
		s, err := kube.CoreV1().Secrets("app").Get(context.Background(), "db", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"username": string(s.Data["username"]), "password": string(s.Data["password"])}
	}

	e := newEngine()
	res := sync(e)
	first := secret()
	if gen.n != 1 || first["username"] != "user-lease-1" || first["password"] != canary+"lease-1" {
		t.Fatalf("two data entries of one generator: %d generations, Secret %v", gen.n, first["username"])
	}
	if res.RequeueAfter != 20*time.Second {
		t.Errorf("requeue after %v, want 2/3 of the 30s lifetime", res.RequeueAfter)
	}
	if c := res.Status.ReadyCondition(); c == nil || !strings.Contains(c.Message, "renewed or revoked at 2026-12-04T09:00:20Z") {
		t.Errorf("status %+v does not say when the values are renewed", c)
	}

	// A restart: a new engine keeps the values.
	es.Status = res.Status
	now = now.Add(5 * time.Second)
	e = newEngine()
	sync(e)
	if gen.n != 1 || secret()["username"] != "user-lease-1" {
		t.Errorf("after a restart: %d generations", gen.n)
	}

	// At 2/3 of the lifetime: new values; the old ones live on for the
	// grace period, then are revoked.
	now = now.Add(16 * time.Second)
	res = sync(e)
	if gen.n != 2 || secret()["username"] != "user-lease-2" {
		t.Errorf("at 2/3 of the lifetime: %d generations, Secret %s", gen.n, secret()["username"])
	}
	if len(gen.revoked) != 0 {
		t.Errorf("revoked %v before the grace period ended", gen.revoked)
	}
	now = now.Add(11 * time.Second)
	sync(e)
	if len(gen.revoked) != 1 || gen.revoked[0] != "lease-1" {
		t.Errorf("after the grace period: revoked %v, want lease-1", gen.revoked)
	}

	// The host's resource goes: everything is revoked and the state
	// deleted.
	if err := e.RevokeGenerated(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	if strings.Join(gen.revoked, ",") != "lease-1,lease-2" {
		t.Errorf("after RevokeGenerated: revoked %v, want lease-1 and lease-2", gen.revoked)
	}
	list, _ := kube.CoreV1().Secrets("app").List(context.Background(), metav1.ListOptions{LabelSelector: LabelGeneratorOwner})
	for _, s := range list.Items {
		if strings.Contains(s.Name, "-gen-") {
			t.Errorf("state Secret %s left after RevokeGenerated", s.Name)
		}
	}
}

package shard_test

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/secretsync/secretsync/shard"
)

// Three replicas split ExternalSecrets by namespace; when one goes, only
// its namespaces move.
func ExampleRing() {
	before := shard.NewRing("replica-0", "replica-1", "replica-2")
	after := shard.NewRing("replica-0", "replica-2")
	for _, ns := range []string{"payments", "search", "web", "batch"} {
		fmt.Printf("%s: %s -> %s\n", ns, before.Owner(ns), after.Owner(ns))
	}
	// Output:
	// payments: replica-1 -> replica-0
	// search: replica-0 -> replica-0
	// web: replica-0 -> replica-0
	// batch: replica-2 -> replica-2
}

// An informer transform keeps the Secrets of this replica's share whole
// and only a stub of the others.
func ExampleTransform() {
	ring := shard.NewRing("replica-0", "replica-1")
	owns := func(obj metav1.Object) bool { return ring.Owner(shard.ByNamespace.Key(obj)) == "replica-0" }
	transform := shard.Transform(owns, nil)
	for _, ns := range []string{"search", "payments"} {
		obj, _ := transform(&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
			Data:       map[string][]byte{"password": []byte("s3cr3t")},
		})
		s := obj.(*corev1.Secret)
		fmt.Printf("%s/%s: stub %v, %d keys\n", s.Namespace, s.Name, shard.IsStub(s), len(s.Data))
	}
	// Output:
	// search/db: stub false, 1 keys
	// payments/db: stub true, 0 keys
}

// A replica of an operator joins its group and works only on what it
// owns. The Lease namespace, group and identity come from the
// operator's own flags and the pod it runs in.
func ExampleMembership() {
	ctx := context.Background()
	kube := fake.NewSimpleClientset() // kubernetes.NewForConfig in a real operator
	members, err := shard.New(shard.Config{Kube: kube, Namespace: "my-operator", Group: "my-operator", Identity: "my-operator-0"})
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go members.Run(ctx)
	<-members.Ready()

	es := &metav1.ObjectMeta{Namespace: "payments", Name: "db", UID: "5f1c"}
	fmt.Println("owns payments/db:", members.Owns(shard.ByUID.Key(es)))
	// Output:
	// owns payments/db: true
}

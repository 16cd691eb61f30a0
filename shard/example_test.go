package shard_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

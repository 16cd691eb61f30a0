package engine_test

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/secretstore"
)

// store is the store of the examples, held in memory; a host would serve
// stores from an informer or a controller-runtime client instead.
var store = &secretstore.SecretStore{
	ObjectMeta: metav1.ObjectMeta{Name: "store", Namespace: "app", UID: "store-uid"},
	Spec: secretstore.Spec{Provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{
		Data: []secretstore.FakeProviderData{{Key: "db", Value: `{"user":"app","password":"s3cret"}`}},
	}}},
}

var stores = engine.StoreGetterFunc(func(_ context.Context, key engine.StoreKey) (secretstore.GenericStore, error) {
	if key != engine.StoreKeyOf(store) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: secretstore.Group, Resource: "secretstores"}, key.Name)
	}
	return store, nil
})

// es is the ExternalSecret of the examples, as an operator would build it
// in memory from a resource of its own.
var es = &externalsecret.ExternalSecret{
	ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "app", UID: "es-uid"},
	Spec: externalsecret.ExternalSecretSpec{
		SecretStoreRef:  externalsecret.SecretStoreRef{Name: "store"},
		RefreshInterval: &metav1.Duration{Duration: time.Hour},
		Data: []externalsecret.Data{
			{SecretKey: "username", RemoteRef: externalsecret.RemoteRef{Key: "db", Property: "user"}},
			{SecretKey: "password", RemoteRef: externalsecret.RemoteRef{Key: "db", Property: "password"}},
		},
	},
}

// An operator syncs one ExternalSecret: the engine reads the store and
// writes the Secret; a second sync finds nothing due and writes nothing. A
// fake clientset stands in for the cluster. The README's embedding
// section is this function.
func Example() {
	ctx := context.Background()
	kube := kubefake.NewSimpleClientset()           // your client-go clientset
	registry, _ := provider.NewRegistry(fake.New()) // list only the stores you use
	eng, err := engine.New(engine.Config{Kube: kube, Registry: registry, Stores: stores})
	if err != nil {
		panic(err)
	}
	// In your reconcile of one ExternalSecret, from the cluster or built in
	// memory from a resource of your own:
	res, err := eng.Sync(ctx, engine.Request{ExternalSecret: es})
	// err: retry with backoff. res.Status, if res.StatusChanged, is the new
	// status; come back after res.RequeueAfter.
	if err != nil {
		panic(err)
	}
	secret, _ := kube.CoreV1().Secrets("app").Get(ctx, "db", metav1.GetOptions{})
	fmt.Println(res.Action, secret.Name, len(secret.Data), "keys")
	fmt.Println(res.Status.ReadyCondition().Reason, "status changed:", res.StatusChanged)

	es.Status = res.Status // as UpdateStatus would
	res, _ = eng.Sync(ctx, engine.Request{ExternalSecret: es})
	fmt.Println("read again:", res.Read, "next read within an hour:", res.RequeueAfter <= time.Hour)
	// Output:
	// Create db 2 keys
	// SecretSynced status changed: true
	// read again: false next read within an hour: true
}

package engine_test

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
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

// An operator syncs an ExternalSecret it built in memory, against a store
// it also holds in memory; here a fake clientset stands in for the
// cluster the Secret is written to.
func Example() {
	ctx := context.Background()
	kube := kubefake.NewSimpleClientset()
	registry, _ := provider.NewRegistry(fake.New())
	store := &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "store", Namespace: "app", UID: "store-uid"},
		Spec: secretstore.Spec{Provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{
			Data: []secretstore.FakeProviderData{{Key: "db", Value: `{"user":"app","password":"s3cret"}`}},
		}}},
	}
	stores := engine.StoreGetterFunc(func(_ context.Context, key engine.StoreKey) (secretstore.GenericStore, error) {
		if key != engine.StoreKeyOf(store) {
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secretstores"}, key.Name)
		}
		return store, nil
	})
	eng, err := engine.New(engine.Config{Kube: kube, Registry: registry, Stores: stores})
	if err != nil {
		panic(err)
	}

	es := &externalsecret.ExternalSecret{
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
	res, err := eng.Sync(ctx, engine.Request{ExternalSecret: es})
	if err != nil {
		panic(err)
	}
	secret, _ := kube.CoreV1().Secrets("app").Get(ctx, "db", metav1.GetOptions{})
	fmt.Println(res.Action, secret.Name, len(secret.Data), "keys")
	fmt.Println(res.Status.ReadyCondition().Reason, "status changed:", res.StatusChanged)

	// The host keeps the status it was told; the next sync finds nothing
	// due and writes nothing.
	es.Status = res.Status
	res, _ = eng.Sync(ctx, engine.Request{ExternalSecret: es})
	fmt.Println("read again:", res.Read, "next read within an hour:", res.RequeueAfter <= time.Hour)
	// Output:
	// Create db 2 keys
	// SecretSynced status changed: true
	// read again: false next read within an hour: true
}

var _ corev1.Secret

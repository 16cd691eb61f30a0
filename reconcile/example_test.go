package reconcile_test

import (
	"context"
	"fmt"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/secretstore"
)

// storeClients serves one store to Fetch. A controller would look stores
// up in its cache, check them with reconcile.CheckStore and reuse clients.
type storeClients struct{ client provider.Client }

func (s storeClients) Client(context.Context, externalsecret.SecretStoreRef) (provider.Client, error) {
	return s.client, nil
}

// An operator embeds the sync logic in its own reconcile: decide whether a
// read is due, fetch, and apply what Reconcile decides.
func Example() {
	ctx := context.Background()
	store := &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "store", Namespace: "app"},
		Spec: secretstore.Spec{Provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{
			Data: []secretstore.FakeProviderData{{Key: "db", Value: `{"user":"app","password":"s3cret"}`}},
		}}},
	}
	es := &externalsecret.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "app", UID: "1234"},
		Spec: externalsecret.ExternalSecretSpec{
			SecretStoreRef: externalsecret.SecretStoreRef{Name: "store"},
			Data: []externalsecret.Data{
				{SecretKey: "username", RemoteRef: externalsecret.RemoteRef{Key: "db", Property: "user"}},
				{SecretKey: "password", RemoteRef: externalsecret.RemoteRef{Key: "db", Property: "password"}},
			},
		},
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	if due, _ := reconcile.Due(es, nil, time.Time{}, now); !due {
		return
	}
	client, err := fake.New().NewClient(ctx, store, nil)
	if err != nil {
		panic(err)
	}
	out := reconcile.Reconcile(reconcile.Input{
		ExternalSecret: es,
		Fetched:        reconcile.Fetch(ctx, es, storeClients{client}),
		Now:            now,
	})

	keys := make([]string, 0, len(out.Secret.Data))
	for k := range out.Secret.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Println(out.Action, out.Secret.Name, keys)
	fmt.Println(out.Status.ReadyCondition().Reason)
	fmt.Println("owned by", out.Secret.OwnerReferences[0].Kind)
	// Output:
	// Create db [password username]
	// SecretSynced
	// owned by ExternalSecret
}

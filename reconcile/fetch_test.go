package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/mock/gomock"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/mock"
)

type clientsFunc func(ctx context.Context, ref externalsecret.SecretStoreRef) (provider.Client, error)

func (f clientsFunc) Client(ctx context.Context, ref externalsecret.SecretStoreRef) (provider.Client, error) {
	return f(ctx, ref)
}

func oneClient(c provider.Client) Clients {
	return clientsFunc(func(context.Context, externalsecret.SecretStoreRef) (provider.Client, error) { return c, nil })
}

func TestFetchReadsEachRemoteSecretOnce(t *testing.T) {
	ctrl := gomock.NewController(t)
	client := mock.NewMockClient(ctrl)
	// Three properties of one secret and a copy of the same reference:
	// one read.
	client.EXPECT().GetSecret(gomock.Any(), provider.Ref{Key: "db"}).
		Return(provider.NewJSONSecret([]byte(`{"user":"u","password":"p","port":5432}`)), nil).Times(1)
	client.EXPECT().GetSecret(gomock.Any(), provider.Ref{Key: "db", Version: "2"}).
		Return(provider.NewJSONSecret([]byte(`{"user":"old"}`)), nil).Times(1)

	es := newES(func(es *externalsecret.ExternalSecret) {
		es.Spec.Data = []externalsecret.Data{
			{SecretKey: "user", RemoteRef: externalsecret.RemoteRef{Key: "db", Property: "user"}},
			{SecretKey: "password", RemoteRef: externalsecret.RemoteRef{Key: "db", Property: "password"}},
			{SecretKey: "port", RemoteRef: externalsecret.RemoteRef{Key: "db", Property: "port"}},
			{SecretKey: "all", RemoteRef: externalsecret.RemoteRef{Key: "db"}},
			{SecretKey: "old-user", RemoteRef: externalsecret.RemoteRef{Key: "db", Version: "2", Property: "user"}},
		}
		es.Spec.DataFrom = []externalsecret.DataFrom{{Extract: &externalsecret.RemoteRef{Key: "db"}}}
	})
	got := Fetch(context.Background(), es, oneClient(client))
	want := &Fetched{
		Data: []Value{
			{Value: []byte("u")},
			{Value: []byte("p")},
			{Value: []byte("5432")},
			{Value: []byte(`{"user":"u","password":"p","port":5432}`)},
			{Value: []byte("old")},
		},
		DataFrom: []Values{{Values: map[string][]byte{"user": []byte("u"), "password": []byte("p"), "port": []byte("5432")}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fetched (-want +got):\n%s", diff)
	}
}

func TestFetchReportsErrorsPerEntry(t *testing.T) {
	ctrl := gomock.NewController(t)
	client := mock.NewMockClient(ctrl)
	down := errors.New("connection refused")
	client.EXPECT().GetSecret(gomock.Any(), provider.Ref{Key: "gone"}).Return(nil, fmt.Errorf("key gone: %w", provider.ErrNotFound))
	client.EXPECT().GetSecret(gomock.Any(), provider.Ref{Key: "down"}).Return(nil, down)
	client.EXPECT().GetSecret(gomock.Any(), provider.Ref{Key: "ok"}).Return(provider.NewJSONSecret([]byte(`{"a":"1"}`)), nil)

	es := newES(func(es *externalsecret.ExternalSecret) {
		es.Spec.Data = []externalsecret.Data{
			{SecretKey: "a", RemoteRef: externalsecret.RemoteRef{Key: "gone"}},
			{SecretKey: "b", RemoteRef: externalsecret.RemoteRef{Key: "down"}},
			{SecretKey: "c", RemoteRef: externalsecret.RemoteRef{Key: "ok", Property: "missing"}},
			{SecretKey: "d", RemoteRef: externalsecret.RemoteRef{Key: "ok", Property: "a"}},
		}
		es.Spec.DataFrom = []externalsecret.DataFrom{{Find: &externalsecret.Find{Name: &externalsecret.FindName{RegExp: ".*"}}}}
	})
	got := Fetch(context.Background(), es, oneClient(client))
	if !errors.Is(got.Data[0].Err, provider.ErrNotFound) {
		t.Errorf("missing secret: want ErrNotFound, got %v", got.Data[0].Err)
	}
	if !errors.Is(got.Data[1].Err, down) {
		t.Errorf("unreachable store: want %v, got %v", down, got.Data[1].Err)
	}
	if !errors.Is(got.Data[2].Err, provider.ErrNotFound) {
		t.Errorf("missing property: want ErrNotFound, got %v", got.Data[2].Err)
	}
	if got.Data[3].Err != nil || string(got.Data[3].Value) != "1" {
		t.Errorf("good entry: got %q, %v", got.Data[3].Value, got.Data[3].Err)
	}
	if got.DataFrom[0].Err == nil {
		t.Errorf("find on a client that cannot find: want an error")
	}
}

func TestFetchUsesSourceRefStores(t *testing.T) {
	ctrl := gomock.NewController(t)
	main, other := mock.NewMockClient(ctrl), mock.NewMockClient(ctrl)
	main.EXPECT().GetSecret(gomock.Any(), provider.Ref{Key: "k"}).Return(provider.NewJSONSecret([]byte("from-main")), nil)
	other.EXPECT().GetSecret(gomock.Any(), provider.Ref{Key: "k"}).Return(provider.NewJSONSecret([]byte("from-other")), nil)
	var (
		mu    sync.Mutex
		asked []externalsecret.SecretStoreRef
	)
	clients := clientsFunc(func(_ context.Context, ref externalsecret.SecretStoreRef) (provider.Client, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, ref)
		if ref.Name == "other" {
			return other, nil
		}
		return main, nil
	})
	es := newES(func(es *externalsecret.ExternalSecret) {
		es.Spec.Data = []externalsecret.Data{
			{SecretKey: "a", RemoteRef: externalsecret.RemoteRef{Key: "k"}},
			{SecretKey: "b", RemoteRef: externalsecret.RemoteRef{Key: "k"}, SourceRef: &externalsecret.StoreSourceRef{
				SecretStoreRef: externalsecret.SecretStoreRef{Name: "other", Kind: "ClusterSecretStore"}}},
		}
	})
	got := Fetch(context.Background(), es, clients)
	if string(got.Data[0].Value) != "from-main" || string(got.Data[1].Value) != "from-other" {
		t.Errorf("got %q and %q", got.Data[0].Value, got.Data[1].Value)
	}
	if len(asked) != 2 {
		t.Errorf("want one client per store, asked %v", asked)
	}
}

// A credential the host cannot find is not a remote secret that is gone:
// under deletionPolicy Delete it must never delete the Secret.
func TestFetchStoreErrorsAreNeverNotFound(t *testing.T) {
	clients := clientsFunc(func(context.Context, externalsecret.SecretStoreRef) (provider.Client, error) {
		return nil, fmt.Errorf("read key \"token\" of Secret ns/creds: %w", provider.ErrNotFound)
	})
	es := newES(withPolicy(externalsecret.CreatePolicyOwner, externalsecret.DeletionPolicyDelete))
	f := Fetch(context.Background(), es, clients)
	for i, r := range f.Data {
		if r.Err == nil || errors.Is(r.Err, provider.ErrNotFound) {
			t.Errorf("data[%d]: want a store error that is not ErrNotFound, got %v", i, r.Err)
		}
	}
	existing := syncedSecret(t, es, "admin", "s3cret")
	out := Reconcile(Input{ExternalSecret: syncedES(t, es, "admin", "s3cret"), Existing: existing, Fetched: f, Now: now})
	if out.Action != ActionNone || out.Err == nil {
		t.Errorf("want the Secret kept and an error, got %s, %v", out.Action, out.Err)
	}
}

package kubernetes_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/kubernetes"
	"github.com/secretsync/secretsync/secretstore"
)

// A store reads with the ServiceAccount it names and with nothing else:
// the apiserver's RBAC decides, against that ServiceAccount, and the
// controller's identity (here an administrator, given to WithLocalCluster)
// is never used.
func TestTenancy(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	storeNS := s.namespace(t, "app")
	allowed, denied := s.namespace(t, "allowed"), s.namespace(t, "denied")
	s.serviceAccount(t, storeNS, "reader")
	s.serviceAccount(t, storeNS, "nobody")
	s.grantRead(t, allowed, serviceAccountSubject(storeNS, "reader"))
	for _, ns := range []string{allowed, denied} {
		s.secret(t, ns, "db", map[string]string{"password": canary}, nil, nil)
	}
	// The identity the provider was given can read everything.
	if _, err := s.admin.CoreV1().Secrets(denied).Get(ctx, "db", metav1.GetOptions{}); err != nil {
		t.Fatalf("the administrator cannot read: %v", err)
	}
	p := s.local()

	t.Run("the allowed namespace reads", func(t *testing.T) {
		c := s.client(t, p, store(storeNS, allowed, "reader"))
		got, err := read(ctx, c, provider.Ref{Key: "db"}, "password")
		if err != nil || string(got) != canary {
			t.Fatalf("read: %v", err)
		}
		if err := c.(provider.Validator).Validate(ctx); err != nil {
			t.Errorf("Validate: %v", err)
		}
	})

	t.Run("a ClusterSecretStore reads as the ServiceAccount it names, namespace and all", func(t *testing.T) {
		ns := storeNS
		cs := &secretstore.ClusterSecretStore{
			ObjectMeta: metav1.ObjectMeta{Name: "k8s-" + storeNS},
			Spec:       *store(storeNS, allowed, "reader").Spec.DeepCopy(),
		}
		cs.Spec.Provider.Kubernetes.Auth.ServiceAccount.Namespace = &ns
		c := s.client(t, p, cs)
		if got, err := read(ctx, c, provider.Ref{Key: "db"}, "password"); err != nil || string(got) != canary {
			t.Fatalf("read: %v", err)
		}
		cs.Spec.Provider.Kubernetes.RemoteNamespace = denied
		c = s.client(t, p, cs)
		if _, err := c.GetSecret(ctx, provider.Ref{Key: "db"}); !errors.Is(err, kubernetes.ErrPermissionDenied) {
			t.Errorf("want ErrPermissionDenied, got %v", err)
		}
	})

	denials := map[string]*secretstore.SecretStore{
		"a namespace the ServiceAccount has no Role in":         store(storeNS, denied, "reader"),
		"a ServiceAccount with no RBAC, though the host has it": store(storeNS, allowed, "nobody"),
	}
	for name, st := range denials {
		t.Run(name, func(t *testing.T) {
			c := s.client(t, p, st)
			remote := st.Spec.Provider.Kubernetes.RemoteNamespace
			sa := st.Spec.Provider.Kubernetes.Auth.ServiceAccount.Name
			_, err := c.GetSecret(ctx, provider.Ref{Key: "db"})
			if !errors.Is(err, kubernetes.ErrPermissionDenied) || errors.Is(err, provider.ErrNotFound) {
				t.Fatalf("want ErrPermissionDenied, got %v", err)
			}
			// Readable: it names the Secret, the user the apiserver saw,
			// and what was refused.
			for _, want := range []string{"get Secret " + remote + "/db", "system:serviceaccount:" + storeNS + ":" + sa, `cannot get resource "secrets"`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error lacks %q: %v", want, err)
				}
			}
			_, err = c.(provider.Finder).Find(ctx, provider.Find{})
			if !errors.Is(err, kubernetes.ErrPermissionDenied) {
				t.Errorf("Find: want ErrPermissionDenied, got %v", err)
			}
			err = c.(provider.Validator).Validate(ctx)
			if !errors.Is(err, kubernetes.ErrPermissionDenied) || !strings.Contains(err.Error(), remote) {
				t.Errorf("Validate: want ErrPermissionDenied naming %s, got %v", remote, err)
			}
		})
	}

	// Refusals made before any request: no token is asked for.
	other := allowed
	refusals := map[string]struct {
		store *secretstore.SecretStore
		p     *kubernetes.Provider
		want  string
	}{
		"a ServiceAccount of another namespace": {
			store: func() *secretstore.SecretStore {
				st := store(storeNS, allowed, "reader")
				st.Spec.Provider.Kubernetes.Auth.ServiceAccount.Namespace = &other
				return st
			}(),
			p: p, want: `may only name namespace "` + storeNS + `"`,
		},
		"no auth at all": {
			store: func() *secretstore.SecretStore {
				st := store(storeNS, allowed, "reader")
				st.Spec.Provider.Kubernetes.Auth = nil
				return st
			}(),
			p: p, want: "never reads with the controller's own credentials",
		},
		"an empty auth": {
			store: func() *secretstore.SecretStore {
				st := store(storeNS, allowed, "reader")
				st.Spec.Provider.Kubernetes.Auth = &secretstore.KubernetesAuth{}
				return st
			}(),
			p: p, want: "set one of",
		},
		"the local cluster, unknown to the provider": {
			store: store(storeNS, allowed, "reader"), p: kubernetes.New(), want: "knows none",
		},
	}
	for name, tc := range refusals {
		t.Run("refuses "+name, func(t *testing.T) {
			before := s.creds.tokenRequests.Load()
			_, err := tc.p.NewClient(ctx, tc.store, s.creds)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want an error containing %q, got %v", tc.want, err)
			}
			if n := s.creds.tokenRequests.Load() - before; n != 0 {
				t.Errorf("%d TokenRequests; want none", n)
			}
		})
	}

	t.Run("a ServiceAccount that does not exist fails when the client is built", func(t *testing.T) {
		_, err := p.NewClient(ctx, store(storeNS, allowed, "ghost"), s.creds)
		if err == nil || !strings.Contains(err.Error(), "ServiceAccount "+storeNS+"/ghost") {
			t.Errorf("want an error naming the ServiceAccount, got %v", err)
		}
	})
}

// A client requests one token and reuses it for every read, Find and
// Validate, until four fifths of its hour have passed, or until the
// apiserver rejects it.
func TestTokenReuse(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	storeNS, remoteNS := s.reader(t)
	s.secret(t, remoteNS, "db", map[string]string{"password": canary}, nil, nil)

	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }

	requests := func() int64 { return s.creds.tokenRequests.Load() }
	start := requests()
	c := s.client(t, s.local(kubernetes.WithClock(clock)), store(storeNS, remoteNS, "reader"))

	const reads = 60
	var wg sync.WaitGroup
	errs := make(chan error, reads)
	for i := 0; i < reads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch i % 6 {
			case 0:
				_, err = c.(provider.Finder).Find(ctx, provider.Find{Name: "db"})
			case 1:
				err = c.(provider.Validator).Validate(ctx)
			default:
				_, err = read(ctx, c, provider.Ref{Key: "db"}, "password")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// NewClient asked for the token, and nothing asked since.
	t.Logf("NewClient and %d concurrent reads, Finds and Validates: %d TokenRequests", reads, requests()-start)
	if n := requests() - start; n != 1 {
		t.Fatalf("%d TokenRequests for NewClient and %d reads; want 1", n, reads)
	}

	// 47 minutes in, the hour-long token is still good.
	advance(47 * time.Minute)
	if _, err := read(ctx, c, provider.Ref{Key: "db"}, "password"); err != nil {
		t.Fatal(err)
	}
	if n := requests() - start; n != 1 {
		t.Fatalf("a token 47 minutes old was replaced (%d requests)", n)
	}
	// Past 48 minutes, four fifths of its life, it is replaced once.
	advance(2 * time.Minute)
	for i := 0; i < 10; i++ {
		if _, err := read(ctx, c, provider.Ref{Key: "db"}, "password"); err != nil {
			t.Fatal(err)
		}
	}
	if n := requests() - start; n != 2 {
		t.Fatalf("%d TokenRequests after 49 minutes and 10 reads; want 2", n)
	}

	// A ServiceAccount deleted and made again: the apiserver rejects the
	// old token (bound to the old one's UID), and the next read asks for
	// a new one.
	if err := s.admin.CoreV1().ServiceAccounts(storeNS).Delete(ctx, "reader", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	s.serviceAccount(t, storeNS, "reader")
	advance(time.Minute)
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		_, last = c.GetSecret(ctx, provider.Ref{Key: "db"})
		return errors.Is(last, kubernetes.ErrUnauthorized), nil
	})
	if err != nil {
		t.Fatalf("the old token was not rejected: %v", last)
	}
	if n := requests() - start; n != 2 {
		t.Fatalf("%d TokenRequests before the rejected token was replaced; want 2", n)
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		_, last = c.GetSecret(ctx, provider.Ref{Key: "db"})
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("no read succeeded with a new token: %v", last)
	}
	if n := requests() - start; n != 3 {
		t.Errorf("%d TokenRequests after the rejected token; want 3", n)
	}
}

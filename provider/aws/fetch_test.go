package aws_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/reconcile"
)

type oneClient struct{ c provider.Client }

func (o oneClient) Client(context.Context, externalsecret.SecretStoreRef) (provider.Client, error) {
	return o.c, nil
}

// externalSecrets returns n ExternalSecrets; the i-th reads props of the
// secret key(i).
func externalSecrets(n int, key func(i int) string, props ...string) []*externalsecret.ExternalSecret {
	out := make([]*externalsecret.ExternalSecret, n)
	for i := range out {
		es := &externalsecret.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("es-%d", i), Namespace: namespace}}
		es.Spec.SecretStoreRef = externalsecret.SecretStoreRef{Name: "aws"}
		for _, p := range props {
			es.Spec.Data = append(es.Spec.Data, externalsecret.Data{SecretKey: p, RemoteRef: externalsecret.RemoteRef{Key: key(i), Property: p}})
		}
		out[i] = es
	}
	return out
}

// refresh fetches every ExternalSecret with reconcile.Fetch, workers at a
// time as the controller's workers do, and fails on any read error.
func refresh(t testing.TB, c provider.Client, ess []*externalsecret.ExternalSecret, workers int) {
	t.Helper()
	work := make(chan *externalsecret.ExternalSecret)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for es := range work {
				for _, r := range reconcile.Fetch(context.Background(), es, oneClient{c}).Data {
					if r.Err != nil {
						mu.Lock()
						failed = r.Err
						mu.Unlock()
					}
				}
			}
		}()
	}
	for _, es := range ess {
		work <- es
	}
	close(work)
	wg.Wait()
	if failed != nil {
		t.Fatal(failed)
	}
}

var llmKeys = []string{"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "MISTRAL_API_KEY"}

func seedLLMKeys(emu *awsemu.Server, name string) {
	emu.PutSecret(name, `{"ANTHROPIC_API_KEY":"a","OPENAI_API_KEY":"o","MISTRAL_API_KEY":"m"}`)
}

// TestCallsPerRefresh measures the AWS calls one refresh of 100
// ExternalSecrets makes through reconcile.Fetch, which reads each distinct
// secret once per ExternalSecret; reads shared across ExternalSecrets are
// deduplicated only by the provider's batching of concurrent reads. The
// emulator answers after 2ms, a fast AWS round trip.
func TestCallsPerRefresh(t *testing.T) {
	scenarios := map[string]struct {
		ess []*externalsecret.ExternalSecret
		// sequential is the exact count with one worker: one read per
		// ExternalSecret.
		sequential int
	}{
		"100 ExternalSecrets sharing 10 secrets": {
			ess:        externalSecrets(100, func(i int) string { return fmt.Sprintf("shared/%d", i%10) }, llmKeys[:2]...),
			sequential: 100,
		},
		"100 ExternalSecrets, 3 properties of one secret each": {
			ess:        externalSecrets(100, func(i int) string { return "one" }, llmKeys...),
			sequential: 100,
		},
	}
	for name, sc := range scenarios {
		for _, workers := range []int{1, 16} {
			for _, batching := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%d workers/batching %v", name, workers, batching), func(t *testing.T) {
					h := newHarness(t)
					h.needEmulator()
					for i := 0; i < 10; i++ {
						seedLLMKeys(h.emu, fmt.Sprintf("shared/%d", i))
					}
					seedLLMKeys(h.emu, "one")
					h.emu.SetLatency(2 * time.Millisecond)
					var opts []aws.Option
					if !batching {
						opts = append(opts, aws.WithoutBatching())
					}
					c := h.client(sm, nil, opts...)
					h.emu.ResetCalls()
					start := time.Now()
					refresh(t, c, sc.ess, workers)
					calls := h.emu.TotalCalls("")
					t.Logf("%d AWS calls in %v: %v", calls, time.Since(start).Round(time.Millisecond), h.emu.CallCounts())
					if workers == 1 && calls != sc.sequential {
						t.Errorf("%d calls, want %d", calls, sc.sequential)
					}
					if calls > sc.sequential {
						t.Errorf("%d calls, more than one per ExternalSecret", calls)
					}
				})
			}
		}
	}
}

func BenchmarkRefresh100ExternalSecrets(b *testing.B) {
	for _, workers := range []int{1, 16} {
		b.Run(fmt.Sprintf("%d workers", workers), func(b *testing.B) {
			emu := awsemu.New("eu-west-1")
			defer emu.Close()
			for i := 0; i < 10; i++ {
				seedLLMKeys(emu, fmt.Sprintf("shared/%d", i))
			}
			emu.SetLatency(2 * time.Millisecond)
			h := &harness{creds: &fake.Credentials{}, region: "eu-west-1"}
			h.creds.SetSecret(namespace, "aws", "id", awsemu.AccessKeyID)
			h.creds.SetSecret(namespace, "aws", "secret", awsemu.SecretAccessKey)
			c, err := aws.New(aws.WithEndpoint(emu.URL)).NewClient(context.Background(), h.store(sm, nil), h.creds)
			if err != nil {
				b.Fatal(err)
			}
			ess := externalSecrets(100, func(i int) string { return fmt.Sprintf("shared/%d", i%10) }, llmKeys[:2]...)
			emu.ResetCalls()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				refresh(b, c, ess, workers)
			}
			b.ReportMetric(float64(emu.TotalCalls(""))/float64(b.N), "calls/refresh")
		})
	}
}

// cachedClients gives each ExternalSecret the provider client through the
// shared read cache, as the reference controller does.
type cachedClients struct {
	cache *reconcile.Cache
	c     provider.Client
	es    *externalsecret.ExternalSecret
}

func (cc cachedClients) Client(context.Context, externalsecret.SecretStoreRef) (provider.Client, error) {
	return cc.cache.Client(cc.c, reconcile.StoreID{Kind: "SecretStore", Name: "aws"}, types.NamespacedName{Namespace: cc.es.Namespace, Name: cc.es.Name}, time.Hour), nil
}

// With the controller's shared read cache, one refresh of 100
// ExternalSecrets makes one call per distinct remote secret.
func TestCallsPerRefreshWithSharedReads(t *testing.T) {
	scenarios := map[string]struct {
		ess  []*externalsecret.ExternalSecret
		want int
	}{
		"100 ExternalSecrets sharing 10 secrets": {
			ess:  externalSecrets(100, func(i int) string { return fmt.Sprintf("shared/%d", i%10) }, llmKeys[:2]...),
			want: 10,
		},
		"100 ExternalSecrets, 3 properties of one shared secret": {
			ess:  externalSecrets(100, func(i int) string { return "one" }, llmKeys...),
			want: 1,
		},
		"100 ExternalSecrets, 3 properties of their own secret": {
			ess:  externalSecrets(100, func(i int) string { return fmt.Sprintf("own/%d", i) }, llmKeys...),
			want: 100,
		},
	}
	for name, sc := range scenarios {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.needEmulator()
			for i := 0; i < 100; i++ {
				seedLLMKeys(h.emu, fmt.Sprintf("shared/%d", i%10))
				seedLLMKeys(h.emu, fmt.Sprintf("own/%d", i))
			}
			seedLLMKeys(h.emu, "one")
			h.emu.SetLatency(2 * time.Millisecond)
			c := h.client(sm, nil, aws.WithoutBatching())
			cache := reconcile.NewCache(reconcile.CacheOptions{})
			h.emu.ResetCalls()
			work := make(chan *externalsecret.ExternalSecret)
			var wg sync.WaitGroup
			for w := 0; w < 16; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for es := range work {
						for _, r := range reconcile.Fetch(context.Background(), es, cachedClients{cache, c, es}).Data {
							if r.Err != nil {
								t.Error(r.Err)
							}
						}
					}
				}()
			}
			for _, es := range sc.ess {
				work <- es
			}
			close(work)
			wg.Wait()
			calls := h.emu.Calls("secretsmanager:GetSecretValue")
			t.Logf("%d GetSecretValue calls for %d ExternalSecrets", calls, len(sc.ess))
			if calls != sc.want {
				t.Errorf("%d calls, want %d (one per distinct remote secret)", calls, sc.want)
			}
		})
	}
}

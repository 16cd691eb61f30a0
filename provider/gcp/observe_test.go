package gcp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/grpc/codes"

	"github.com/secretsync/secretsync/internal/gcpemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/gcp"
	"github.com/secretsync/secretsync/secretstore"
)

// recorder keeps the Calls a provider reports.
type recorder struct {
	mu    sync.Mutex
	calls []gcp.Call
}

func (r *recorder) observe(c gcp.Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

// call is a gcp.Call as tests compare it: its error cut to the method and
// the gRPC code or HTTP status.
type call struct {
	Service, Operation  string
	Attempts, Throttled int
	Err                 string
	NotFound            bool
}

// got returns the calls of service, or of every service if it is empty,
// in the order they were reported. It fails the test if a call carries a
// value.
func (r *recorder) got(t *testing.T, service string) []call {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []call{}
	for _, c := range r.calls {
		if s := fmt.Sprintf("%+v", c); strings.Contains(s, canary) {
			t.Errorf("a call carries a value: %s", s)
		}
		if service != "" && c.Service != service {
			continue
		}
		got := call{Service: c.Service, Operation: c.Operation, Attempts: c.Attempts, Throttled: c.Throttled}
		if c.Err != nil {
			parts := strings.SplitN(c.Err.Error(), ": ", 3)
			got.Err = strings.Join(parts[:min(2, len(parts))], ": ")
			got.NotFound = errors.Is(c.Err, provider.ErrNotFound)
		}
		out = append(out, got)
	}
	return out
}

const sm = "Secret Manager"

func TestCallObserver(t *testing.T) {
	ok := func(op string) call { return call{Service: sm, Operation: op, Attempts: 1} }
	readDB := func(c provider.Client) error {
		_, err := read(c, provider.Ref{Key: "db"}, "")
		return err
	}
	findAll := func(c provider.Client) error {
		_, err := c.(provider.Finder).Find(context.Background(), provider.Find{})
		return err
	}
	tests := map[string]struct {
		fail func(*gcpemu.Server)
		spec func(*secretstore.GCPSMProvider)
		do   func(provider.Client) error
		// want are the Secret Manager calls, in any order: a listing
		// reads its secrets concurrently.
		want []call
	}{
		"a read": {
			do:   readDB,
			want: []call{ok("AccessSecretVersion")},
		},
		"two reads are two calls": {
			do: func(c provider.Client) error {
				readDB(c)
				return readDB(c)
			},
			want: []call{ok("AccessSecretVersion"), ok("AccessSecretVersion")},
		},
		"labels and annotations": {
			do: func(c provider.Client) error {
				_, err := read(c, provider.Ref{Key: "db", Metadata: true}, "")
				return err
			},
			want: []call{ok("GetSecret")},
		},
		"a missing secret is ErrNotFound, in one attempt": {
			do: func(c provider.Client) error {
				read(c, provider.Ref{Key: "missing"}, "")
				return nil
			},
			want: []call{{Service: sm, Operation: "AccessSecretVersion", Attempts: 1, Err: "Secret Manager AccessSecretVersion: NotFound", NotFound: true}},
		},
		"a key that is not a secret ID makes no call": {
			do: func(c provider.Client) error {
				read(c, provider.Ref{Key: "a/b"}, "")
				return nil
			},
			want: []call{},
		},
		"unavailable, retried": {
			fail: func(e *gcpemu.Server) { e.FailNext("AccessSecretVersion", codes.Unavailable, 2) },
			do:   readDB,
			want: []call{{Service: sm, Operation: "AccessSecretVersion", Attempts: 3}},
		},
		"resource exhausted, retried, is throttled": {
			fail: func(e *gcpemu.Server) { e.FailNext("AccessSecretVersion", codes.ResourceExhausted, 1) },
			do:   readDB,
			want: []call{{Service: sm, Operation: "AccessSecretVersion", Attempts: 2, Throttled: 1}},
		},
		"throttled, then unavailable": {
			fail: func(e *gcpemu.Server) {
				e.FailNext("AccessSecretVersion", codes.ResourceExhausted, 1)
				e.FailNext("*", codes.Unavailable, 1)
			},
			do:   readDB,
			want: []call{{Service: sm, Operation: "AccessSecretVersion", Attempts: 3, Throttled: 1}},
		},
		"retries end with the last error": {
			fail: func(e *gcpemu.Server) { e.FailNext("AccessSecretVersion", codes.ResourceExhausted, 10) },
			do: func(c provider.Client) error {
				read(c, provider.Ref{Key: "db"}, "")
				return nil
			},
			want: []call{{Service: sm, Operation: "AccessSecretVersion", Attempts: 3, Throttled: 3, Err: "Secret Manager AccessSecretVersion: ResourceExhausted"}},
		},
		"internal errors, not retried": {
			fail: func(e *gcpemu.Server) { e.FailNext("AccessSecretVersion", codes.Internal, 1) },
			do: func(c provider.Client) error {
				read(c, provider.Ref{Key: "db"}, "")
				return nil
			},
			want: []call{{Service: sm, Operation: "AccessSecretVersion", Attempts: 1, Err: "Secret Manager AccessSecretVersion: Internal"}},
		},
		"LatestOrFetch past a disabled latest version": {
			fail: func(e *gcpemu.Server) { e.SetVersionState("db", e.PutSecret("db", canary), gcpemu.Disabled) },
			spec: fetch,
			do:   readDB,
			want: []call{
				ok("AccessSecretVersion"),
				{Service: sm, Operation: "AccessSecretVersion", Attempts: 1, Err: "Secret Manager AccessSecretVersion: FailedPrecondition"},
				ok("ListSecretVersions"),
			},
		},
		"a call per page of a listing": {
			do: findAll,
			want: []call{
				ok("AccessSecretVersion"), ok("AccessSecretVersion"), ok("AccessSecretVersion"),
				ok("AccessSecretVersion"), ok("AccessSecretVersion"),
				ok("ListSecrets"), ok("ListSecrets"), ok("ListSecrets"),
			},
		},
		"a throttled page": {
			fail: func(e *gcpemu.Server) { e.FailNext("ListSecrets", codes.ResourceExhausted, 1) },
			do:   findAll,
			want: []call{
				ok("AccessSecretVersion"), ok("AccessSecretVersion"), ok("AccessSecretVersion"),
				ok("AccessSecretVersion"), ok("AccessSecretVersion"),
				ok("ListSecrets"), ok("ListSecrets"),
				{Service: sm, Operation: "ListSecrets", Attempts: 2, Throttled: 1},
			},
		},
		"a listing refused": {
			fail: func(e *gcpemu.Server) { e.Deny("ListSecrets") },
			do: func(c provider.Client) error {
				findAll(c)
				return nil
			},
			want: []call{{Service: sm, Operation: "ListSecrets", Attempts: 1, Err: "Secret Manager ListSecrets: PermissionDenied"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.emu.PutSecret("db", canary)
			for i := 0; i < 4; i++ {
				h.emu.PutSecret(fmt.Sprintf("s%d", i), canary)
			}
			h.emu.SetMaxPageSize(2)
			if tc.fail != nil {
				tc.fail(h.emu)
			}
			var r recorder
			if err := tc.do(h.client(tc.spec, gcp.WithCallObserver(r.observe))); err != nil {
				t.Fatal(err)
			}
			anyOrder := cmpopts.SortSlices(func(a, b call) bool { return fmt.Sprint(a) < fmt.Sprint(b) })
			if diff := cmp.Diff(tc.want, r.got(t, sm), anyOrder); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

// Token requests are calls of their own, made when a token is needed, not
// on every read.
func TestCallObserverTokens(t *testing.T) {
	throttling := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The emulator's HTTP endpoints cannot be told to throttle.
		http.Error(w, `{"error":"rate_limit_exceeded"}`, http.StatusTooManyRequests)
	}))
	t.Cleanup(throttling.Close)

	okCall := func(service, op string) call { return call{Service: service, Operation: op, Attempts: 1} }
	token := okCall("OAuth 2.0", "Token")
	exchange := okCall("STS", "ExchangeToken")
	generate := okCall("IAM Credentials", "GenerateAccessToken")
	access := okCall(sm, "AccessSecretVersion")
	unauthenticated := call{Service: sm, Operation: "AccessSecretVersion", Attempts: 1, Err: "Secret Manager AccessSecretVersion: Unauthenticated"}
	tests := map[string]struct {
		spec func(*secretstore.GCPSMProvider)
		opts []gcp.Option
		// validate calls Validate instead of reading twice.
		validate bool
		// want are the calls in the order they are made: a token is
		// requested during the first read's attempt.
		want []call
	}{
		"a service-account key": {
			want: []call{token, access, access},
		},
		"Validate gets a token": {
			validate: true,
			want:     []call{token},
		},
		"a throttled token endpoint": {
			opts: []gcp.Option{gcp.WithTokenURL(throttling.URL)},
			want: []call{
				{Service: "OAuth 2.0", Operation: "Token", Attempts: 1, Throttled: 1, Err: "OAuth 2.0 Token: 429 Too Many Requests"},
				unauthenticated,
			},
		},
		"workload identity": {
			spec: workloadIdentity("reader"),
			want: []call{exchange, access, access},
		},
		"workload identity, impersonating": {
			spec: workloadIdentity("impersonator"),
			want: []call{exchange, generate, access, access},
		},
		"impersonation IAM does not allow": {
			spec: workloadIdentity("pretender"),
			want: []call{
				exchange,
				{Service: "IAM Credentials", Operation: "GenerateAccessToken", Attempts: 1, Err: "IAM Credentials GenerateAccessToken: 403 Forbidden"},
				unauthenticated,
			},
		},
		"a cluster STS does not know": {
			spec: func(g *secretstore.GCPSMProvider) {
				workloadIdentity("reader")(g)
				g.Auth.WorkloadIdentity.ClusterName = "staging"
			},
			want: []call{
				{Service: "STS", Operation: "ExchangeToken", Attempts: 1, Err: "STS ExchangeToken: 400 Bad Request"},
				unauthenticated,
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newWorkloadIdentityHarness(t)
			h.emu.PutSecret("db", canary)

			var r recorder
			c := h.client(tc.spec, append(tc.opts, gcp.WithCallObserver(r.observe))...)
			if tc.validate {
				if err := c.(provider.Validator).Validate(context.Background()); err != nil {
					t.Fatal(err)
				}
			} else {
				for i := 0; i < 2; i++ {
					if _, err := read(c, provider.Ref{Key: "db"}, ""); err != nil {
						break
					}
				}
			}
			if diff := cmp.Diff(tc.want, r.got(t, "")); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/provider"
)

// panicClient panics with a secret value in the panic, as a buggy
// provider might.
type panicClient struct{}

func (panicClient) GetSecret(context.Context, provider.Ref) (provider.Secret, error) {
	panic("boom: " + canaryValue)
}

func (panicClient) Find(context.Context, provider.Find) (map[string][]byte, error) {
	panic("boom: " + canaryValue)
}

// panicValue is a Secret whose accessors panic.
type panicValue struct{ provider.Secret }

func (panicValue) Value() ([]byte, error) { panic("boom: " + canaryValue) }

type panicValueClient struct{}

func (panicValueClient) GetSecret(context.Context, provider.Ref) (provider.Secret, error) {
	return panicValue{}, nil
}

const canaryValue = "canary-7f3a-value"

func TestFetchSurvivesBadProvidersAndClients(t *testing.T) {
	var typedNil *panicValueClient
	tests := map[string]struct {
		clients Clients
		// wantData and wantDataFrom are substrings of each entry's error.
		wantData, wantDataFrom string
	}{
		"a provider that panics in GetSecret and Find": {
			clients:      oneClient(panicClient{}),
			wantData:     "panicked",
			wantDataFrom: "panicked",
		},
		"a Secret whose Value panics": {
			clients:      oneClient(panicValueClient{}),
			wantData:     "panicked",
			wantDataFrom: "cannot find",
		},
		"Clients that returns no client and no error": {
			clients:      oneClient(nil),
			wantData:     "no client and no error",
			wantDataFrom: "no client and no error",
		},
		"Clients that returns a typed nil client": {
			clients:      oneClient(typedNil),
			wantData:     "no client and no error",
			wantDataFrom: "no client and no error",
		},
		"Clients that panics": {
			clients: clientsFunc(func(context.Context, externalsecret.SecretStoreRef) (provider.Client, error) {
				panic("boom: " + canaryValue)
			}),
			wantData:     "panicked",
			wantDataFrom: "panicked",
		},
		"no Clients at all": {
			clients:      nil,
			wantData:     "no Clients",
			wantDataFrom: "no Clients",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			es := newES(func(es *externalsecret.ExternalSecret) {
				es.Spec.Data = []externalsecret.Data{
					{SecretKey: "a", RemoteRef: externalsecret.RemoteRef{Key: "db"}},
					{SecretKey: "b", RemoteRef: externalsecret.RemoteRef{Key: "db"}},
				}
				es.Spec.DataFrom = []externalsecret.DataFrom{{Find: &externalsecret.Find{Name: &externalsecret.FindName{RegExp: ".*"}}}}
			})
			got := Fetch(context.Background(), es, tc.clients)
			for i, r := range got.Data {
				if r.Err == nil || !strings.Contains(r.Err.Error(), tc.wantData) {
					t.Errorf("data[%d]: error %v, want one containing %q", i, r.Err, tc.wantData)
				}
				if r.Err != nil && strings.Contains(r.Err.Error(), canaryValue) {
					t.Errorf("data[%d]: the error shows the panic's value", i)
				}
				if errors.Is(r.Err, provider.ErrNotFound) {
					t.Errorf("data[%d]: a broken provider must never read as not found", i)
				}
			}
			if r := got.DataFrom[0]; r.Err == nil || !strings.Contains(r.Err.Error(), tc.wantDataFrom) {
				t.Errorf("dataFrom[0]: error %v, want one containing %q", r.Err, tc.wantDataFrom)
			}

			// Reconcile turns it into a failed status, not a write.
			out := Reconcile(Input{ExternalSecret: es, Fetched: got, Now: now})
			if out.Err == nil || out.Action != ActionNone {
				t.Fatalf("Reconcile: action %s, err %v; want None and an error", out.Action, out.Err)
			}
			c := out.Status.ReadyCondition()
			if c == nil || c.Status != corev1.ConditionFalse || strings.Contains(c.Message, canaryValue) {
				t.Errorf("status condition %+v: want Ready False without the value", c)
			}
		})
	}
}

func TestReconcileIncompleteInput(t *testing.T) {
	tests := map[string]struct {
		in   Input
		want string
	}{
		"zero Input":        {in: Input{}, want: "ExternalSecret is nil"},
		"no ExternalSecret": {in: Input{Now: now, Fetched: &Fetched{}}, want: "ExternalSecret is nil"},
		"zero Now":          {in: Input{ExternalSecret: newES(), Fetched: fetched("u", "p")}, want: "Now is the zero time"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out := Reconcile(tc.in)
			if !errors.Is(out.Err, ErrIncompleteInput) || !strings.Contains(out.Err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrIncompleteInput naming %q", out.Err, tc.want)
			}
			if out.Action != ActionNone || out.StatusChanged || out.Secret != nil {
				t.Errorf("an incomplete input must decide nothing: %+v", out)
			}
		})
	}
	if Fetch(context.Background(), nil, nil) == nil {
		t.Error("Fetch of a nil ExternalSecret returned nil")
	}
}

func TestReconcileOwnerOverride(t *testing.T) {
	es := newES(withPolicy(externalsecret.CreatePolicyOwner, externalsecret.DeletionPolicyRetain))
	owner := metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "SecretReference", Name: "db", UID: "uid-of-secretreference"}
	out := Reconcile(Input{ExternalSecret: es, Fetched: fetched("u", "p"), Now: now, Owner: &owner})
	if out.Action != ActionCreate {
		t.Fatalf("action %s, err %v", out.Action, out.Err)
	}
	refs := out.Secret.OwnerReferences
	if len(refs) != 1 || refs[0].Kind != "SecretReference" || refs[0].UID != "uid-of-secretreference" || refs[0].Controller == nil || !*refs[0].Controller {
		t.Fatalf("owner references %+v: want the SecretReference as controller", refs)
	}
	// The Secret it owns is its own: an unchanged reconcile writes nothing.
	existing := out.Secret.DeepCopy()
	existing.ResourceVersion = "1"
	again := Reconcile(Input{ExternalSecret: es, Fetched: fetched("u", "p"), Existing: existing, Now: now.Add(time.Minute), Owner: &owner})
	if again.Action != ActionNone || again.Err != nil {
		t.Errorf("second reconcile: action %s, err %v; want None", again.Action, again.Err)
	}
	// Without the override, the Secret belongs to someone else.
	other := Reconcile(Input{ExternalSecret: es, Fetched: fetched("u", "p"), Existing: existing, Now: now})
	if other.Err == nil || !strings.Contains(other.Err.Error(), "controlled by SecretReference db") {
		t.Errorf("err %v: want the Secret reported as controlled by the SecretReference", other.Err)
	}
}

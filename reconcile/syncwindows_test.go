package reconcile

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
)

func TestRefreshAllowed(t *testing.T) {
	// A window open daily 22:00-00:00 UTC, both ends included.
	nightly := externalsecret.SyncWindow{Schedule: "0 22 * * *", Duration: metav1.Duration{Duration: 2 * time.Hour}}
	invalid := externalsecret.SyncWindow{Schedule: "not a cron at all", Duration: metav1.Duration{Duration: 2 * time.Hour}}
	open := time.Date(2026, 6, 1, 22, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		sw       *externalsecret.SyncWindows
		at       time.Time
		want     bool
		wantWait time.Duration
	}{
		"no windows":                     {at: open, want: true},
		"an empty list":                  {sw: &externalsecret.SyncWindows{Kind: externalsecret.SyncWindowAllow}, at: open.Add(-time.Hour), want: true},
		"allow, at the opening":          {sw: allow(nightly), at: open, want: true},
		"allow, at the closing":          {sw: allow(nightly), at: open.Add(2 * time.Hour), want: true},
		"allow, a second after closing":  {sw: allow(nightly), at: open.Add(2*time.Hour + time.Second), want: false, wantWait: 22*time.Hour - time.Second},
		"allow, an hour before":          {sw: allow(nightly), at: open.Add(-time.Hour), want: false, wantWait: time.Hour},
		"allow, the next night":          {sw: allow(nightly), at: open.Add(24*time.Hour + 30*time.Minute), want: true},
		"deny, inside":                   {sw: deny(nightly), at: open.Add(30 * time.Minute), want: false, wantWait: 90*time.Minute + time.Second},
		"deny, outside":                  {sw: deny(nightly), at: open.Add(-time.Hour), want: true},
		"allow, only an invalid window":  {sw: allow(invalid), at: open, want: false},
		"deny, only an invalid window":   {sw: deny(invalid), at: open, want: true},
		"allow, an invalid and an open":  {sw: allow(invalid, nightly), at: open, want: true},
		"times in other zones are UTC'd": {sw: allow(nightly), at: open.In(time.FixedZone("UTC+5", 5*3600)), want: true},
		"an unknown kind allows":         {sw: &externalsecret.SyncWindows{Kind: "sometimes", Windows: []externalsecret.SyncWindow{nightly}}, at: open.Add(-time.Hour), want: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			es := newES(func(es *externalsecret.ExternalSecret) { es.Spec.SyncWindows = tc.sw })
			got, wait := RefreshAllowed(es, tc.at)
			if got != tc.want || wait != tc.wantWait {
				t.Errorf("got %v, wait %v; want %v, wait %v", got, wait, tc.want, tc.wantWait)
			}
		})
	}
}

func allow(ws ...externalsecret.SyncWindow) *externalsecret.SyncWindows {
	return &externalsecret.SyncWindows{Kind: externalsecret.SyncWindowAllow, Windows: ws}
}

func deny(ws ...externalsecret.SyncWindow) *externalsecret.SyncWindows {
	return &externalsecret.SyncWindows{Kind: externalsecret.SyncWindowDeny, Windows: ws}
}

// Sync windows hold back the scheduled refresh only: a first sync and a
// missing Secret are due at any time.
func TestDueRespectsSyncWindows(t *testing.T) {
	closed := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) // the nightly window is closed
	withWindow := func(es *externalsecret.ExternalSecret) {
		es.Spec.RefreshInterval = &metav1.Duration{Duration: time.Minute}
		es.Spec.SyncWindows = allow(externalsecret.SyncWindow{Schedule: "0 22 * * *", Duration: metav1.Duration{Duration: 2 * time.Hour}})
	}
	es := newES(withWindow)
	if due, _ := Due(es, nil, time.Time{}, closed); !due {
		t.Error("a first sync waits for the window")
	}
	out := Reconcile(Input{ExternalSecret: es, Fetched: fetched("admin", "s3cret"), Now: closed})
	synced := es.DeepCopy()
	synced.Status = out.Status
	secret := out.Secret.DeepCopy()
	later := closed.Add(10 * time.Minute)
	if due, wait := Due(synced, secret, closed, later); due || wait != 10*time.Hour-10*time.Minute {
		t.Errorf("a refresh outside the window: due %v, wait %v; want not due, wait until 22:00", due, wait)
	}
	if due, _ := Due(synced, nil, closed, later); !due {
		t.Error("a missing Secret waits for the window")
	}
	if due, _ := Due(synced, secret, closed, time.Date(2026, 6, 1, 22, 30, 0, 0, time.UTC)); !due {
		t.Error("a refresh inside the window is not due")
	}
}

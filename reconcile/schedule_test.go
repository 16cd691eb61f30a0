package reconcile

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/secretsync/secretsync/externalsecret"
)

func TestDue(t *testing.T) {
	base := newES()
	secret := syncedSecret(t, base, "admin", "s3cret")
	synced := syncedES(t, base, "admin", "s3cret")
	next := NextRefresh(synced, now)

	edited := secret.DeepCopy()
	edited.Data["password"] = []byte("edited-by-hand")

	changed := synced.DeepCopy()
	changed.Generation = 2

	relabelled := synced.DeepCopy()
	relabelled.Labels = map[string]string{"new": "label"}

	failedSync := synced.DeepCopy()
	failedSync.Status.Conditions[0].Status = corev1.ConditionFalse

	policy := func(p externalsecret.RefreshPolicy, interval time.Duration) *externalsecret.ExternalSecret {
		es := synced.DeepCopy()
		es.Spec.RefreshPolicy = p
		es.Spec.RefreshInterval = &metav1.Duration{Duration: interval}
		es.Status.SyncedResourceVersion = es.SyncVersion()
		return es
	}
	createdOnceChanged := policy(externalsecret.RefreshPolicyCreatedOnce, time.Hour)
	createdOnceChanged.Generation = 5

	merged := synced.DeepCopy()
	merged.Spec.Target.CreationPolicy = externalsecret.CreatePolicyMerge
	merged.Status.SyncedResourceVersion = merged.SyncVersion()

	deleting := synced.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: now}

	tests := map[string]struct {
		es       *externalsecret.ExternalSecret
		secret   *corev1.Secret
		lastRead time.Time
		now      time.Time
		wantDue  bool
		wantWait time.Duration
	}{
		"never synced":                        {es: base, secret: nil, now: now, wantDue: true},
		"synced and read just now":            {es: synced, secret: secret, lastRead: now, now: now, wantWait: next.Sub(now)},
		"synced, read, and the grid passed":   {es: synced, secret: secret, lastRead: now, now: next, wantDue: true},
		"restart: unknown last read waits":    {es: synced, secret: secret, now: now, wantWait: next.Sub(now)},
		"the Secret was deleted by hand":      {es: synced, secret: nil, lastRead: now, now: now, wantDue: true},
		"the Secret was edited by hand":       {es: synced, secret: edited, lastRead: now, now: now, wantDue: true},
		"the spec changed":                    {es: changed, secret: secret, lastRead: now, now: now, wantDue: true},
		"the labels changed":                  {es: relabelled, secret: secret, lastRead: now, now: now, wantDue: true},
		"the last sync failed":                {es: failedSync, secret: secret, lastRead: now, now: now, wantDue: true},
		"interval 0 syncs once":               {es: policy(externalsecret.RefreshPolicyPeriodic, 0), secret: secret, lastRead: now, now: now.Add(100 * time.Hour)},
		"OnChange waits for a change":         {es: policy(externalsecret.RefreshPolicyOnChange, time.Minute), secret: secret, lastRead: now, now: now.Add(100 * time.Hour)},
		"CreatedOnce never refreshes":         {es: policy(externalsecret.RefreshPolicyCreatedOnce, time.Minute), secret: secret, lastRead: now, now: now.Add(100 * time.Hour)},
		"CreatedOnce ignores spec changes":    {es: createdOnceChanged, secret: secret, lastRead: now, now: now},
		"CreatedOnce recreates a lost Secret": {es: policy(externalsecret.RefreshPolicyCreatedOnce, time.Minute), secret: nil, lastRead: now, now: now, wantDue: true},
		"Merge ignores foreign edits":         {es: merged, secret: edited, lastRead: now, now: now, wantWait: next.Sub(now)},
		"being deleted":                       {es: deleting, secret: secret, now: now},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			due, wait := Due(tc.es, tc.secret, tc.lastRead, tc.now)
			if due != tc.wantDue || wait != tc.wantWait {
				t.Errorf("Due: want (%v, %v), got (%v, %v)", tc.wantDue, tc.wantWait, due, wait)
			}
		})
	}
}

func TestNextRefreshIsAGrid(t *testing.T) {
	es := newES()
	first := NextRefresh(es, now)
	if !first.After(now) || first.Sub(now) > time.Hour {
		t.Fatalf("first refresh %v not within an hour after %v", first, now)
	}
	if got := NextRefresh(es, first); !got.Equal(first.Add(time.Hour)) {
		t.Errorf("from a grid point the next is one interval later: want %v, got %v", first.Add(time.Hour), got)
	}
	if got := NextRefresh(es, first.Add(-time.Nanosecond)); !got.Equal(first) {
		t.Errorf("just before a grid point the next is that point: want %v, got %v", first, got)
	}
}

// Ten thousand ExternalSecrets created in the same second must not refresh
// in the same second.
func TestNextRefreshSpreadsLoad(t *testing.T) {
	const n = 10000
	perSecond := map[int64]int{}
	for i := 0; i < n; i++ {
		es := newES(func(es *externalsecret.ExternalSecret) {
			es.UID = types.UID(fmt.Sprintf("uid-%d", i))
			es.Name = fmt.Sprintf("es-%d", i)
		})
		perSecond[NextRefresh(es, now).Unix()]++
	}
	worst := 0
	for _, c := range perSecond {
		worst = max(worst, c)
	}
	// 10,000 over 3,600 seconds is under 3 a second on average.
	if worst > 15 {
		t.Errorf("%d ExternalSecrets refresh in the busiest second; want them spread", worst)
	}
	if len(perSecond) < 3000 {
		t.Errorf("refreshes fall in only %d distinct seconds of 3600", len(perSecond))
	}
}

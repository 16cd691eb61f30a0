package reconcile

import (
	"hash/fnv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/externalsecret"
)

// NextRefresh returns the first time after t at which es is due to be read
// again, or the zero time when it is never read again on a schedule.
//
// Refreshes fall on a grid of period refreshInterval whose phase comes from
// the ExternalSecret's UID, so ExternalSecrets created together spread
// their refreshes over the whole interval instead of refreshing in the
// same second, and a restarted controller finds each one at its own place
// on the grid rather than all of them overdue at once.
func NextRefresh(es *externalsecret.ExternalSecret, t time.Time) time.Time {
	interval := es.RefreshInterval()
	if es.RefreshPolicy() != externalsecret.RefreshPolicyPeriodic || interval <= 0 {
		return time.Time{}
	}
	h := fnv.New64a()
	h.Write([]byte(es.UID))
	h.Write([]byte(es.Namespace + "/" + es.Name))
	period := int64(interval)
	phase := int64(h.Sum64() % uint64(period))
	now := t.UnixNano()
	// The smallest n > now with n ≡ phase (mod period).
	next := now - mod(now-phase, period) + period
	return time.Unix(0, next)
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// Due reports whether es must be read from its stores now. If not, wait is
// how long until it must (zero for never, until something changes).
//
// lastRead is when the caller last read es's values, or the zero time if it
// does not know, as after a restart; then a synced ExternalSecret waits for
// its next place on the refresh grid (see [NextRefresh]).
//
// Besides the schedule, es is due when its spec or metadata changed since
// the last sync, when the last sync failed, and when the Secret it owns is
// missing or was edited by hand. Its sync windows (see [RefreshAllowed])
// hold back only the scheduled refresh.
func Due(es *externalsecret.ExternalSecret, existing *corev1.Secret, lastRead, now time.Time) (due bool, wait time.Duration) {
	return dueWith(es, func() bool { return ownSecretIntact(es, existing) }, lastRead, now)
}

func dueWith(es *externalsecret.ExternalSecret, intact func() bool, lastRead, now time.Time) (bool, time.Duration) {
	if es.DeletionTimestamp != nil {
		return false, 0
	}
	if !synced(es) {
		return true, 0
	}
	policy := es.CreationPolicy()
	if policy != externalsecret.CreatePolicyNone && !intact() {
		return true, 0
	}
	if lastRead.IsZero() {
		lastRead = now
	}
	next := NextRefresh(es, lastRead)
	if next.IsZero() {
		return false, 0
	}
	if next.After(now) {
		return false, next.Sub(now)
	}
	// Only the periodic refresh waits for a sync window; the reasons
	// above do not.
	if ok, wait := RefreshAllowed(es, now); !ok {
		return false, wait
	}
	return true, 0
}

// synced reports whether the last sync of this version of es succeeded.
// An ExternalSecret with refreshPolicy CreatedOnce counts as synced once
// any version of it was.
func synced(es *externalsecret.ExternalSecret) bool {
	if es.RefreshPolicy() == externalsecret.RefreshPolicyCreatedOnce {
		return es.Status.SyncedResourceVersion != ""
	}
	if es.Status.SyncedResourceVersion != es.SyncVersion() {
		return false
	}
	c := es.Status.ReadyCondition()
	return c != nil && c.Status == corev1.ConditionTrue
}

// ownSecretIntact reports whether the Secret es writes exists and, when
// es writes all of it, still holds what es wrote.
func ownSecretIntact(es *externalsecret.ExternalSecret, s *corev1.Secret) bool {
	if s == nil {
		return false
	}
	if p := es.CreationPolicy(); p == externalsecret.CreatePolicyMerge || p == externalsecret.CreatePolicyCreateOrMerge {
		// Other writers own the rest of a merged Secret; changes there are
		// theirs to make. Merged keys are checked at the next refresh.
		return true
	}
	return s.Annotations[AnnotationDataHash] == dataHash(s.Type, s.Data)
}

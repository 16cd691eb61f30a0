package main

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/secretsync/secretsync/provider/fake"
)

// A controller that starts with many ExternalSecrets waiting writes their
// Secrets first and their statuses after, and still writes each exactly
// once: deferring a status costs no second sync and no second write.
func TestE2EBurstWritesEachSecretAndStatusOnce(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	h.apply(t, storeYAML, "store", ns, "")
	const n = 150
	since := time.Now()
	for i := 0; i < n; i++ {
		h.apply(t, esYAML, fmt.Sprintf("app-%03d", i), ns, "1h", "store", fmt.Sprintf("secret-%03d", i), "Owner", "Retain")
	}
	// The value is there before the controller starts: a read before it
	// would miss and be retried, a second read.
	mem := fake.NewMemory()
	mem.Set("db", []byte(`{"user":"admin","password":"burst","token":"`+canary+`"}`))
	// As `controller run` does by default, with no client-side rate limit:
	// at client-go's five requests a second the 300 writes alone take a
	// minute, and a first sync shares reads at most a minute old.
	ctrl := h.startTunedWithMetrics(t, controllerOpts{mem: mem}, newMetrics(nil), nil)

	for i := 0; i < n; i++ {
		h.waitSecretData(t, ns, fmt.Sprintf("secret-%03d", i), "password", "burst")
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("app-%03d", i)
		eventually(t, time.Minute, func() (bool, string) {
			es := h.getES(t, ns, name)
			c := es.Status.ReadyCondition()
			if c == nil || c.Status != corev1.ConditionTrue || es.Status.SyncedResourceVersion != es.SyncVersion() {
				return false, fmt.Sprintf("%s: status %+v", name, es.Status)
			}
			return true, ""
		})
	}
	// The audit log lags the answers a little.
	for _, res := range []string{"secrets", "externalsecrets/status"} {
		eventually(t, 30*time.Second, func() (bool, string) {
			got, err := h.env.CountWrites(res, ns, since)
			if err != nil {
				return false, err.Error()
			}
			return got == n, fmt.Sprintf("%d writes of %s; want %d, one per ExternalSecret", got, res, n)
		})
	}
	// And they stay at one each: nothing was left queued to write again.
	time.Sleep(3 * time.Second)
	for _, res := range []string{"secrets", "externalsecrets/status"} {
		if got, err := h.env.CountWrites(res, ns, since); err != nil || got != n {
			t.Errorf("%s: %d writes (err %v) after settling; want %d", res, got, err, n)
		}
	}
	if got := ctrl.mem.Calls("db"); got != 1 {
		t.Errorf("%d ExternalSecrets of one remote secret made %d reads; want 1", n, got)
	}
	h.scanForCanary(t, ns)
}

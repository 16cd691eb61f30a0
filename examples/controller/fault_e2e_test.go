package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/reconcile"
)

// The fault tests run the controller with short retry delays, so that an
// outage of a few seconds spans several backoffs.
const (
	faultRetryBase    = time.Second
	faultRetryMax     = 8 * time.Second
	faultFetchTimeout = 2 * time.Second
)

// startTuned is startController with the Config adjusted by tune.
func (h *harness) startTuned(t *testing.T, o controllerOpts, tune func(*Config)) *runningController {
	t.Helper()
	return h.startTunedWithMetrics(t, o, newMetrics(nil), tune)
}

// startTunedWithMetrics is startTuned recording into m, which providers
// built before the controller can report to.
func (h *harness) startTunedWithMetrics(t *testing.T, o controllerOpts, m *metrics, tune func(*Config)) *runningController {
	t.Helper()
	// As `controller run` does by default: no client-side rate limit.
	restCfg := rest.CopyConfig(h.ctrlCfg)
	restCfg.QPS = -1
	return h.runController(t, restCfg, o, m, tune)
}

// adminClients are an administrator's clients without a client-side rate
// limit, for tests that poll or create many objects: with client-go's
// default of five requests a second, the test's own requests, not the
// controller, would set the times they measure.
type adminClients struct {
	kube kubernetes.Interface
	crd  *crdClient
}

var (
	unthrottledOnce    sync.Once
	unthrottledClients adminClients
	unthrottledErr     error
)

func (h *harness) unthrottled(t *testing.T) adminClients {
	t.Helper()
	unthrottledOnce.Do(func() {
		cfg := rest.CopyConfig(h.env.Config)
		cfg.QPS = -1
		if unthrottledClients.kube, unthrottledErr = kubernetes.NewForConfig(cfg); unthrottledErr == nil {
			unthrottledClients.crd, unthrottledErr = newCRDClient(cfg)
		}
	})
	if unthrottledErr != nil {
		t.Fatal(unthrottledErr)
	}
	return unthrottledClients
}

// faultTuning is the Config of the fault tests.
func faultTuning(cfg *Config) {
	cfg.RetryBackoff, cfg.MaxRetryBackoff, cfg.FetchTimeout = faultRetryBase, faultRetryMax, faultFetchTimeout
}

// providerCalls sums the controller's provider-call counter for prov, op
// and result; an empty op or result matches all.
func providerCalls(t *testing.T, m *metrics, prov, op, result string) int {
	t.Helper()
	return counterSum(t, m, "secretsync_provider_calls_total", map[string]string{"provider": prov, "operation": op, "result": result})
}

// counterSum sums the samples of the counter name whose labels have the
// values in match; an empty value matches any.
func counterSum(t *testing.T, m *metrics, name string, match map[string]string) int {
	t.Helper()
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	sample:
		for _, s := range f.GetMetric() {
			labels := labelMap(s.GetLabel())
			for k, v := range match {
				if v != "" && labels[k] != v {
					continue sample
				}
			}
			total += s.GetCounter().GetValue()
		}
	}
	return int(total)
}

func labelMap(pairs []*dto.LabelPair) map[string]string {
	out := map[string]string{}
	for _, p := range pairs {
		out[p.GetName()] = p.GetValue()
	}
	return out
}

// secretSnapshot is what the tests compare a Secret against: its
// resourceVersion and data.
type secretSnapshot struct {
	rv   string
	data map[string][]byte
}

func (h *harness) snapshotSecrets(t *testing.T, ns string, names []string) map[string]secretSnapshot {
	t.Helper()
	secrets := h.secretsByName(t, ns)
	out := map[string]secretSnapshot{}
	for _, n := range names {
		s, ok := secrets[n]
		if !ok {
			t.Fatalf("Secret %s not found", n)
		}
		out[n] = secretSnapshot{rv: s.ResourceVersion, data: s.Data}
	}
	return out
}

// secretsByName lists the Secrets of a namespace.
func (h *harness) secretsByName(t *testing.T, ns string) map[string]corev1.Secret {
	t.Helper()
	list, err := h.unthrottled(t).kube.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list Secrets: %v", err)
	}
	out := make(map[string]corev1.Secret, len(list.Items))
	for _, s := range list.Items {
		out[s.Name] = s
	}
	return out
}

// checkUnchanged fails t for each Secret that is gone or differs from its
// snapshot. Keys are named; values never are.
func (h *harness) checkUnchanged(t *testing.T, ns string, want map[string]secretSnapshot) {
	t.Helper()
	secrets := h.secretsByName(t, ns)
	for n, w := range want {
		s, ok := secrets[n]
		if !ok {
			t.Errorf("Secret %s must be kept", n)
			continue
		}
		if s.ResourceVersion != w.rv {
			t.Errorf("Secret %s was written: resourceVersion %s, was %s", n, s.ResourceVersion, w.rv)
		}
		if !maps.EqualFunc(s.Data, w.data, func(a, b []byte) bool { return string(a) == string(b) }) {
			t.Errorf("Secret %s: data changed (keys %v, were %v)", n, secretKeys(s.Data), secretKeys(w.data))
		}
	}
}

func secretKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// readyState summarises the Ready conditions of ExternalSecrets: how many
// have reason, and the first message of one that does not.
func (h *harness) readyState(t *testing.T, ns string, names []string, reason string) (int, string) {
	t.Helper()
	var list externalsecret.ExternalSecretList
	if err := h.unthrottled(t).crd.rest.Get().Namespace(ns).Resource(resExternalSecrets).Do(context.Background()).Into(&list); err != nil {
		return 0, err.Error()
	}
	byName := map[string]*externalsecret.ExternalSecret{}
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
	}
	n, other := 0, ""
	for _, name := range names {
		es, ok := byName[name]
		if !ok {
			if other == "" {
				other = name + " not found"
			}
			continue
		}
		c := es.Status.ReadyCondition()
		switch {
		case c != nil && c.Reason == reason && (reason != externalsecret.ReasonSecretSynced || es.Status.SyncedResourceVersion == es.SyncVersion()):
			n++
		case other == "" && c != nil:
			other = fmt.Sprintf("%s: Ready=%s %s: %s", name, c.Status, c.Reason, c.Message)
		case other == "":
			other = name + ": no Ready condition"
		}
	}
	return n, other
}

// waitAllReady waits until every one of names has reason, as readyState
// counts them.
func (h *harness) waitAllReady(t *testing.T, timeout time.Duration, ns string, names []string, reason string) {
	t.Helper()
	eventually(t, timeout, func() (bool, string) {
		n, why := h.readyState(t, ns, names, reason)
		return n == len(names), why
	})
}

func dbJSON(user, password string) []byte {
	return []byte(fmt.Sprintf(`{"user":%q,"password":%q,"token":%q}`, user, password, canary))
}

const faultESYAML = `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: %s, namespace: %s}
spec:
  refreshInterval: %s
  secretStoreRef: {name: %s, kind: SecretStore}
  target: {name: %s}
  data:
  - secretKey: user
    remoteRef: {key: %s, property: user}
  - secretKey: password
    remoteRef: {key: %s, property: password}
`

// errRefused is what a store whose endpoint refuses connections answers.
var errRefused = errors.New("dial tcp 192.0.2.1:443: connect: connection refused")

// A store that refuses, and then one that hangs, for many refresh
// periods: Secrets keep their data, statuses name the cause, retries back
// off far below the refresh rate, and everything resyncs within one
// backoff of the store's return.
func TestE2EFaultProviderOutage(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctrl := h.startTuned(t, controllerOpts{}, faultTuning)
	const n = 6
	const refresh = time.Second
	var names, targets, keys []string
	for i := 0; i < n; i++ {
		names = append(names, fmt.Sprintf("app-%d", i))
		targets = append(targets, fmt.Sprintf("app-%d-secret", i))
		keys = append(keys, fmt.Sprintf("db-%d", i))
		ctrl.mem.Set(keys[i], dbJSON("admin", fmt.Sprintf("p%d", i)))
	}
	h.apply(t, storeYAML, "store", ns, "")
	for i := range names {
		h.apply(t, faultESYAML, names[i], ns, refresh.String(), "store", targets[i], keys[i], keys[i])
	}
	for i := range names {
		h.waitSecretData(t, ns, targets[i], "password", fmt.Sprintf("p%d", i))
	}
	h.waitAllReady(t, 30*time.Second, ns, names, externalsecret.ReasonSecretSynced)
	good := h.snapshotSecrets(t, ns, targets)

	// outage runs one outage of d, checks what it must, and returns the
	// provider calls made during it and the time to resync after it.
	outage := func(t *testing.T, d time.Duration, begin, end func(), cause string) (calls int, recovery time.Duration) {
		since := time.Now()
		before := providerCalls(t, ctrl.metrics, "fake", "GetSecret", "")
		begin()
		h.waitAllReady(t, 30*time.Second, ns, names, externalsecret.ReasonSecretSyncedError)
		for _, name := range names {
			c := h.getES(t, ns, name).Status.ReadyCondition()
			if c.Status != corev1.ConditionFalse || !strings.Contains(c.Message, cause) {
				t.Errorf("%s: Ready=%s %q; want False naming the cause %q", name, c.Status, c.Message, cause)
			}
		}
		time.Sleep(d - time.Since(since))
		calls = providerCalls(t, ctrl.metrics, "fake", "GetSecret", "") - before
		h.checkUnchanged(t, ns, good)
		if w, err := h.env.CountWrites("secrets", ns, since); err != nil || w != 0 {
			t.Errorf("%d Secret writes during the outage (%v); want 0", w, err)
		}

		end()
		back := time.Now()
		h.waitAllReady(t, 60*time.Second, ns, names, externalsecret.ReasonSecretSynced)
		recovery = time.Since(back)
		h.checkUnchanged(t, ns, good)
		return calls, recovery
	}

	// Each ExternalSecret would read once a refresh without faults;
	// retries must come well below that.
	assertBackoff := func(t *testing.T, d time.Duration, calls int, recovery, bound time.Duration) {
		refreshes := n * int(d/refresh)
		t.Logf("outage of %v: %d provider calls by %d ExternalSecrets (%.2f per refresh period each); resynced %v after the store returned",
			d, calls, n, float64(calls)/float64(refreshes), recovery.Round(10*time.Millisecond))
		if calls < n {
			t.Errorf("%d calls during the outage: every ExternalSecret should have tried at least once", calls)
		}
		if calls > refreshes/2 {
			t.Errorf("%d provider calls during an outage of %d refresh periods for %d ExternalSecrets; want at most %d, half a call per refresh each",
				calls, int(d/refresh), n, refreshes/2)
		}
		if recovery > bound {
			t.Errorf("resync took %v after the store returned; want within one backoff, %v", recovery, bound)
		}
	}

	t.Run("refused", func(t *testing.T) {
		const d = 14 * time.Second
		calls, recovery := outage(t, d, func() {
			for _, k := range keys {
				ctrl.mem.SetError(k, errRefused)
			}
		}, func() {
			for _, k := range keys {
				ctrl.mem.SetError(k, nil)
			}
		}, "connection refused")
		// The call bound holds whatever the jitter draws: at the shortest
		// waits (an immediate retry on the status change, then ½, 1, 2, 4,
		// 4s) an ExternalSecret makes 6 calls in 14s, 36 in all, under
		// the 42 allowed. The resync bound is one backoff, and the time to
		// sync six ExternalSecrets on a loaded machine.
		assertBackoff(t, d, calls, recovery, faultRetryMax+5*time.Second)
	})

	t.Run("hanging", func(t *testing.T) {
		const d = 10 * time.Second
		calls, recovery := outage(t, d, func() { ctrl.mem.SetLatency(time.Hour) }, func() { ctrl.mem.SetLatency(0) }, "deadline exceeded")
		// A read under way when the store returns still waits out its
		// deadline before its retry.
		assertBackoff(t, d, calls, recovery, faultFetchTimeout+faultRetryMax+5*time.Second)
	})
}

const awsStoreYAML = `
apiVersion: v1
kind: Secret
metadata: {name: aws-creds, namespace: %[2]s}
stringData: {id: %[3]s, secret: %[4]s}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth:
        secretRef:
          accessKeyIDSecretRef: {name: aws-creds, key: id}
          secretAccessKeySecretRef: {name: aws-creds, key: secret}
`

// AWS throttles every read for many refresh periods: the controller's
// syncs back off well below one a refresh, the SDK's retries included the
// request rate stays below that of a healthy steady state, the Secrets
// keep their data, and all resync within one backoff once AWS answers
// again.
func TestE2EFaultThrottling(t *testing.T) {
	h := setup(t)
	emu := awsemu.New("us-east-1")
	t.Cleanup(emu.Close)
	ns := h.namespace(t, nil)
	m := newMetrics(nil)
	h.startTunedWithMetrics(t, controllerOpts{providers: []provider.Provider{
		aws.New(aws.WithEndpoint(emu.URL), aws.WithHTTPClient(emu.Client()), aws.WithCallObserver(m.cloudCall("aws"))),
	}}, m, func(cfg *Config) {
		// The SDK's own retries take seconds: keep the default deadline.
		cfg.RetryBackoff, cfg.MaxRetryBackoff = faultRetryBase, faultRetryMax
	})
	const n = 6
	const refresh = time.Second
	var names, targets, keys []string
	for i := 0; i < n; i++ {
		names = append(names, fmt.Sprintf("app-%d", i))
		targets = append(targets, fmt.Sprintf("app-%d-secret", i))
		keys = append(keys, fmt.Sprintf("team/db-%d", i))
		emu.PutSecret(keys[i], string(dbJSON("admin", fmt.Sprintf("p%d", i))))
	}
	h.apply(t, awsStoreYAML, "aws", ns, awsemu.AccessKeyID, awsemu.SecretAccessKey)
	for i := range names {
		h.apply(t, faultESYAML, names[i], ns, refresh.String(), "aws", targets[i], keys[i], keys[i])
	}
	for i := range names {
		h.waitSecretData(t, ns, targets[i], "password", fmt.Sprintf("p%d", i))
	}
	h.waitAllReady(t, 30*time.Second, ns, names, externalsecret.ReasonSecretSynced)
	good := h.snapshotSecrets(t, ns, targets)

	// The steady state: every ExternalSecret reads once a refresh.
	const steady = 5 * time.Second
	emu.ResetCalls()
	time.Sleep(steady)
	steadyRate := float64(emu.TotalCalls("secretsmanager:")) / steady.Seconds()

	const d = 14 * time.Second
	reads := []string{"secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"}
	since := time.Now()
	syncErrors := counterSum(t, m, "secretsync_sync_total", map[string]string{"result": "error"})
	emu.ResetCalls()
	for _, a := range reads {
		emu.Throttle(a, 1<<30)
	}
	h.waitAllReady(t, 30*time.Second, ns, names, externalsecret.ReasonSecretSyncedError)
	for _, name := range names {
		c := h.getES(t, ns, name).Status.ReadyCondition()
		if !strings.Contains(c.Message, "ThrottlingException") {
			t.Errorf("%s: %q does not name the throttling", name, c.Message)
		}
	}
	time.Sleep(d - time.Since(since))
	throttled := emu.TotalCalls("secretsmanager:")
	syncErrors = counterSum(t, m, "secretsync_sync_total", map[string]string{"result": "error"}) - syncErrors
	for _, a := range reads {
		emu.Throttle(a, 0)
	}
	back := time.Now()
	h.checkUnchanged(t, ns, good)

	h.waitAllReady(t, 60*time.Second, ns, names, externalsecret.ReasonSecretSynced)
	recovery := time.Since(back)
	h.checkUnchanged(t, ns, good)

	// The controller's metric counts the throttled attempts.
	throttledAttempts := providerCalls(t, m, "aws", "", "throttled")
	emuThrottled := 0
	for _, a := range reads {
		emuThrottled += emu.Throttled(a)
	}
	if throttledAttempts == 0 || throttledAttempts > emuThrottled {
		t.Errorf("the metric counts %d throttled attempts; AWS refused %d", throttledAttempts, emuThrottled)
	}

	rate := float64(throttled) / d.Seconds()
	refreshes := n * int(d/refresh)
	t.Logf("steady: %.1f requests/s; throttled for %v: %d failed syncs (%.2f per refresh period each), %d requests with the SDK's retries (%d throttled), %.1f/s, %.2f of the steady rate; resynced %v after",
		steadyRate, d, syncErrors, float64(syncErrors)/float64(refreshes), throttled, emuThrottled, rate, rate/steadyRate, recovery.Round(10*time.Millisecond))
	// As in the outage, whatever the jitter draws: at most 6 syncs each.
	if syncErrors < n || syncErrors > refreshes/2 {
		t.Errorf("%d failed syncs of %d ExternalSecrets over %d refresh periods; want each to try, and at most %d, half a sync per refresh each",
			syncErrors, n, int(d/refresh), refreshes/2)
	}
	if rate > steadyRate {
		t.Errorf("throttled, the controller sent %.1f requests/s, more than the %.1f/s of the steady state", rate, steadyRate)
	}
	if recovery > faultRetryMax+5*time.Second {
		t.Errorf("resync took %v after the throttling ended; want within one backoff, %v", recovery, faultRetryMax)
	}
}

// wholeOrAbsent fails t if a Secret exists without exactly the keys user
// and password, with the user admin and one of the passwords allowed for
// it: a Secret is never seen half-written. It returns how many exist, and
// how many of those have a password done accepts.
func (h *harness) wholeOrAbsent(t *testing.T, ns string, targets []string, allowed, done func(i int, password string) bool) (present, finished int) {
	t.Helper()
	list, err := h.unthrottled(t).kube.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return -1, -1 // the apiserver may be down
	}
	byName := map[string]corev1.Secret{}
	for _, s := range list.Items {
		byName[s.Name] = s
	}
	for i, name := range targets {
		s, ok := byName[name]
		if !ok {
			continue
		}
		present++
		if len(s.Data) != 2 || string(s.Data["user"]) != "admin" || !allowed(i, string(s.Data["password"])) {
			t.Errorf("Secret %s is not whole: keys %v", name, secretKeys(s.Data))
		}
		if done(i, string(s.Data["password"])) {
			finished++
		}
	}
	return present, finished
}

// The apiserver is killed while a burst of ExternalSecrets syncs and
// comes back on the same port, certificates and etcd: the running
// controller carries on without a restart, no Secret is ever seen
// half-written, values rotated meanwhile arrive, and new ExternalSecrets
// sync.
func TestE2EFaultAPIServerRestart(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctrl := h.startTuned(t, controllerOpts{}, faultTuning)
	// Reads take a while, so the burst is still syncing when the
	// apiserver goes.
	ctrl.mem.SetLatency(200 * time.Millisecond)
	const n = 40
	var names, targets []string
	for i := 0; i < n; i++ {
		names = append(names, fmt.Sprintf("app-%d", i))
		targets = append(targets, fmt.Sprintf("app-%d-secret", i))
		ctrl.mem.Set(fmt.Sprintf("db-%d", i), dbJSON("admin", fmt.Sprintf("p%d-v1", i)))
	}
	h.apply(t, storeYAML, "store", ns, "")
	var wg sync.WaitGroup
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("db-%d", i)
			if err := h.applier.Apply(context.Background(), []byte(fmt.Sprintf(faultESYAML, names[i], ns, "1s", "store", targets[i], key, key))); err != nil {
				t.Errorf("apply %s: %v", names[i], err)
			}
		}()
	}
	wg.Wait()
	either := func(i int, p string) bool { return p == fmt.Sprintf("p%d-v1", i) || p == fmt.Sprintf("p%d-v2", i) }
	rotated := func(i int, p string) bool { return p == fmt.Sprintf("p%d-v2", i) }

	var atKill int
	eventually(t, 60*time.Second, func() (bool, string) {
		atKill, _ = h.wholeOrAbsent(t, ns, targets, either, either)
		return atKill >= 4, fmt.Sprintf("%d Secrets", atKill)
	})
	h.env.KillAPIServer()
	down := time.Now()
	// While the apiserver is away, every value rotates.
	for i := 0; i < n; i++ {
		ctrl.mem.Set(fmt.Sprintf("db-%d", i), dbJSON("admin", fmt.Sprintf("p%d-v2", i)))
	}
	time.Sleep(3 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := h.env.StartAPIServer(ctx); err != nil {
		t.Fatalf("restart kube-apiserver: %v", err)
	}
	up := time.Now()
	t.Logf("killed kube-apiserver with %d of %d Secrets written; it was back %v later", atKill, n, up.Sub(down).Round(10*time.Millisecond))
	if atKill == n {
		t.Logf("every Secret was written before the kill; the burst did not span it")
	}

	eventually(t, 90*time.Second, func() (bool, string) {
		_, whole := h.wholeOrAbsent(t, ns, targets, either, rotated)
		return whole == n, fmt.Sprintf("%d of %d Secrets hold the rotated value", whole, n)
	})
	t.Logf("all %d Secrets rotated %v after kube-apiserver was ready again", n, time.Since(up).Round(10*time.Millisecond))
	h.waitAllReady(t, 60*time.Second, ns, names, externalsecret.ReasonSecretSynced)
	t.Logf("all %d Secrets rotated and all statuses synced %v after kube-apiserver was ready again", n, time.Since(up).Round(10*time.Millisecond))

	// The watches are back: a new ExternalSecret syncs.
	ctrl.mem.SetLatency(0)
	ctrl.mem.Set("late", dbJSON("admin", "late"))
	h.apply(t, faultESYAML, "late", ns, "1h", "store", "late-secret", "late", "late")
	h.waitSecretData(t, ns, "late-secret", "password", "late")

	list, err := h.admin.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != n+1 {
		t.Errorf("%d Secrets in the namespace; want %d", len(list.Items), n+1)
	}
	for _, s := range list.Items {
		if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "ExternalSecret" {
			t.Errorf("Secret %s: owner references %v; want its one ExternalSecret", s.Name, s.OwnerReferences)
		}
	}
}

// Another client edits a managed Secret. Under creationPolicy Owner the
// controller restores exactly what it wrote; under Merge it restores its
// own keys and leaves every other key as the other client left it, even
// while that client keeps writing.
func TestE2EFaultConflictingWriter(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctrl := h.startTuned(t, controllerOpts{}, faultTuning)
	ctrl.mem.Set("db", dbJSON("admin", "p1"))
	h.apply(t, storeYAML, "store", ns, "")
	secrets := h.admin.CoreV1().Secrets(ns)
	ctx := context.Background()

	t.Run("Owner", func(t *testing.T) {
		h.apply(t, esYAML, "owned", ns, "1s", "store", "owned", "Owner", "Retain")
		s := h.waitSecretData(t, ns, "owned", "password", "p1")
		s.Data["password"] = []byte("tampered")
		s.Data["foreign"] = []byte("added")
		if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{FieldManager: "intruder"}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, func() (bool, string) {
			s, err := h.getSecret(ns, "owned")
			if err != nil {
				return false, err.Error()
			}
			return len(s.Data) == 2 && string(s.Data["password"]) == "p1", fmt.Sprintf("keys %v", secretKeys(s.Data))
		})
	})

	t.Run("Merge", func(t *testing.T) {
		if _, err := secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "shared"},
			Data:       map[string][]byte{"foreign": []byte("f0")},
		}, metav1.CreateOptions{FieldManager: "intruder"}); err != nil {
			t.Fatal(err)
		}
		h.apply(t, esYAML, "merger", ns, "1s", "store", "shared", "Merge", "Retain")
		h.waitSecretData(t, ns, "shared", "password", "p1")

		// The other client writes its own key over and over, and now and
		// then the controller's key too, racing the refreshes.
		var last string
		for i := 1; i <= 15; i++ {
			s, err := h.getSecret(ns, "shared")
			if err != nil {
				t.Fatal(err)
			}
			s.Data["foreign"] = []byte(fmt.Sprintf("f%d", i))
			s.Data["added"] = []byte("by the other client")
			if i%5 == 0 {
				s.Data["password"] = []byte("tampered")
			}
			if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{FieldManager: "intruder"}); err != nil {
				if apierrors.IsConflict(err) {
					continue // the controller wrote in between
				}
				t.Fatal(err)
			}
			last = fmt.Sprintf("f%d", i)
			time.Sleep(200 * time.Millisecond)
		}
		eventually(t, 30*time.Second, func() (bool, string) {
			s, err := h.getSecret(ns, "shared")
			if err != nil {
				return false, err.Error()
			}
			ok := string(s.Data["password"]) == "p1" && string(s.Data["user"]) == "admin" &&
				string(s.Data["foreign"]) == last && string(s.Data["added"]) == "by the other client"
			return ok, fmt.Sprintf("keys %v; foreign key as last written: %v", secretKeys(s.Data), string(s.Data["foreign"]) == last)
		})
		s, _ := h.getSecret(ns, "shared")
		if len(s.OwnerReferences) != 0 {
			t.Errorf("Merge took ownership: %v", s.OwnerReferences)
		}
		h.waitReady(t, ns, "merger", externalsecret.ReasonSecretSynced)
	})
}

// A store is deleted while ExternalSecrets use it: their Secrets stay as
// they were, their statuses name the missing store, and they resync when
// it comes back.
func TestE2EFaultStoreDeleted(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	class := "gone-" + ns[:8]
	ctrl := h.startTuned(t, controllerOpts{class: class}, faultTuning)
	t.Cleanup(func() { h.scanClusterStoresForCanary(t) })
	ctrl.mem.Set("db", dbJSON("admin", "p1"))
	clusterStore := strings.Replace(clusterStoreYAML, "matchLabels: {tenant: allowed}", "matchLabels: {kubernetes.io/metadata.name: "+ns+"}", 1)
	h.apply(t, storeYAML, "store", ns, class)
	h.apply(t, clusterStore, class, class)
	h.apply(t, esYAML, "by-store", ns, "1s", "store", "by-store", "Owner", "Retain")
	h.apply(t, strings.Replace(esYAML, "kind: SecretStore", "kind: ClusterSecretStore", 1), "by-cluster-store", ns, "1s", class, "by-cluster-store", "Owner", "Retain")
	names := []string{"by-store", "by-cluster-store"}
	h.waitSecretData(t, ns, "by-store", "password", "p1")
	h.waitSecretData(t, ns, "by-cluster-store", "password", "p1")
	good := h.snapshotSecrets(t, ns, names)

	since := time.Now()
	if err := h.crd.rest.Delete().Namespace(ns).Resource(resSecretStores).Name("store").Do(context.Background()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := h.crd.rest.Delete().Resource(resClusterSecretStores).Name(class).Do(context.Background()).Error(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"by-store":         fmt.Sprintf("SecretStore %q not found in namespace %s", "store", ns),
		"by-cluster-store": fmt.Sprintf("ClusterSecretStore %q not found", class),
	}
	for name, msg := range want {
		es := h.waitReady(t, ns, name, externalsecret.ReasonSecretSyncedError)
		if c := es.Status.ReadyCondition(); c.Status != corev1.ConditionFalse || !strings.Contains(c.Message, msg) {
			t.Errorf("%s: Ready=%s %q; want False naming the store: %q", name, c.Status, c.Message, msg)
		}
	}
	// Several refresh periods later nothing was written.
	time.Sleep(4 * time.Second)
	h.checkUnchanged(t, ns, good)
	if w, err := h.env.CountWrites("secrets", ns, since); err != nil || w != 0 {
		t.Errorf("%d Secret writes after the stores were deleted (%v); want 0", w, err)
	}
	if calls := ctrl.mem.Calls("db"); calls == 0 {
		t.Fatal("the store was never read")
	}

	ctrl.mem.Set("db", dbJSON("admin", "p2"))
	h.apply(t, storeYAML, "store", ns, class)
	h.apply(t, clusterStore, class, class)
	t.Cleanup(func() {
		_ = h.crd.rest.Delete().Resource(resClusterSecretStores).Name(class).Do(context.Background()).Error()
	})
	for _, name := range names {
		h.waitSecretData(t, ns, name, "password", "p2")
		h.waitReady(t, ns, name, externalsecret.ReasonSecretSynced)
	}
}

// A value that would take a Secret over 1 MiB: the Secret keeps its data,
// and the status and the event say why, without the value.
func TestE2EFaultOversizedValue(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctrl := h.startTuned(t, controllerOpts{}, faultTuning)
	ctrl.mem.Set("db", dbJSON("admin", "p1"))
	h.apply(t, storeYAML, "store", ns, "")
	h.apply(t, esYAML, "app", ns, "1s", "store", "app-secret", "Owner", "Retain")
	h.waitSecretData(t, ns, "app-secret", "password", "p1")
	good := h.snapshotSecrets(t, ns, []string{"app-secret"})

	ctrl.mem.Set("db", dbJSON("admin", canary+strings.Repeat("x", reconcile.MaxSecretSize)))
	es := h.waitReady(t, ns, "app", externalsecret.ReasonSecretSyncedError)
	msg := es.Status.ReadyCondition().Message
	if !strings.Contains(msg, "over the limit of 1048576") {
		t.Errorf("status message does not say the Secret would be too large: %.300s", msg)
	}
	if len(msg) > 1000 {
		t.Errorf("status message is %d bytes long", len(msg))
	}
	time.Sleep(3 * time.Second)
	h.checkUnchanged(t, ns, good)
	eventually(t, 20*time.Second, func() (bool, string) {
		events, err := h.admin.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Name == "app" && e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, "over the limit") {
				return true, ""
			}
		}
		return false, "no warning event says the Secret would be too large"
	})

	// A value back under the limit syncs again.
	ctrl.mem.Set("db", dbJSON("admin", "p2"))
	h.waitSecretData(t, ns, "app-secret", "password", "p2")
}

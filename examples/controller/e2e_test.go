package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/kubeapply"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/reconcile"
)

// The controller's identity in tests: the ServiceAccount the shipped RBAC
// binds, so a missing permission fails here and not in production.
const (
	controllerUser = "system:serviceaccount:secretsync-system:secretsync-controller"
)

var controllerGroups = []string{"system:serviceaccounts", "system:serviceaccounts:secretsync-system", "system:authenticated"}

// harness is one control plane shared by the end-to-end tests, with the
// CRDs and RBAC from config/ installed.
type harness struct {
	env     *testenv.Env
	admin   kubernetes.Interface
	crd     *crdClient
	applier *kubeapply.Applier
	ctrlCfg *rest.Config
}

var (
	sharedOnce sync.Once
	shared     *harness
	sharedErr  error
)

// canary is planted in every value the stores of these tests hold; no
// log line, event, status or metric may ever show it.
const canary = "CANARY-e2e-4b1d"

// logs collects everything every controller in these tests logged, at the
// highest verbosity, including client-go's own logging through klog.
var logs = &lockedBuffer{}

type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) write(prefix, args string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(prefix + " " + args + "\n")
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func logger() logr.Logger {
	return funcr.New(logs.write, funcr.Options{Verbosity: 10})
}

func TestMain(m *testing.M) {
	klog.SetLogger(logger())
	code := m.Run()
	if shared != nil {
		shared.env.Stop()
	}
	if all := logs.String(); strings.Contains(all, canary) {
		fmt.Fprintf(os.Stderr, "FAIL: a secret value appeared in the controller's logs:\n%s\n", all)
		code = 1
	} else if code == 0 && len(all) > 0 {
		fmt.Printf("canary scan: %d log lines at verbosity 10, no secret value\n", strings.Count(all, "\n"))
	}
	os.Exit(code)
}

func setup(t *testing.T) *harness {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test; skipped with -short")
	}
	if _, ok := testenv.BinDir(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatal("control-plane binaries are missing in CI; run hack/controlplane.sh")
		}
		t.Skip("control-plane binaries not found; run hack/controlplane.sh to build them")
	}
	sharedOnce.Do(func() { shared, sharedErr = startHarness() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func startHarness() (*harness, error) {
	ctx := context.Background()
	env, err := testenv.Start(ctx, testenv.Options{})
	if err != nil {
		return nil, err
	}
	h := &harness{env: env}
	if h.admin, err = kubernetes.NewForConfig(env.Config); err != nil {
		return nil, err
	}
	if h.crd, err = newCRDClient(env.Config); err != nil {
		return nil, err
	}
	if h.applier, err = kubeapply.New(env.Config); err != nil {
		return nil, err
	}
	// Everything config/default installs; the Deployment only sits there,
	// as no kubelet runs, but the apiserver validates it.
	if err := h.applier.ApplyFiles(ctx, "../../config/crd/bases/*.yaml", "../../config/manager/namespace.yaml", "../../config/rbac/*.yaml", "../../config/manager/deployment.yaml"); err != nil {
		return nil, err
	}
	if err := h.applier.WaitForCRDs(ctx, externalsecret.SchemeGroupVersion, resExternalSecrets, resSecretStores, resClusterSecretStores, resClusterExternalSecrets); err != nil {
		return nil, err
	}
	if h.ctrlCfg, err = env.UserConfig(controllerUser, controllerGroups...); err != nil {
		return nil, err
	}
	return h, nil
}

// namespace creates a fresh namespace for one test.
func (h *harness) namespace(t *testing.T, labels map[string]string) string {
	t.Helper()
	// A fixed-width number first: tests take name[:8] as a unique,
	// alphanumeric part of other names.
	name := fmt.Sprintf("t%08d-%s", time.Now().UnixNano()%1e8, strings.ToLower(strings.NewReplacer("/", "-", "_", "-", " ", "-").Replace(t.Name())))
	if len(name) > 60 {
		name = strings.TrimRight(name[:60], "-")
	}
	_, err := h.admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Namespaces are never finalized without a controller-manager, so the
	// objects in them are deleted here, lest a later test's controller
	// find them.
	t.Cleanup(func() {
		h.scanForCanary(t, name)
		for _, res := range []string{resExternalSecrets, resSecretStores} {
			if err := h.crd.rest.Delete().Namespace(name).Resource(res).Do(context.Background()).Error(); err != nil {
				t.Errorf("clean up %s in %s: %v", res, name, err)
			}
		}
	})
	return name
}

// scanForCanary fails the test if a secret value shows in the events or
// the status of any ExternalSecret or store in the namespace.
func (h *harness) scanForCanary(t *testing.T, ns string) {
	t.Helper()
	if !h.scanEventsForCanary(t, ns) {
		return
	}
	for _, res := range []string{resExternalSecrets, resSecretStores} {
		raw, err := h.crd.rest.Get().Namespace(ns).Resource(res).DoRaw(context.Background())
		if err != nil {
			t.Errorf("list %s: %v", res, err)
			continue
		}
		var list struct {
			Items []struct {
				Status json.RawMessage `json:"status"`
			} `json:"items"`
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			t.Error(err)
			continue
		}
		for _, it := range list.Items {
			if strings.Contains(string(it.Status), canary) {
				t.Errorf("a %s status shows a secret value", res)
			}
		}
	}
}

// scanEventsForCanary fails the test if a secret value shows in an event
// in the namespace, and reports whether the events could be listed.
func (h *harness) scanEventsForCanary(t *testing.T, ns string) bool {
	t.Helper()
	events, err := h.admin.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Errorf("list events: %v", err)
		return false
	}
	for _, e := range events.Items {
		if strings.Contains(e.Message, canary) {
			t.Errorf("event %s/%s shows a secret value", e.Reason, e.InvolvedObject.Name)
		}
	}
	return true
}

func (h *harness) apply(t *testing.T, manifest string, args ...any) {
	t.Helper()
	if err := h.applier.Apply(context.Background(), []byte(fmt.Sprintf(manifest, args...))); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

type runningController struct {
	mem        *fake.Memory
	metrics    *metrics
	stop       func()
	controller *Controller
}

type controllerOpts struct {
	class             string
	denyUnconditioned bool
	mem               *fake.Memory
	providers         []provider.Provider // besides the fake store
}

// startController runs a controller as the non-admin controller identity.
func (h *harness) startController(t *testing.T, o controllerOpts) *runningController {
	t.Helper()
	return h.runController(t, h.ctrlCfg, o, newMetrics(nil), nil)
}

// runController runs a controller whose clients use restCfg, recording
// into m, with its Config adjusted by tune when tune is not nil.
func (h *harness) runController(t *testing.T, restCfg *rest.Config, o controllerOpts, m *metrics, tune func(*Config)) *runningController {
	t.Helper()
	kube, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		t.Fatal(err)
	}
	crd, err := newCRDClient(restCfg)
	if err != nil {
		t.Fatal(err)
	}
	mem := o.mem
	if mem == nil {
		mem = fake.NewMemory()
	}
	reg, err := provider.NewRegistry(append([]provider.Provider{mem.Provider()}, o.providers...)...)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Kube: kube, CRD: crd.CRDClient, Registry: reg, Metrics: m, Workers: 4,
		Store: reconcile.StoreOptions{ControllerClass: o.class, DenyUnconditioned: o.denyUnconditioned},
	}
	if tune != nil {
		tune(&cfg)
	}
	c, err := NewController(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logger()))
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("controller: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	// A test that asserts nothing happened must not pass because nothing
	// had started: the controller's caches are synced before it returns.
	eventually(t, 30*time.Second, func() (bool, string) {
		select {
		case err := <-done:
			done <- err // for stop
			t.Fatalf("the controller stopped before it was ready: %v", err)
		default:
		}
		return m.ready.Load(), "the controller's caches have not synced"
	})
	return &runningController{mem: mem, metrics: m, stop: stop, controller: c}
}

// waitIdle waits until the controller recording into m has no
// ExternalSecret queued or being synced, so that what it did can be
// counted.
func waitIdle(t *testing.T, m *metrics) {
	t.Helper()
	waitQuiet(t, func() float64 {
		return gaugeSum(t, m, "secretsync_workqueue_depth") + gaugeSum(t, m, "secretsync_workqueue_unfinished_work_seconds")
	})
}

// waitQuiet waits until busy, what a controller's queues hold or work on,
// has read zero three polls in a row.
func waitQuiet(t *testing.T, busy func() float64) {
	t.Helper()
	idle := 0
	eventually(t, 30*time.Second, func() (bool, string) {
		if b := busy(); b > 0 {
			idle = 0
			return false, fmt.Sprintf("queues hold or work on %v", b)
		}
		idle++
		return idle >= 3, "queues just emptied"
	})
}

// gaugeSum sums the samples of the gauge name.
func gaugeSum(t *testing.T, m *metrics, name string) float64 {
	t.Helper()
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() == name {
			for _, s := range f.GetMetric() {
				total += s.GetGauge().GetValue()
			}
		}
	}
	return total
}

func (h *harness) getES(t *testing.T, ns, name string) *externalsecret.ExternalSecret {
	t.Helper()
	es := &externalsecret.ExternalSecret{}
	if err := h.crd.rest.Get().Namespace(ns).Resource(resExternalSecrets).Name(name).Do(context.Background()).Into(es); err != nil {
		t.Fatal(err)
	}
	return es
}

func (h *harness) getSecret(ns, name string) (*corev1.Secret, error) {
	return h.admin.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
}

// eventually polls cond until it holds or timeout passes, then fails with
// the last reason cond gave.
func eventually(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	var why string
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		var ok bool
		ok, why = cond()
		return ok, nil
	})
	if err != nil {
		t.Fatalf("condition not met within %v: %s", timeout, why)
	}
}

func (h *harness) waitReady(t *testing.T, ns, name, reason string) *externalsecret.ExternalSecret {
	t.Helper()
	var es *externalsecret.ExternalSecret
	eventually(t, 20*time.Second, func() (bool, string) {
		es = h.getES(t, ns, name)
		c := es.Status.ReadyCondition()
		if c == nil {
			return false, "no Ready condition"
		}
		return c.Reason == reason, fmt.Sprintf("Ready=%s %s: %s", c.Status, c.Reason, c.Message)
	})
	return es
}

func (h *harness) waitSecretData(t *testing.T, ns, name, key, want string) *corev1.Secret {
	t.Helper()
	var s *corev1.Secret
	eventually(t, 20*time.Second, func() (bool, string) {
		var err error
		s, err = h.getSecret(ns, name)
		if err != nil {
			return false, err.Error()
		}
		return string(s.Data[key]) == want, fmt.Sprintf("key %s has %d bytes", key, len(s.Data[key]))
	})
	return s
}

const storeYAML = `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: %s, namespace: %s}
spec:
  controller: %q
  provider:
    fake:
      data:
      - key: db
        value: '{"user":"admin","password":"p1","token":"CANARY-e2e-4b1d"}'
`

const esYAML = `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: %s, namespace: %s}
spec:
  refreshInterval: %s
  secretStoreRef: {name: %s, kind: SecretStore}
  target:
    name: %s
    creationPolicy: %s
    deletionPolicy: %s
  data:
  - secretKey: user
    remoteRef: {key: db, property: user}
  - secretKey: password
    remoteRef: {key: db, property: password}
`

func TestE2ECreateSyncsSecret(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	h.startController(t, controllerOpts{})
	h.apply(t, storeYAML, "store", ns, "")
	h.apply(t, esYAML, "app", ns, "1h", "store", "app-secret", "Owner", "Retain")

	es := h.waitReady(t, ns, "app", externalsecret.ReasonSecretSynced)
	s := h.waitSecretData(t, ns, "app-secret", "password", "p1")
	if string(s.Data["user"]) != "admin" {
		t.Errorf("user not synced")
	}
	if s.Labels[reconcile.LabelManaged] != "true" || s.Annotations[reconcile.AnnotationDataHash] == "" {
		t.Errorf("managed label or data-hash annotation missing: %v %v", s.Labels, s.Annotations)
	}
	owner := metav1.GetControllerOf(s)
	if owner == nil || owner.UID != es.UID || owner.Kind != "ExternalSecret" {
		t.Errorf("owner reference: got %+v, want the ExternalSecret %s", owner, es.UID)
	}
	if es.Status.Binding.Name != "app-secret" || es.Status.SyncedResourceVersion == "" || es.Status.RefreshTime.IsZero() {
		t.Errorf("status incomplete: %+v", es.Status)
	}

	// The printer columns kubectl shows come from the real apiserver.
	row := h.tableRow(t, ns, resExternalSecrets, "app")
	want := map[string]string{"Store": "store", "Refresh Interval": "1h", "Status": "SecretSynced", "Ready": "True"}
	for col, v := range want {
		if row[col] != v {
			t.Errorf("column %s: want %q, got %q (row %v)", col, v, row[col], row)
		}
	}
	eventually(t, 10*time.Second, func() (bool, string) {
		row := h.tableRow(t, ns, resSecretStores, "store")
		return row["Status"] == "Valid" && row["Ready"] == "True" && row["Capabilities"] == "ReadOnly", fmt.Sprint(row)
	})
}

// tableRow asks the apiserver for the Table kubectl get prints.
func (h *harness) tableRow(t *testing.T, ns, resource, name string) map[string]string {
	t.Helper()
	raw, err := h.crd.rest.Get().Namespace(ns).Resource(resource).Name(name).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var table metav1.Table
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatal(err)
	}
	if len(table.Rows) != 1 {
		t.Fatalf("want one row, got %d", len(table.Rows))
	}
	row := map[string]string{}
	for i, col := range table.ColumnDefinitions {
		row[col.Name] = fmt.Sprint(table.Rows[0].Cells[i])
	}
	return row
}

func TestE2ERotationAndZeroWrites(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctrl := h.startController(t, controllerOpts{})
	ctrl.mem.Set("db", []byte(`{"user":"admin","password":"v1","token":"CANARY-e2e-4b1d"}`))
	h.apply(t, storeYAML, "store", ns, "")
	h.apply(t, esYAML, "app", ns, "1s", "store", "app-secret", "Owner", "Retain")
	h.waitSecretData(t, ns, "app-secret", "password", "v1")
	h.waitReady(t, ns, "app", externalsecret.ReasonSecretSynced)

	// Several refreshes with nothing changed: reads, but no writes.
	time.Sleep(500 * time.Millisecond)
	since := time.Now()
	reads := ctrl.mem.Calls("db")
	time.Sleep(4 * time.Second)
	if got := ctrl.mem.Calls("db") - reads; got < 3 {
		t.Errorf("want a read every second, got %d reads in 4s", got)
	}
	for _, res := range []string{"secrets", "externalsecrets/status", "externalsecrets"} {
		n, err := h.env.CountWrites(res, ns, since)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d writes to %s over unchanged refreshes; want 0", n, res)
		}
	}

	// A rotation reaches the Secret within one refresh interval.
	rotated := time.Now()
	ctrl.mem.Set("db", []byte(`{"user":"admin","password":"v2","token":"CANARY-e2e-4b1d"}`))
	h.waitSecretData(t, ns, "app-secret", "password", "v2")
	// One 1s refresh interval, plus generous slack for a loaded machine:
	// this checks the mechanism, the benchmark measures the latency.
	d := time.Since(rotated)
	t.Logf("rotation reached the Secret in %v", d)
	if d > 10*time.Second {
		t.Errorf("rotation took %v, want about one 1s refresh interval", d)
	}
}

func TestE2EPolicies(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctrl := h.startController(t, controllerOpts{})
	ctrl.mem.Set("db", []byte(`{"user":"admin","password":"p","token":"CANARY-e2e-4b1d"}`))
	h.apply(t, storeYAML, "store", ns, "")

	t.Run("Orphan creates without an owner", func(t *testing.T) {
		h.apply(t, esYAML, "orphan", ns, "1h", "store", "orphan-secret", "Orphan", "Retain")
		s := h.waitSecretData(t, ns, "orphan-secret", "user", "admin")
		if len(s.OwnerReferences) != 0 {
			t.Errorf("want no owner references, got %v", s.OwnerReferences)
		}
	})
	t.Run("Merge adds keys to an existing Secret and keeps foreign ones", func(t *testing.T) {
		_, err := h.admin.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "shared"},
			Data:       map[string][]byte{"foreign": []byte("keep")},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h.apply(t, esYAML, "merge", ns, "1h", "store", "shared", "Merge", "Retain")
		s := h.waitSecretData(t, ns, "shared", "user", "admin")
		if string(s.Data["foreign"]) != "keep" || len(s.OwnerReferences) != 0 {
			t.Errorf("merge touched what it does not own: %v %v", s.Data, s.OwnerReferences)
		}
	})
	t.Run("Merge waits for a missing Secret", func(t *testing.T) {
		h.apply(t, esYAML, "merge-missing", ns, "1h", "store", "not-there", "Merge", "Retain")
		es := h.waitReady(t, ns, "merge-missing", externalsecret.ReasonSecretSyncedError)
		if msg := es.Status.ReadyCondition().Message; !strings.Contains(msg, "does not exist") {
			t.Errorf("message: %s", msg)
		}
		if _, err := h.getSecret(ns, "not-there"); !apierrors.IsNotFound(err) {
			t.Errorf("Merge must not create the Secret: %v", err)
		}
	})
	t.Run("Delete removes the Secret when its values are gone", func(t *testing.T) {
		ctrl.mem.Set("gone", []byte(`{"user":"u","password":"p","token":"CANARY-e2e-4b1d"}`))
		h.apply(t, strings.ReplaceAll(esYAML, "key: db", "key: gone"), "deleter", ns, "1s", "store", "deleter-secret", "Owner", "Delete")
		h.waitSecretData(t, ns, "deleter-secret", "user", "u")
		ctrl.mem.Delete("gone")
		eventually(t, 10*time.Second, func() (bool, string) {
			_, err := h.getSecret(ns, "deleter-secret")
			return apierrors.IsNotFound(err), fmt.Sprint(err)
		})
		h.waitReady(t, ns, "deleter", externalsecret.ReasonSecretDeleted)
	})
	t.Run("a missing key keeps the Secret and names the key", func(t *testing.T) {
		ctrl.mem.Set("flaky", []byte(`{"user":"u","password":"p","token":"CANARY-e2e-4b1d"}`))
		h.apply(t, strings.ReplaceAll(esYAML, "key: db", "key: flaky"), "retainer", ns, "1s", "store", "retainer-secret", "Owner", "Retain")
		h.waitSecretData(t, ns, "retainer-secret", "user", "u")
		ctrl.mem.Delete("flaky")
		es := h.waitReady(t, ns, "retainer", externalsecret.ReasonSecretSyncedError)
		if msg := es.Status.ReadyCondition().Message; !strings.Contains(msg, `remote key "flaky"`) {
			t.Errorf("message does not name the key: %s", msg)
		}
		if s, err := h.getSecret(ns, "retainer-secret"); err != nil || string(s.Data["user"]) != "u" {
			t.Errorf("the Secret must be kept as it was: %v", err)
		}
	})
}

func TestE2EHandEditsAreUndone(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	h.startController(t, controllerOpts{})
	h.apply(t, storeYAML, "store", ns, "")
	h.apply(t, esYAML, "app", ns, "1h", "store", "app-secret", "Owner", "Retain")
	s := h.waitSecretData(t, ns, "app-secret", "password", "p1")

	s.Data["password"] = []byte("tampered")
	if _, err := h.admin.CoreV1().Secrets(ns).Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitSecretData(t, ns, "app-secret", "password", "p1")

	if err := h.admin.CoreV1().Secrets(ns).Delete(context.Background(), "app-secret", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitSecretData(t, ns, "app-secret", "password", "p1")
}

func TestE2EStoreErrors(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	h.startController(t, controllerOpts{})
	h.apply(t, esYAML, "orphaned", ns, "1h", "no-such-store", "x", "Owner", "Retain")
	es := h.waitReady(t, ns, "orphaned", externalsecret.ReasonSecretSyncedError)
	if msg := es.Status.ReadyCondition().Message; !strings.Contains(msg, `SecretStore "no-such-store" not found`) {
		t.Errorf("message: %s", msg)
	}
}

const clusterStoreYAML = `
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: %s}
spec:
  controller: %q
  conditions:
  - namespaceSelector:
      matchLabels: {tenant: allowed}
  provider:
    fake:
      data:
      - key: db
        value: '{"user":"cluster","password":"cp","token":"CANARY-e2e-4b1d"}'
`

func TestE2EClusterStoreConditions(t *testing.T) {
	h := setup(t)
	allowed := h.namespace(t, map[string]string{"tenant": "allowed"})
	denied := h.namespace(t, map[string]string{"tenant": "other"})
	class := "css-" + allowed[:8]
	h.startController(t, controllerOpts{class: class})
	h.apply(t, clusterStoreYAML, class, class)
	for _, ns := range []string{allowed, denied} {
		h.apply(t, strings.Replace(esYAML, "kind: SecretStore", "kind: ClusterSecretStore", 1), "app", ns, "1h", class, "app-secret", "Owner", "Retain")
	}
	h.waitSecretData(t, allowed, "app-secret", "user", "cluster")
	es := h.waitReady(t, denied, "app", externalsecret.ReasonSecretSyncedError)
	if msg := es.Status.ReadyCondition().Message; !strings.Contains(msg, "does not admit namespace") {
		t.Errorf("message: %s", msg)
	}
	if _, err := h.getSecret(denied, "app-secret"); !apierrors.IsNotFound(err) {
		t.Errorf("a denied namespace must get no Secret: %v", err)
	}
}

func TestE2EControllerClassesSplitWork(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	a := h.startController(t, controllerOpts{class: "class-a"})
	b := h.startController(t, controllerOpts{class: "class-b"})
	a.mem.Set("db", []byte(`{"user":"from-a","password":"x","token":"CANARY-e2e-4b1d"}`))
	b.mem.Set("db", []byte(`{"user":"from-b","password":"x","token":"CANARY-e2e-4b1d"}`))
	h.apply(t, storeYAML, "store-a", ns, "class-a")
	h.apply(t, storeYAML, "store-b", ns, "class-b")
	h.apply(t, esYAML, "es-a", ns, "1h", "store-a", "secret-a", "Owner", "Retain")
	h.apply(t, esYAML, "es-b", ns, "1h", "store-b", "secret-b", "Owner", "Retain")
	h.waitSecretData(t, ns, "secret-a", "user", "from-a")
	h.waitSecretData(t, ns, "secret-b", "user", "from-b")
	if n := a.mem.Calls("db"); n != 1 {
		t.Errorf("controller a read %d times, want 1", n)
	}
	if n := b.mem.Calls("db"); n != 1 {
		t.Errorf("controller b read %d times, want 1", n)
	}
}

func TestE2ERestartCausesNoRefreshStorm(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	mem := fake.NewMemory()
	mem.Set("db", []byte(`{"user":"admin","password":"p","token":"CANARY-e2e-4b1d"}`))
	first := h.startController(t, controllerOpts{mem: mem})
	h.apply(t, storeYAML, "store", ns, "")
	const n = 20
	for i := 0; i < n; i++ {
		h.apply(t, esYAML, fmt.Sprintf("app-%d", i), ns, "1h", "store", fmt.Sprintf("secret-%d", i), "Owner", "Retain")
	}
	for i := 0; i < n; i++ {
		h.waitReady(t, ns, fmt.Sprintf("app-%d", i), externalsecret.ReasonSecretSynced)
	}
	first.stop()
	mem.ResetCalls()
	since := time.Now()

	h.startController(t, controllerOpts{mem: mem})
	time.Sleep(3 * time.Second)
	if got := mem.TotalCalls(); got != 0 {
		t.Errorf("restart made %d provider calls for ExternalSecrets not yet due; want 0", got)
	}
	writes, err := h.env.CountWrites("secrets", ns, since)
	if err != nil {
		t.Fatal(err)
	}
	if writes != 0 {
		t.Errorf("restart wrote %d Secrets; want 0", writes)
	}
}

// Two replicas with leader election: one leads and syncs; when it stops,
// the other takes over.
func TestE2ELeaderElection(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	kubeconfig := t.TempDir() + "/kubeconfig"
	if err := h.env.WriteKubeconfig(kubeconfig, h.ctrlCfg); err != nil {
		t.Fatal(err)
	}
	class := "le-" + ns[:8]
	start := func() (context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logger()))
		done := make(chan error, 1)
		go func() {
			done <- runCmd(ctx, []string{"--kubeconfig", kubeconfig, "--metrics-addr", "", "--controller-class", class,
				"--leader-election-namespace", "secretsync-system", "--leader-election-id", class})
		}()
		return cancel, done
	}
	leaseHolder := func() string {
		lease, err := h.admin.CoordinationV1().Leases("secretsync-system").Get(context.Background(), class, metav1.GetOptions{})
		if err != nil || lease.Spec.HolderIdentity == nil {
			return ""
		}
		return *lease.Spec.HolderIdentity
	}
	// A starts first and takes the Lease; B starts once A holds it.
	stopA, doneA := start()
	defer stopA()
	eventually(t, 20*time.Second, func() (bool, string) { return leaseHolder() != "", "no holder yet" })
	holder := leaseHolder()
	stopB, doneB := start()
	defer stopB()

	h.apply(t, storeYAML, "store", ns, class)
	h.apply(t, esYAML, "first", ns, "1h", "store", "first", "Owner", "Retain")
	h.waitSecretData(t, ns, "first", "user", "admin")
	if got := leaseHolder(); got != holder {
		t.Fatalf("the Lease changed hands without a failure: %s then %s", holder, got)
	}

	// Stop the leader; B must take over and sync what comes next.
	stopA()
	if err := <-doneA; err != nil {
		t.Logf("replica A stopped: %v", err)
	}
	h.apply(t, esYAML, "second", ns, "1h", "store", "second", "Owner", "Retain")
	h.waitSecretData(t, ns, "second", "user", "admin")
	if got := leaseHolder(); got == holder || got == "" {
		t.Errorf("after the leader stopped, the Lease is held by %q; want the other replica", got)
	}
	stopB()
	<-doneB
}

// Events are recorded on the ExternalSecret, and the metrics count syncs
// and provider calls by provider and result, never by key.
func TestE2EEventsAndMetrics(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctrl := h.startController(t, controllerOpts{})
	h.apply(t, storeYAML, "store", ns, "")
	h.apply(t, esYAML, "app", ns, "1h", "store", "app-secret", "Owner", "Retain")
	h.apply(t, strings.ReplaceAll(esYAML, "key: db", "key: missing-key"), "broken", ns, "1h", "store", "broken", "Owner", "Retain")
	h.waitSecretData(t, ns, "app-secret", "user", "admin")
	h.waitReady(t, ns, "broken", externalsecret.ReasonSecretSyncedError)

	eventually(t, 10*time.Second, func() (bool, string) {
		events, err := h.admin.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var got []string
		for _, e := range events.Items {
			got = append(got, e.InvolvedObject.Name+"/"+e.Type+"/"+e.Reason)
		}
		joined := strings.Join(got, " ")
		return strings.Contains(joined, "app/Normal/Created") && strings.Contains(joined, "broken/Warning/UpdateFailed"), joined
	})

	rec := httptestGet(t, ctrl.metrics.handler(), "/metrics")
	for _, want := range []string{
		`secretsync_sync_total{result="synced"}`,
		`secretsync_sync_total{result="error"}`,
		`secretsync_provider_calls_total{operation="GetSecret",provider="fake",result="success"}`,
		`secretsync_provider_calls_total{operation="GetSecret",provider="fake",result="not_found"}`,
		`secretsync_reconcile_duration_seconds_bucket`,
		`secretsync_workqueue_depth{name="externalsecrets"}`,
	} {
		if !strings.Contains(rec, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(rec, "missing-key") || strings.Contains(rec, "admin") {
		t.Errorf("metrics name a key or value")
	}
	if got := httptestGet(t, ctrl.metrics.handler(), "/readyz"); got != "ok" {
		t.Errorf("readyz: %q", got)
	}
}

func httptestGet(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Body.String()
}

// The spec invariants are enforced by the real apiserver, as CEL rules
// and schema, with readable messages and no webhook.
func TestE2EInvalidSpecsAreRejected(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	es := func(spec string) string {
		return "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: bad, namespace: " + ns + "}\nspec:\n" + spec
	}
	store := func(provider string) string {
		return "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: bad, namespace: " + ns + "}\nspec:\n  provider:\n" + provider
	}
	data := "  data:\n  - secretKey: k\n    remoteRef: {key: r}\n"
	tests := map[string]struct {
		manifest string
		want     string
	}{
		"neither data nor dataFrom": {es("  secretStoreRef: {name: s}\n"), "either data or dataFrom must be set"},
		"deletionPolicy Delete without Owner": {es("  target: {creationPolicy: Orphan, deletionPolicy: Delete}\n" + data),
			"deletionPolicy Delete needs creationPolicy Owner"},
		"deletionPolicy Merge with creationPolicy None": {es("  target: {creationPolicy: None, deletionPolicy: Merge}\n" + data),
			"deletionPolicy Merge cannot be used with creationPolicy None"},
		"a duplicate secretKey":         {es("  data:\n  - secretKey: k\n    remoteRef: {key: a}\n  - secretKey: k\n    remoteRef: {key: b}\n"), "Duplicate value"},
		"an unknown creationPolicy":     {es("  target: {creationPolicy: Sometimes}\n" + data), "Unsupported value"},
		"an invalid secretKey":          {es("  data:\n  - secretKey: 'a b'\n    remoteRef: {key: r}\n"), "spec.data[0].secretKey"},
		"a remoteRef without key":       {es("  data:\n  - secretKey: k\n    remoteRef: {property: p}\n"), "spec.data[0].remoteRef.key"},
		"extract and find together":     {es("  dataFrom:\n  - extract: {key: a}\n    find: {name: {regexp: x}}\n"), "set either extract or find, not both"},
		"a dataFrom entry with nothing": {es("  dataFrom:\n  - rewrite: [{regexp: {source: a, target: b}}]\n"), "set extract or find"},
		"a rewrite with regexp and transform": {es("  dataFrom:\n  - extract: {key: a}\n    rewrite: [{regexp: {source: a, target: b}, transform: {template: x}}]\n"),
			"set exactly one of regexp or transform"},
		"a bad refreshPolicy":                      {es("  refreshPolicy: Hourly\n" + data), "Unsupported value"},
		"a store with no provider":                 {store("    {}\n"), "set exactly one provider"},
		"a store with two providers":               {store("    fake: {data: []}\n    vault: {server: https://v}\n"), "set exactly one provider"},
		"an unknown vault KV version":              {store("    vault: {server: https://v, version: v3}\n"), "Unsupported value"},
		"a refreshInterval that is not a duration": {es("  refreshInterval: 1 hour\n" + data), "spec.refreshInterval"},
		"a negative refreshInterval":               {es("  refreshInterval: -5m\n" + data), "spec.refreshInterval"},
		"a store kind that is not a store":         {es("  secretStoreRef: {name: s, kind: Vault}\n" + data), "Unsupported value"},
		"an unknown decodingStrategy": {es("  data:\n  - secretKey: k\n    remoteRef: {key: r, decodingStrategy: Rot13}\n"),
			"Unsupported value"},
		"a rewrite regexp without source": {es("  dataFrom:\n  - extract: {key: a}\n    rewrite: [{regexp: {target: b}}]\n"), "source"},
		"a templateFrom item without key": {es("  target:\n    template:\n      templateFrom:\n      - configMap: {name: c, items: [{templateAs: Values}]}\n" + data),
			"key"},
		"an unknown AWS service": {store("    aws: {service: S3, region: us-east-1}\n"), "Unsupported value"},
		"a condition with an invalid namespace": {"apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: bad-" + ns + "}\nspec:\n  conditions: [{namespaces: [Bad_NS]}]\n  provider:\n    fake: {data: []}\n",
			"spec.conditions[0].namespaces[0]"},
	}
	// What is valid stays valid: refreshInterval 0 (sync once) and the
	// forms ESO's documentation uses.
	for i, interval := range []string{`"0"`, "0s", "1h", "10m30s", "1.5h", "500ms"} {
		if err := h.applier.Apply(context.Background(), []byte(strings.Replace(es("  refreshInterval: "+interval+"\n"+data), "name: bad", fmt.Sprintf("name: ok-%d", i), 1))); err != nil {
			t.Errorf("refreshInterval %s: %v", interval, err)
		}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := h.applier.Apply(context.Background(), []byte(tc.manifest))
			if err == nil {
				t.Fatalf("the apiserver accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("want a message containing %q, got: %v", tc.want, err)
			}
		})
	}
}

// ExternalSecrets that share a remote secret share its read, and a
// rotation one of them notices reaches the others without more reads.
func TestE2ESharedReads(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctrl := h.startController(t, controllerOpts{})
	ctrl.mem.Set("db", []byte(`{"user":"admin","password":"v1","token":"CANARY-e2e-4b1d"}`))
	h.apply(t, storeYAML, "store", ns, "")
	const n = 10
	for i := 0; i < n; i++ {
		h.apply(t, esYAML, fmt.Sprintf("app-%d", i), ns, "1h", "store", fmt.Sprintf("secret-%d", i), "Owner", "Retain")
	}
	for i := 0; i < n; i++ {
		h.waitSecretData(t, ns, fmt.Sprintf("secret-%d", i), "password", "v1")
	}
	if got := ctrl.mem.Calls("db"); got != 1 {
		t.Errorf("%d ExternalSecrets sharing one remote secret made %d reads; want 1", n, got)
	}

	// One of them is edited, so it reads again and sees the rotation; the
	// others follow from the shared read.
	ctrl.mem.Set("db", []byte(`{"user":"admin","password":"v2","token":"CANARY-e2e-4b1d"}`))
	h.apply(t, strings.Replace(esYAML, "metadata: {name: %s, namespace: %s}", "metadata: {name: %s, namespace: %s, labels: {touched: \"yes\"}}", 1),
		"app-0", ns, "1h", "store", "secret-0", "Owner", "Retain")
	for i := 0; i < n; i++ {
		h.waitSecretData(t, ns, fmt.Sprintf("secret-%d", i), "password", "v2")
	}
	if got := ctrl.mem.Calls("db"); got != 2 {
		t.Errorf("after the rotation: %d reads in all; want 2", got)
	}
}

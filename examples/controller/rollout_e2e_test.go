package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/rollout"
	rolloutcontroller "github.com/secretsync/secretsync/rollout/controller"
)

// rolloutRBAC is what the rollout controller needs beyond config/rbac:
// watching workloads and updating their pod templates. Secrets (get, list,
// watch) and events are granted there already.
const rolloutRBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: secretsync-controller-rollout}
rules:
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["list", "watch", "update"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: secretsync-controller-rollout}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secretsync-controller-rollout}
subjects:
- {kind: ServiceAccount, name: secretsync-controller, namespace: secretsync-system}
`

// testManager is the field manager of what the tests create, so they can
// check the controller's updates keep it.
const testManager = "e2e-test"

// runningRollout is a rollout controller a test runs, with its metrics and
// the Secrets it read.
type runningRollout struct {
	c       *rolloutcontroller.Controller
	metrics *metrics
	reads   *secretReads
}

// newRollout builds a rollout controller as the controller identity, on
// namespace (empty for all), with the default coalescing delay, and wires
// its metrics as run.go does.
func (h *harness) newRollout(t *testing.T, namespace string) *runningRollout {
	t.Helper()
	h.apply(t, rolloutRBAC)
	// The client limits of run.go's defaults, not client-go's 5 per second.
	cfg := rest.CopyConfig(h.ctrlCfg)
	cfg.QPS, cfg.Burst = 200, 400
	reads := &secretReads{names: map[string]bool{}}
	cfg.Wrap(reads.wrap)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The binding takes effect as soon as the apiserver's RBAC cache has it.
	eventually(t, 10*time.Second, func() (bool, string) {
		_, err := kube.AppsV1().Deployments(namespace).List(context.Background(), metav1.ListOptions{Limit: 1})
		return err == nil, fmt.Sprint(err)
	})
	m := newMetrics(nil)
	c := rolloutcontroller.New(rolloutcontroller.Config{Kube: kube, Metadata: meta, Namespace: namespace, Registerer: m.registry, QueueMetrics: m})
	return &runningRollout{c: c, metrics: m, reads: reads}
}

// startRollout runs a rollout controller until the test ends.
func (h *harness) startRollout(t *testing.T, namespace string) *runningRollout {
	t.Helper()
	r := h.newRollout(t, namespace)
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logger()))
	done := make(chan error, 1)
	go func() { done <- r.c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("rollout controller: %v", err)
		}
	})
	return r
}

// writes counts the controller's writes to workloads of kind by action:
// "record" (a first hash, no roll) or "roll".
func (r *runningRollout) writes(t *testing.T, kind, action string) int {
	t.Helper()
	return counterSum(t, r.metrics, "secretsync_rollout_writes_total", map[string]string{"kind": kind, "action": action})
}

// secretReads records the Secrets a client GETs, by "namespace/name": the
// rollout controller caches only Secrets it read.
type secretReads struct {
	mu    sync.Mutex
	names map[string]bool
}

func (s *secretReads) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		// /api/v1/namespaces/{namespace}/secrets/{name}
		if p := strings.Split(req.URL.Path, "/"); req.Method == http.MethodGet && len(p) == 7 && p[1] == "api" && p[3] == "namespaces" && p[5] == "secrets" {
			s.mu.Lock()
			s.names[p[4]+"/"+p[6]] = true
			s.mu.Unlock()
		}
		return next.RoundTrip(req)
	})
}

// matching returns the names of the Secrets of namespace ns read whose
// name starts with prefix.
func (s *secretReads) matching(ns, prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.names {
		if strings.HasPrefix(k, ns+"/"+prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// Ways a pod template reads a Secret.
func viaEnvFrom(secret string) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) {
		s.Containers[0].EnvFrom = append(s.Containers[0].EnvFrom, corev1.EnvFromSource{
			SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: secret}},
		})
	}
}

func viaKeyRef(secret, key string) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) {
		s.Containers[0].Env = append(s.Containers[0].Env, corev1.EnvVar{
			Name: strings.ToUpper(key),
			ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key,
			}},
		})
	}
}

func viaVolume(secret string) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) {
		s.Volumes = append(s.Volumes, corev1.Volume{Name: "secret", VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: secret},
		}})
		s.Containers[0].VolumeMounts = append(s.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "secret", MountPath: "/secret"})
	}
}

func viaProjectedKey(secret, key string) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) {
		s.Volumes = append(s.Volumes, corev1.Volume{Name: "projected", VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: secret},
				Items:                []corev1.KeyToPath{{Key: key, Path: key}},
			}}}},
		}})
		s.Containers[0].VolumeMounts = append(s.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "projected", MountPath: "/projected"})
	}
}

var optIn = map[string]string{rollout.AnnotationRestartOnSecretChange: "true"}

func podTemplate(name string, reads ...func(*corev1.PodSpec)) (*metav1.LabelSelector, corev1.PodTemplateSpec) {
	labels := map[string]string{"app": name}
	t := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
	}
	for _, r := range reads {
		r(&t.Spec)
	}
	return &metav1.LabelSelector{MatchLabels: labels}, t
}

func newDeployment(name string, annotations map[string]string, reads ...func(*corev1.PodSpec)) *appsv1.Deployment {
	sel, tmpl := podTemplate(name, reads...)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
		Spec:       appsv1.DeploymentSpec{Selector: sel, Template: tmpl},
	}
}

func newStatefulSet(name string, annotations map[string]string, reads ...func(*corev1.PodSpec)) *appsv1.StatefulSet {
	sel, tmpl := podTemplate(name, reads...)
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
		Spec:       appsv1.StatefulSetSpec{Selector: sel, Template: tmpl, ServiceName: name},
	}
}

func newDaemonSet(name string, annotations map[string]string, reads ...func(*corev1.PodSpec)) *appsv1.DaemonSet {
	sel, tmpl := podTemplate(name, reads...)
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
		Spec:       appsv1.DaemonSetSpec{Selector: sel, Template: tmpl},
	}
}

// createWorkloads creates Deployments, StatefulSets and DaemonSets in ns
// and deletes them when the test ends, lest a later controller find them.
func (h *harness) createWorkloads(t *testing.T, ns string, objs ...runtime.Object) {
	t.Helper()
	ctx := context.Background()
	opts := metav1.CreateOptions{FieldManager: testManager}
	apps := h.admin.AppsV1()
	for _, obj := range objs {
		var err error
		switch o := obj.(type) {
		case *appsv1.Deployment:
			_, err = apps.Deployments(ns).Create(ctx, o, opts)
		case *appsv1.StatefulSet:
			_, err = apps.StatefulSets(ns).Create(ctx, o, opts)
		case *appsv1.DaemonSet:
			_, err = apps.DaemonSets(ns).Create(ctx, o, opts)
		}
		if err != nil {
			t.Fatalf("create %T: %v", obj, err)
		}
	}
	t.Cleanup(func() {
		all := metav1.ListOptions{}
		for _, err := range []error{
			apps.Deployments(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, all),
			apps.StatefulSets(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, all),
			apps.DaemonSets(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, all),
		} {
			if err != nil {
				t.Errorf("clean up workloads in %s: %v", ns, err)
			}
		}
	})
}

// workload is a Deployment, StatefulSet or DaemonSet as the tests read
// it; obj and template point into the object.
type workload struct {
	key      string // "Kind/name"
	obj      metav1.Object
	template *corev1.PodTemplateSpec
}

func asWorkload(obj runtime.Object) (workload, bool) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return workload{key: "Deployment/" + o.Name, obj: o, template: &o.Spec.Template}, true
	case *appsv1.StatefulSet:
		return workload{key: "StatefulSet/" + o.Name, obj: o, template: &o.Spec.Template}, true
	case *appsv1.DaemonSet:
		return workload{key: "DaemonSet/" + o.Name, obj: o, template: &o.Spec.Template}, true
	}
	return workload{}, false
}

// refs returns the Secrets whose changes roll the workload, as the
// controller selects them.
func (w workload) refs() []rollout.Ref {
	refs, _ := rollout.Select(rollout.SecretRefs(w.template), w.obj.GetAnnotations()[rollout.AnnotationRestartOnSecretChange])
	return refs
}

// getWorkload reads a workload; key is "Kind/name".
func (h *harness) getWorkload(t *testing.T, ns, key string) workload {
	t.Helper()
	kind, name, _ := strings.Cut(key, "/")
	ctx := context.Background()
	var (
		obj runtime.Object
		err error
	)
	switch kind {
	case "Deployment":
		obj, err = h.admin.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	case "StatefulSet":
		obj, err = h.admin.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
	case "DaemonSet":
		obj, err = h.admin.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	w, _ := asWorkload(obj)
	return w
}

// rollRecorder watches the workloads of a namespace and records when
// their pod template's config hash changed: each change is a roll.
type rollRecorder struct {
	mu    sync.Mutex
	last  map[string]string      // "Kind/name" → template hash
	rolls map[string][]time.Time // "Kind/name" → when it rolled
}

func (h *harness) recordRolls(t *testing.T, ns string) *rollRecorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &rollRecorder{last: map[string]string{}, rolls: map[string][]time.Time{}}
	apps := h.admin.AppsV1()
	type source struct {
		list  func(metav1.ListOptions) (runtime.Object, error)
		watch func(metav1.ListOptions) (watch.Interface, error)
	}
	for _, s := range []source{
		{func(o metav1.ListOptions) (runtime.Object, error) { return apps.Deployments(ns).List(ctx, o) }, func(o metav1.ListOptions) (watch.Interface, error) { return apps.Deployments(ns).Watch(ctx, o) }},
		{func(o metav1.ListOptions) (runtime.Object, error) { return apps.StatefulSets(ns).List(ctx, o) }, func(o metav1.ListOptions) (watch.Interface, error) { return apps.StatefulSets(ns).Watch(ctx, o) }},
		{func(o metav1.ListOptions) (runtime.Object, error) { return apps.DaemonSets(ns).List(ctx, o) }, func(o metav1.ListOptions) (watch.Interface, error) { return apps.DaemonSets(ns).Watch(ctx, o) }},
	} {
		list, err := s.list(metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		items, err := metaItems(list)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range items {
			if w, ok := asWorkload(obj); ok {
				r.last[w.key] = w.template.Annotations[rollout.AnnotationConfigHash]
			}
		}
		rv := list.(metav1.ListInterface).GetResourceVersion()
		w, err := s.watch(metav1.ListOptions{ResourceVersion: rv})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer w.Stop()
			for ev := range w.ResultChan() {
				if wl, ok := asWorkload(ev.Object); ok && ev.Type != watch.Deleted {
					r.observe(wl)
				}
			}
		}()
	}
	return r
}

func metaItems(list runtime.Object) ([]runtime.Object, error) {
	switch l := list.(type) {
	case *appsv1.DeploymentList:
		out := make([]runtime.Object, len(l.Items))
		for i := range l.Items {
			out[i] = &l.Items[i]
		}
		return out, nil
	case *appsv1.StatefulSetList:
		out := make([]runtime.Object, len(l.Items))
		for i := range l.Items {
			out[i] = &l.Items[i]
		}
		return out, nil
	case *appsv1.DaemonSetList:
		out := make([]runtime.Object, len(l.Items))
		for i := range l.Items {
			out[i] = &l.Items[i]
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected list %T", list)
}

func (r *rollRecorder) observe(w workload) {
	key := w.key
	hash := w.template.Annotations[rollout.AnnotationConfigHash]
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, seen := r.last[key]; seen && prev == hash {
		return
	}
	first := false
	if _, seen := r.last[key]; !seen {
		first = true // created after the recorder started
	}
	r.last[key] = hash
	if first && hash == "" {
		return
	}
	r.rolls[key] = append(r.rolls[key], time.Now())
}

// count returns how many rolls each key saw.
func (r *rollRecorder) count(keys ...string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, k := range keys {
		out[k] = len(r.rolls[k])
	}
	return out
}

func (r *rollRecorder) get(key string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.rolls[key])
}

// waitRolled waits until each key has rolled at least n times.
func (r *rollRecorder) waitRolled(t *testing.T, timeout time.Duration, n int, keys ...string) {
	t.Helper()
	eventually(t, timeout, func() (bool, string) {
		var behind []string
		for k, c := range r.count(keys...) {
			if c < n {
				behind = append(behind, fmt.Sprintf("%s=%d", k, c))
			}
		}
		sort.Strings(behind)
		return len(behind) == 0, fmt.Sprintf("want %d rolls; behind: %v", n, behind)
	})
}

// settle waits long enough for a second, unwanted roll to show: the
// coalescing delay and a refresh interval, with slack.
func settle() { time.Sleep(rolloutcontroller.DefaultCoalesce + 2*time.Second) }

// waitRecorded waits until each workload carries a recorded hash.
func (h *harness) waitRecorded(t *testing.T, ns string, keys ...string) map[string]int64 {
	t.Helper()
	gens := map[string]int64{}
	eventually(t, 20*time.Second, func() (bool, string) {
		for _, k := range keys {
			w := h.getWorkload(t, ns, k)
			if w.obj.GetAnnotations()[rollout.AnnotationConfigHash] == "" {
				return false, k + " has no recorded hash"
			}
			gens[k] = w.obj.GetGeneration()
		}
		return true, ""
	})
	return gens
}

// wantHash checks that a workload's template carries the hash of the
// Secrets it reads, as the library computes it from what the apiserver
// holds now.
func (h *harness) wantHash(t *testing.T, ns, key string) {
	t.Helper()
	w := h.getWorkload(t, ns, key)
	refs := w.refs()
	secrets := map[string]*corev1.Secret{}
	for _, r := range refs {
		if s, err := h.getSecret(ns, r.Name); err == nil {
			secrets[r.Name] = s
		}
	}
	if got, want := w.template.Annotations[rollout.AnnotationConfigHash], rollout.Hash(refs, secrets); got != want {
		t.Errorf("%s: template hash %q, want %q for the Secrets as they are", key, got, want)
	}
}

func dbValue(password string) []byte {
	return []byte(`{"user":"admin","password":"` + password + `","token":"` + canary + `"}`)
}

// A rotation at the store rolls each workload that reads the rotated value,
// once, whether it reads it by envFrom, secretKeyRef or a volume, and
// nothing else.
func TestE2ERolloutRestartsOnRotation(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctrl := h.startController(t, controllerOpts{})
	ctrl.mem.Set("db", dbValue("v1"))
	h.apply(t, storeYAML, "store", ns, "")
	h.apply(t, esYAML, "app", ns, "1s", "store", "app-secret", "Owner", "Retain")
	h.waitSecretData(t, ns, "app-secret", "password", "v1")

	paused := newDeployment("paused", optIn, viaEnvFrom("app-secret"))
	paused.Spec.Paused = true
	h.createWorkloads(t, ns,
		newDeployment("envfrom", optIn, viaEnvFrom("app-secret")),
		newDeployment("keyref", optIn, viaKeyRef("app-secret", "password")),
		newDeployment("volume", optIn, viaVolume("app-secret")),
		newStatefulSet("envfrom", optIn, viaEnvFrom("app-secret")),
		newStatefulSet("keyref", optIn, viaKeyRef("app-secret", "password")),
		newStatefulSet("volume", optIn, viaVolume("app-secret")),
		newDaemonSet("envfrom", optIn, viaEnvFrom("app-secret")),
		newDeployment("named", map[string]string{rollout.AnnotationRestartOnSecretChange: "app-secret"}, viaProjectedKey("app-secret", "password")),
		newDeployment("user-only", optIn, viaKeyRef("app-secret", "user")),
		newDeployment("other-secret", map[string]string{rollout.AnnotationRestartOnSecretChange: "not-this-one"}, viaEnvFrom("app-secret")),
		newDeployment("not-opted-in", nil, viaEnvFrom("app-secret")),
		paused,
	)
	rolling := []string{
		"Deployment/envfrom", "Deployment/keyref", "Deployment/volume", "Deployment/named",
		"StatefulSet/envfrom", "StatefulSet/keyref", "StatefulSet/volume", "DaemonSet/envfrom",
	}
	staying := []string{"Deployment/user-only", "Deployment/other-secret"}
	untouched := []string{"Deployment/not-opted-in", "Deployment/paused"}
	rvs := map[string]string{}
	for _, k := range untouched {
		rvs[k] = h.getWorkload(t, ns, k).obj.GetResourceVersion()
	}
	rec := h.recordRolls(t, ns)
	r := h.startRollout(t, ns)

	// Opting in records the hash in the workload's annotations and rolls
	// nothing.
	gens := h.waitRecorded(t, ns, append(rolling, staying...)...)
	for k, n := range rec.count(append(rolling, staying...)...) {
		if n != 0 {
			t.Errorf("%s rolled %d times on opting in; want 0", k, n)
		}
	}

	ctrl.mem.Set("db", dbValue("v2"))
	h.waitSecretData(t, ns, "app-secret", "password", "v2")
	rec.waitRolled(t, 20*time.Second, 1, rolling...)
	settle()

	for k, n := range rec.count(append(rolling, staying...)...) {
		want := 0
		if slices.Contains(rolling, k) {
			want = 1
		}
		if n != want {
			t.Errorf("%s rolled %d times; want %d", k, n, want)
		}
	}
	for _, k := range rolling {
		w := h.getWorkload(t, ns, k)
		if got := w.obj.GetGeneration(); got != gens[k]+1 {
			t.Errorf("%s: generation %d, want %d: one write of its template", k, got, gens[k]+1)
		}
		h.wantHash(t, ns, k)
		var managers []string
		for _, f := range w.obj.GetManagedFields() {
			managers = append(managers, f.Manager)
		}
		if !slices.Contains(managers, engine.DefaultFieldManager) || !slices.Contains(managers, testManager) {
			t.Errorf("%s: managers %v, want %s and %s both", k, managers, engine.DefaultFieldManager, testManager)
		}
	}
	for _, k := range untouched {
		if got := h.getWorkload(t, ns, k).obj.GetResourceVersion(); got != rvs[k] {
			t.Errorf("%s was written (resourceVersion %s, then %s); want untouched", k, rvs[k], got)
		}
	}
	if got := r.writes(t, "Deployment", "roll"); got != 4 {
		t.Errorf("metrics: %d Deployment rolls, want 4", got)
	}

	eventually(t, 10*time.Second, func() (bool, string) {
		events, err := h.admin.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "reason=SecretsChanged"})
		if err != nil {
			return false, err.Error()
		}
		return len(events.Items) == len(rolling), fmt.Sprintf("%d SecretsChanged events, want %d", len(events.Items), len(rolling))
	})
}

// Five rotations within a second roll a workload once, onto the last value.
func TestE2ERolloutCoalescesBurst(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctrl := h.startController(t, controllerOpts{})
	ctrl.mem.Set("db", dbValue("v0"))
	h.apply(t, storeYAML, "store", ns, "")
	h.apply(t, esYAML, "app", ns, "1s", "store", "app-secret", "Owner", "Retain")
	h.waitSecretData(t, ns, "app-secret", "password", "v0")
	h.createWorkloads(t, ns, newDeployment("app", optIn, viaEnvFrom("app-secret")))
	rec := h.recordRolls(t, ns)
	h.startRollout(t, ns)
	h.waitRecorded(t, ns, "Deployment/app")

	for i := 1; i <= 5; i++ {
		ctrl.mem.Set("db", dbValue(fmt.Sprintf("v%d", i)))
		time.Sleep(200 * time.Millisecond)
	}
	h.waitSecretData(t, ns, "app-secret", "password", "v5")
	rec.waitRolled(t, 20*time.Second, 1, "Deployment/app")
	settle()
	if n := rec.count("Deployment/app")["Deployment/app"]; n != 1 {
		t.Errorf("a burst of 5 rotations rolled %d times; want 1", n)
	}
	h.wantHash(t, ns, "Deployment/app")
}

// A Secret 50 Deployments read rolls all 50, once each.
func TestE2ERolloutSharedSecret(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctrl := h.startController(t, controllerOpts{})
	ctrl.mem.Set("db", dbValue("v1"))
	h.apply(t, storeYAML, "store", ns, "")
	h.apply(t, esYAML, "app", ns, "1s", "store", "app-secret", "Owner", "Retain")
	h.waitSecretData(t, ns, "app-secret", "password", "v1")

	const n = 50
	var objs []runtime.Object
	var keys []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("app-%02d", i)
		objs = append(objs, newDeployment(name, optIn, viaEnvFrom("app-secret")))
		keys = append(keys, "Deployment/"+name)
	}
	h.createWorkloads(t, ns, objs...)
	rec := h.recordRolls(t, ns)
	r := h.startRollout(t, ns)
	gens := h.waitRecorded(t, ns, keys...)

	rotated := time.Now()
	ctrl.mem.Set("db", dbValue("v2"))
	rec.waitRolled(t, 30*time.Second, 1, keys...)
	var last time.Time
	for _, k := range keys {
		if at := rec.get(k)[0]; at.After(last) {
			last = at
		}
	}
	t.Logf("%d Deployments rolled within %v of the rotation", n, last.Sub(rotated).Round(time.Millisecond))
	settle()
	for k, c := range rec.count(keys...) {
		if c != 1 {
			t.Errorf("%s rolled %d times; want 1", k, c)
		}
		if got := h.getWorkload(t, ns, k).obj.GetGeneration(); got != gens[k]+1 {
			t.Errorf("%s: generation %d, want %d", k, got, gens[k]+1)
		}
	}
	if got := r.writes(t, "Deployment", "roll"); got != n {
		t.Errorf("metrics: %d rolls, want %d", got, n)
	}
	if got := r.writes(t, "Deployment", "record"); got != n {
		t.Errorf("metrics: %d records, want %d", got, n)
	}
}

// A Secret nobody synced (made by hand) counts too; the controller watches
// all namespaces here, and a cluster full of unrelated Secrets costs it
// neither memory nor work.
func TestE2ERolloutHandMadeSecret(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctx := context.Background()
	secrets := h.admin.CoreV1().Secrets(ns)
	manual := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "manual"},
		Data:       map[string][]byte{"a": []byte("1"), "b": []byte("1")},
	}
	if _, err := secrets.Create(ctx, manual, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.createWorkloads(t, ns, newDeployment("app", optIn, viaKeyRef("manual", "a")))
	rec := h.recordRolls(t, ns)
	r := h.startRollout(t, "")
	h.waitRecorded(t, ns, "Deployment/app")
	const key = "Deployment/app"

	edit := func(mod func(*corev1.Secret)) {
		t.Helper()
		s, err := secrets.Get(ctx, "manual", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mod(s)
		if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("a hand edit of the key it reads rolls it", func(t *testing.T) {
		edit(func(s *corev1.Secret) { s.Data["a"] = []byte("2") })
		rec.waitRolled(t, 20*time.Second, 1, key)
		h.wantHash(t, ns, key)
	})
	t.Run("a key it does not read, or a label, does not", func(t *testing.T) {
		edit(func(s *corev1.Secret) { s.Data["b"] = []byte("2") })
		edit(func(s *corev1.Secret) { s.Labels = map[string]string{"touched": "yes"} })
		settle()
		if n := rec.count(key)[key]; n != 1 {
			t.Errorf("rolled %d times in all; want 1", n)
		}
	})
	t.Run("unrelated Secrets are neither read nor queued", func(t *testing.T) {
		cfg := rest.CopyConfig(h.env.Config)
		cfg.QPS, cfg.Burst = 500, 500
		fast, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		secrets := fast.CoreV1().Secrets(ns)
		adds := counterValue(r.metrics.queueAdds.WithLabelValues("rollouts"))
		for i := 0; i < 100; i++ {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%03d", i)}, Data: map[string][]byte{"k": []byte("v")}}
			if _, err := secrets.Create(ctx, s, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			s.Data["k"] = []byte("w")
			if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		settle()
		if got := counterValue(r.metrics.queueAdds.WithLabelValues("rollouts")); got != adds {
			t.Errorf("200 writes to unrelated Secrets queued %v workloads; want 0", got-adds)
		}
		// The controller caches only the Secrets it GETs: none of these.
		if read := r.reads.matching(ns, "unrelated-"); len(read) != 0 {
			t.Errorf("read %d unrelated Secrets, such as %s; want none", len(read), read[0])
		}
		if read := r.reads.matching(ns, "manual"); len(read) != 1 {
			t.Errorf("read %v; want %s/manual, the Secret an opted-in workload reads", read, ns)
		}
	})
	t.Run("a deleted Secret its pods need holds the roll", func(t *testing.T) {
		if err := secrets.Delete(ctx, "manual", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, func() (bool, string) {
			events, err := h.admin.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=SecretMissing"})
			if err != nil {
				return false, err.Error()
			}
			return len(events.Items) > 0, "no SecretMissing event"
		})
		// Back with the value the pods run with: nothing to roll.
		manual.Data["a"] = []byte("2")
		if _, err := secrets.Create(ctx, manual, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		settle()
		if n := rec.count(key)[key]; n != 1 {
			t.Errorf("rolled %d times in all; want 1", n)
		}
	})
}

// The latency from a rotation at the store to the pod template's new
// hash, over 20 rotations, with a 1s refresh interval and the default
// coalescing delay. The figures are logged; timing goals belong in the
// benchmarks, so the bound here is loose.
func TestE2ERolloutLatency(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	ctrl := h.startController(t, controllerOpts{})
	ctrl.mem.Set("db", dbValue("v0"))
	h.apply(t, storeYAML, "store", ns, "")
	h.apply(t, esYAML, "app", ns, "1s", "store", "app-secret", "Owner", "Retain")
	h.waitSecretData(t, ns, "app-secret", "password", "v0")
	h.createWorkloads(t, ns, newDeployment("app", optIn, viaEnvFrom("app-secret")))
	rec := h.recordRolls(t, ns)
	h.startRollout(t, ns)
	h.waitRecorded(t, ns, "Deployment/app")
	const key = "Deployment/app"

	// When each value reached the Secret, to split the latency in two.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := h.getSecret(ns, "app-secret")
	if err != nil {
		t.Fatal(err)
	}
	sw, err := h.admin.CoreV1().Secrets(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=app-secret", ResourceVersion: s.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	reached := map[string]time.Time{}
	go func() {
		for ev := range sw.ResultChan() {
			if s, ok := ev.Object.(*corev1.Secret); ok {
				mu.Lock()
				if _, seen := reached[string(s.Data["password"])]; !seen {
					reached[string(s.Data["password"])] = time.Now()
				}
				mu.Unlock()
			}
		}
	}()

	const rotations = 20
	var total, toSecret, toTemplate []time.Duration
	for i := 1; i <= rotations; i++ {
		value := fmt.Sprintf("v%d", i)
		// Spread the rotations over the phase of the refresh interval, as
		// rotations at random times would be.
		time.Sleep(time.Duration(i) * 50 * time.Millisecond)
		start := time.Now()
		ctrl.mem.Set("db", dbValue(value))
		rec.waitRolled(t, 20*time.Second, i, key)
		rolled := rec.get(key)[i-1]
		mu.Lock()
		atSecret := reached[value]
		mu.Unlock()
		total = append(total, rolled.Sub(start))
		toSecret = append(toSecret, atSecret.Sub(start))
		toTemplate = append(toTemplate, rolled.Sub(atSecret))
	}
	if n := rec.count(key)[key]; n != rotations {
		t.Errorf("%d rotations rolled %d times", rotations, n)
	}
	t.Logf("rotation at the store → pod template hash, %d rotations, refreshInterval 1s, coalesce %v:", rotations, rolloutcontroller.DefaultCoalesce)
	t.Logf("  total:               median %v, worst %v", median(total), slices.Max(total).Round(time.Millisecond))
	t.Logf("  store → Secret:      median %v, worst %v", median(toSecret), slices.Max(toSecret).Round(time.Millisecond))
	t.Logf("  Secret → template:   median %v, worst %v", median(toTemplate), slices.Max(toTemplate).Round(time.Millisecond))
	if worst := slices.Max(total); worst > 15*time.Second {
		t.Errorf("worst latency %v; want about one refresh interval plus the coalescing delay", worst)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return m.Round(time.Millisecond)
}

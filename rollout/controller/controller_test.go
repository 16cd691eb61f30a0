package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/secretsync/secretsync/rollout"
)

func TestDecideRollout(t *testing.T) {
	const key = rollout.AnnotationConfigHash
	tests := map[string]struct {
		workload, template map[string]string
		want               rolloutAction
	}{
		"opting in records the hash and rolls nothing": {want: rolloutRecord},
		"an unchanged recorded hash writes nothing": {
			workload: map[string]string{key: "h1"}, want: rolloutNone,
		},
		"a changed recorded hash rolls": {
			workload: map[string]string{key: "h0"}, want: rolloutRoll,
		},
		"an unchanged template hash writes nothing": {
			workload: map[string]string{key: "h0"}, template: map[string]string{key: "h1"}, want: rolloutNone,
		},
		"the template hash is what the pods run with": {
			workload: map[string]string{key: "h1"}, template: map[string]string{key: "h0"}, want: rolloutRoll,
		},
		"a hash another operator put on the template counts": {
			template: map[string]string{key: "h0"}, want: rolloutRoll,
		},
		"other annotations do not count": {
			workload: map[string]string{"a": "b"}, template: map[string]string{"kubectl.kubernetes.io/restartedAt": "now"}, want: rolloutRecord,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := decideRollout(tc.workload, tc.template, "h1"); got != tc.want {
				t.Errorf("want %s, got %s", tc.want, got)
			}
		})
	}
}

func deploymentWith(annotations map[string]string, mods ...func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: "app", Namespace: "ns", UID: "uid", ResourceVersion: "7", Generation: 3,
			Annotations:   annotations,
			Labels:        map[string]string{"app": "app"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}}}}}},
		}}},
	}
	for _, m := range mods {
		m(d)
	}
	return d
}

func TestSlimWorkload(t *testing.T) {
	optedIn := map[string]string{rollout.AnnotationRestartOnSecretChange: "true"}
	stubMeta := metav1.ObjectMeta{Name: "app", Namespace: "ns", UID: "uid", ResourceVersion: "7", Generation: 3}
	tests := map[string]struct {
		obj  any
		want any
	}{
		"an opted-in workload is kept whole but for managed fields": {
			obj: deploymentWith(optedIn),
			want: deploymentWith(optedIn, func(d *appsv1.Deployment) {
				d.ManagedFields = nil
			}),
		},
		"opting in with an empty value still keeps it whole": {
			obj:  deploymentWith(map[string]string{rollout.AnnotationRestartOnSecretChange: ""}),
			want: deploymentWith(map[string]string{rollout.AnnotationRestartOnSecretChange: ""}, func(d *appsv1.Deployment) { d.ManagedFields = nil }),
		},
		"a Deployment not opted in becomes a stub": {
			obj:  deploymentWith(map[string]string{"other": "x"}),
			want: &appsv1.Deployment{ObjectMeta: stubMeta},
		},
		"a StatefulSet not opted in becomes a stub": {
			obj:  &appsv1.StatefulSet{ObjectMeta: stubMeta, Spec: appsv1.StatefulSetSpec{ServiceName: "svc"}},
			want: &appsv1.StatefulSet{ObjectMeta: stubMeta},
		},
		"a DaemonSet not opted in becomes a stub": {
			obj:  &appsv1.DaemonSet{ObjectMeta: stubMeta, Spec: appsv1.DaemonSetSpec{MinReadySeconds: 4}},
			want: &appsv1.DaemonSet{ObjectMeta: stubMeta},
		},
		"anything else passes through": {
			obj:  cache.DeletedFinalStateUnknown{Key: "ns/app"},
			want: cache.DeletedFinalStateUnknown{Key: "ns/app"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := slimWorkload(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// A transform must be idempotent.
			again, _ := slimWorkload(got)
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("not idempotent:\n%s", diff)
			}
		})
	}
}

func TestRelevantChange(t *testing.T) {
	base := deploymentWith(map[string]string{rollout.AnnotationRestartOnSecretChange: "true"})
	tests := map[string]struct {
		mod  func(*appsv1.Deployment)
		want bool
	}{
		"a status update is not relevant": {mod: func(d *appsv1.Deployment) {
			d.ResourceVersion = "8"
			d.Status.ReadyReplicas = 1
		}},
		"a label is not relevant": {mod: func(d *appsv1.Deployment) { d.Labels["x"] = "y" }},
		"a spec change is":        {mod: func(d *appsv1.Deployment) { d.Generation++ }, want: true},
		"an annotation is":        {mod: func(d *appsv1.Deployment) { d.Annotations[rollout.AnnotationRestartOnSecretChange] = "db" }, want: true},
		"a template annotation is": {mod: func(d *appsv1.Deployment) {
			d.Spec.Template.Annotations = map[string]string{rollout.AnnotationConfigHash: "h"}
		}, want: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			changed := base.DeepCopy()
			tc.mod(changed)
			old, _ := asWorkload(base)
			w, _ := asWorkload(changed)
			if got := relevantChange(old, w); got != tc.want {
				t.Errorf("want %v, got %v", tc.want, got)
			}
		})
	}
}

func TestWorkloadRefs(t *testing.T) {
	tests := map[string]struct {
		annotations map[string]string
		want        []rollout.Ref
		wantOptedIn bool
	}{
		"no annotation":        {},
		"false":                {annotations: map[string]string{rollout.AnnotationRestartOnSecretChange: "false"}},
		"true":                 {annotations: map[string]string{rollout.AnnotationRestartOnSecretChange: "true"}, want: []rollout.Ref{{Name: "db"}}, wantOptedIn: true},
		"a Secret it reads":    {annotations: map[string]string{rollout.AnnotationRestartOnSecretChange: "db"}, want: []rollout.Ref{{Name: "db"}}, wantOptedIn: true},
		"a Secret it does not": {annotations: map[string]string{rollout.AnnotationRestartOnSecretChange: "other"}, want: []rollout.Ref{{Name: "other", Optional: true}}, wantOptedIn: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w, _ := asWorkload(deploymentWith(tc.annotations))
			got, optedIn := w.refs()
			if optedIn != tc.wantOptedIn {
				t.Errorf("opted in: want %v, got %v", tc.wantOptedIn, optedIn)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecretIndex(t *testing.T) {
	a := workloadKey{kindDeployment, "ns", "a"}
	b := workloadKey{kindStatefulSet, "ns", "b"}
	db := cache.ObjectName{Namespace: "ns", Name: "db"}
	api := cache.ObjectName{Namespace: "ns", Name: "api"}
	secretAt := func(rv string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "ns", ResourceVersion: rv}}
	}

	t.Run("a shared Secret's change reaches every reader, once each", func(t *testing.T) {
		x := newSecretIndex()
		x.set(a, []cache.ObjectName{db, api})
		x.set(b, []cache.ObjectName{db})
		if diff := cmp.Diff([]workloadKey{a, b}, x.invalidate(db, "2")); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]workloadKey{a}, x.invalidate(api, "2")); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("a Secret nobody reads is neither cached nor followed", func(t *testing.T) {
		x := newSecretIndex()
		_, _, epoch := x.lookup(db)
		x.store(db, secretAt("1"), epoch)
		if _, ok, _ := x.lookup(db); ok {
			t.Error("cached a Secret nobody reads")
		}
		if got := x.invalidate(db, "2"); got != nil {
			t.Errorf("want no workloads, got %v", got)
		}
	})
	t.Run("an event for the version cached changes nothing", func(t *testing.T) {
		x := newSecretIndex()
		x.set(a, []cache.ObjectName{db})
		_, _, epoch := x.lookup(db)
		x.store(db, secretAt("5"), epoch)
		if got := x.invalidate(db, "5"); got != nil {
			t.Errorf("want no workloads, got %v", got)
		}
		if _, ok, _ := x.lookup(db); !ok {
			t.Error("the cached Secret was dropped")
		}
		if got := x.invalidate(db, "6"); len(got) != 1 {
			t.Errorf("a new version: want the reader, got %v", got)
		}
		if _, ok, _ := x.lookup(db); ok {
			t.Error("a stale Secret stayed cached")
		}
	})
	t.Run("a read that raced with a change is not cached", func(t *testing.T) {
		x := newSecretIndex()
		x.set(a, []cache.ObjectName{db})
		_, _, epoch := x.lookup(db)
		x.invalidate(db, "6") // the change lands while the GET is out
		x.store(db, secretAt("5"), epoch)
		if _, ok, _ := x.lookup(db); ok {
			t.Error("cached a read older than a change")
		}
	})
	t.Run("a Secret known absent is cached as nil, and its creation reaches the readers", func(t *testing.T) {
		x := newSecretIndex()
		x.set(a, []cache.ObjectName{db})
		_, _, epoch := x.lookup(db)
		x.store(db, nil, epoch)
		if s, ok, _ := x.lookup(db); !ok || s != nil {
			t.Errorf("want a cached absence, got %v %v", s, ok)
		}
		if got := x.invalidate(db, "1"); len(got) != 1 {
			t.Errorf("want the reader, got %v", got)
		}
	})
	t.Run("the last reader gone, the Secret leaves the cache", func(t *testing.T) {
		x := newSecretIndex()
		x.set(a, []cache.ObjectName{db})
		x.set(b, []cache.ObjectName{db})
		_, _, epoch := x.lookup(db)
		x.store(db, secretAt("1"), epoch)
		x.remove(a)
		if _, ok, _ := x.lookup(db); !ok {
			t.Error("dropped while b still reads it")
		}
		x.set(b, []cache.ObjectName{api}) // b's template changed
		if _, ok, _ := x.lookup(db); ok {
			t.Error("still cached with no reader")
		}
		if len(x.users) != 1 || len(x.reads) != 1 {
			t.Errorf("index not pruned: %v %v", x.users, x.reads)
		}
	})
	t.Run("invalidateAll empties the cache and returns every reader", func(t *testing.T) {
		x := newSecretIndex()
		x.set(a, []cache.ObjectName{db})
		x.set(b, []cache.ObjectName{api})
		_, _, epoch := x.lookup(db)
		x.store(db, secretAt("1"), epoch)
		if diff := cmp.Diff([]workloadKey{a, b}, x.invalidateAll()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if _, ok, _ := x.lookup(db); ok {
			t.Error("still cached")
		}
	})
}

// A burst of Secret changes rolls a workload once, when the coalescing
// delay since the first change is over, whatever else queues it before.
func TestCoalescing(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	c := &Controller{
		coalesce: 2 * time.Second,
		now:      func() time.Time { return now },
		due:      map[workloadKey]time.Time{},
		secrets:  newSecretIndex(),
		queue:    workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[workloadKey]()),
	}
	defer c.queue.ShutDown()
	w := workloadKey{kindDeployment, "ns", "app"}
	db := cache.ObjectName{Namespace: "ns", Name: "db"}
	c.secrets.set(w, []cache.ObjectName{db})

	steps := []struct {
		after      time.Duration
		change     bool
		coalescing bool
	}{
		{after: 0, change: true, coalescing: true},                        // the burst starts
		{after: 900 * time.Millisecond, change: true, coalescing: true},   // and goes on
		{after: 1900 * time.Millisecond, change: false, coalescing: true}, // the workload's own event
		{after: 2 * time.Second, coalescing: false},                       // the burst is over: roll
		{after: 2100 * time.Millisecond, coalescing: false},               // nothing pending
		{after: 3 * time.Second, change: true, coalescing: true},          // the next burst
		{after: 5 * time.Second, coalescing: false},
	}
	for i, s := range steps {
		now = start.Add(s.after)
		if s.change {
			c.secretChanged(db, fmt.Sprint(i))
		}
		if got := c.coalescing(w); got != s.coalescing {
			t.Errorf("at +%v: coalescing %v, want %v", s.after, got, s.coalescing)
		}
	}
}

// When the Secret watch cannot resume, because the apiserver no longer has
// the version it was at (410 Gone), the controller starts again from now
// and looks at every opted-in workload, since the changes in between went
// unseen. The real apiserver of the e2e tests answers 410 only after an
// etcd compaction, which they cannot trigger, so a stand-in serves the
// Secrets' metadata here.
func TestSecretWatchRestarts(t *testing.T) {
	meta := &secretsMeta{rv: "20", watchers: make(chan *watch.FakeWatcher, 2)}
	// The Kube client is never called on this path.
	c := New(Config{Kube: kubernetes.NewForConfigOrDie(&rest.Config{Host: "http://127.0.0.1:1"}), Metadata: meta, Namespace: "ns"})
	defer c.queue.ShutDown()
	w := workloadKey{kindDeployment, "ns", "app"}
	s := cache.ObjectName{Namespace: "ns", Name: "s"}
	c.secrets.set(w, []cache.ObjectName{s})
	_, _, epoch := c.secrets.lookup(s)
	c.secrets.store(s, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", ResourceVersion: "1"}}, epoch)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.watchSecrets(ctx, "10")
	}()
	defer func() {
		cancel()
		<-done
	}()

	first := <-meta.watchers
	first.Error(&apierrors.NewResourceExpired("too old resource version: 10 (15)").ErrStatus)
	second := <-meta.watchers // the watch started again
	if c.queue.Len() != 1 {
		t.Errorf("%d workloads queued after the gap; want 1", c.queue.Len())
	}
	if _, ok, _ := c.secrets.lookup(s); ok {
		t.Error("the cache survived a gap in the watch")
	}
	second.Modify(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", ResourceVersion: "21"}})
	eventuallyTrue(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.due[w]
		return ok
	}, "a change after the restart did not reach the workload")
}

// secretsMeta serves the metadata of Secrets: a list at rv, and watches
// the test drives.
type secretsMeta struct {
	metadata.ResourceInterface // nil: only List and Watch are called
	rv                         string
	watchers                   chan *watch.FakeWatcher
}

func (m *secretsMeta) Resource(schema.GroupVersionResource) metadata.Getter { return m }
func (m *secretsMeta) Namespace(string) metadata.ResourceInterface          { return m }

func (m *secretsMeta) List(context.Context, metav1.ListOptions) (*metav1.PartialObjectMetadataList, error) {
	return &metav1.PartialObjectMetadataList{ListMeta: metav1.ListMeta{ResourceVersion: m.rv}}, nil
}

func (m *secretsMeta) Watch(context.Context, metav1.ListOptions) (watch.Interface, error) {
	w := watch.NewFake()
	m.watchers <- w
	return w, nil
}

func eventuallyTrue(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

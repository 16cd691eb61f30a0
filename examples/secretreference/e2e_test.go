package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/secretsync/secretsync/examples/secretreference/api/v1alpha1"
	"github.com/secretsync/secretsync/internal/kubeapply"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/internal/vaulttest"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/rollout"
)

// canary is a secret value. It must reach the Secret and nothing else: no
// event, no status, no log line.
const canary = "canary-5f2b9c1e-never-log-me"

// The operator syncs a SecretReference from a real Vault, through a
// ClusterSecretStore already in the cluster, into a Secret it owns; keeps
// that Secret as Vault has it; follows a new KV version; and restarts the
// Deployment that reads the Secret with envFrom.
func TestE2ESecretReference(t *testing.T) {
	v := vaulttest.StartForTest(t, vaulttest.Options{})
	env := testenv.StartForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Vault: a KV v2 secret, and a token that may read it.
	if err := v.Client.Sys().PutPolicy("read-app", `path "secret/data/app/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	tok, err := v.Client.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"read-app"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	kv := v.Client.KVv2("secret")
	if _, err := kv.Put(ctx, "app/db", map[string]any{"user": "admin", "password": "v1", "api_key": canary}); err != nil {
		t.Fatal(err)
	}

	// The cluster: the SecretReference CRD, and the external-secrets.io
	// ClusterSecretStore CRD only; no ExternalSecret CRD.
	kube := kubernetes.NewForConfigOrDie(env.Config)
	scheme := runtime.NewScheme()
	if err := schemeBuilder.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	applier, err := kubeapply.New(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := applier.ApplyFiles(ctx, "config/crd/*.yaml", "../../config/crd/bases/external-secrets.io_clustersecretstores.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := applier.WaitForCRDs(ctx, v1alpha1.GroupVersion, "secretreferences"); err != nil {
		t.Fatal(err)
	}
	apply(ctx, t, applier, `
apiVersion: v1
kind: Namespace
metadata: {name: vault-auth}
---
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Secret
metadata: {name: vault-token, namespace: vault-auth}
stringData: {token: %s}
---
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: vault}
spec:
  provider:
    vault:
      server: %s
      path: secret
      version: v2
      auth:
        tokenSecretRef: {name: vault-token, namespace: vault-auth, key: token}
---
apiVersion: example.secretsync.io/v1alpha1
kind: SecretReference
metadata: {name: db, namespace: app}
spec:
  secretStoreRef: {name: vault, kind: ClusterSecretStore}
  refreshInterval: 2s
  template:
    type: Opaque
    metadata:
      labels: {app: web}
      annotations: {team: payments}
  data:
  - secretKey: DB_USER
    remoteRef: {key: app/db, property: user}
  - secretKey: DB_PASSWORD
    remoteRef: {key: app/db, property: password}
  - secretKey: DB_PASSWORD_FIRST
    remoteRef: {key: app/db, property: password, version: "1"}
  - secretKey: API_KEY
    remoteRef: {key: app/db, property: api_key}
---
apiVersion: example.secretsync.io/v1alpha1
kind: SecretReference
metadata: {name: broken, namespace: app}
spec:
  secretStoreRef: {name: vault, kind: ClusterSecretStore}
  refreshInterval: 2s
  data:
  - secretKey: MISSING
    remoteRef: {key: app/db, property: no-such-property}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: app
  annotations: {secretsync.io/restart-on-secret-change: "true"}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.k8s.io/pause:3.10
        envFrom:
        - secretRef: {name: db}
`, tok.Auth.ClientToken, v.Addr)

	logs := startOperator(t, env)

	// The Secret holds the values, is shaped by spec.template, and is
	// owned by the SecretReference.
	secret := waitSecret(ctx, t, kube, "app", "db", func(s *corev1.Secret) bool { return string(s.Data["DB_PASSWORD"]) == "v1" })
	want := map[string]string{"DB_USER": "admin", "DB_PASSWORD": "v1", "DB_PASSWORD_FIRST": "v1", "API_KEY": canary}
	for k, w := range want {
		if got := string(secret.Data[k]); got != w {
			t.Errorf("Secret key %s: got %d bytes, want the value from Vault", k, len(got))
		}
	}
	if len(secret.Data) != len(want) {
		t.Errorf("Secret has %d keys, want %d", len(secret.Data), len(want))
	}
	if secret.Type != corev1.SecretTypeOpaque || secret.Labels["app"] != "web" || secret.Labels[reconcile.LabelManaged] != "true" || secret.Annotations["team"] != "payments" {
		t.Errorf("Secret type %q, labels %v, annotations %v: not shaped by spec.template", secret.Type, secret.Labels, secret.Annotations)
	}
	sr := waitSecretReference(ctx, t, c, "app", "db", func(sr *v1alpha1.SecretReference) bool {
		return apimeta.IsStatusConditionTrue(sr.Status.Conditions, "Ready")
	})
	owner := metav1.GetControllerOf(secret)
	if owner == nil || owner.Kind != "SecretReference" || owner.APIVersion != v1alpha1.GroupVersion.String() || owner.Name != "db" || owner.UID != sr.UID {
		t.Errorf("Secret controller: got %+v, want the SecretReference db (UID %s)", owner, sr.UID)
	}
	ready := apimeta.FindStatusCondition(sr.Status.Conditions, "Ready")
	if ready.Reason != "SecretSynced" || ready.ObservedGeneration != sr.Generation || sr.Status.SecretName != "db" || sr.Status.LastRefreshTime.IsZero() {
		t.Errorf("status: got %+v", sr.Status)
	}

	// The broken SecretReference says why in its status, without values.
	waitSecretReference(ctx, t, c, "app", "broken", func(sr *v1alpha1.SecretReference) bool {
		c := apimeta.FindStatusCondition(sr.Status.Conditions, "Ready")
		return c != nil && c.Status == metav1.ConditionFalse && strings.Contains(c.Message, "no-such-property")
	})

	// The Deployment opted in: its first hash is recorded, which rolls
	// nothing.
	first := waitDeployment(ctx, t, kube, "app", "web", func(d *appsv1.Deployment) bool { return d.Annotations[rollout.AnnotationConfigHash] != "" })
	if h := first.Spec.Template.Annotations[rollout.AnnotationConfigHash]; h != "" {
		t.Errorf("opting in rolled the pods: template hash %q", h)
	}

	// Refreshes every 2s read Vault and, while nothing changed, write
	// neither the Secret nor the SecretReference's status.
	since := time.Now()
	reads0, err := v.Count("read", "secret/data/app/db")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "two refreshes of db", func() (bool, error) {
		n, err := v.Count("read", "secret/data/app/db")
		return n >= reads0+2, err
	})
	if n, err := env.CountWrites("secrets", "app", since); err != nil || n != 0 {
		t.Errorf("unchanged refreshes wrote Secrets %d times (err %v), want 0", n, err)
	}
	if now := waitSecretReference(ctx, t, c, "app", "db", func(*v1alpha1.SecretReference) bool { return true }); now.ResourceVersion != sr.ResourceVersion {
		t.Errorf("unchanged refreshes wrote the SecretReference: status %+v", now.Status)
	}

	// A deleted or hand-edited Secret is restored.
	if err := kube.CoreV1().Secrets("app").Delete(ctx, "db", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	restored := waitSecret(ctx, t, kube, "app", "db", func(s *corev1.Secret) bool { return s.UID != secret.UID })
	restored.Data["DB_PASSWORD"] = []byte("edited")
	if _, err := kube.CoreV1().Secrets("app").Update(ctx, restored, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSecret(ctx, t, kube, "app", "db", func(s *corev1.Secret) bool { return string(s.Data["DB_PASSWORD"]) == "v1" })

	// A new KV version reaches the Secret at the next refresh, and the
	// Deployment rolls onto it; the pinned version stays.
	if _, err := kv.Put(ctx, "app/db", map[string]any{"user": "admin", "password": "v2", "api_key": canary}); err != nil {
		t.Fatal(err)
	}
	rotated := waitSecret(ctx, t, kube, "app", "db", func(s *corev1.Secret) bool { return string(s.Data["DB_PASSWORD"]) == "v2" })
	if got := string(rotated.Data["DB_PASSWORD_FIRST"]); got != "v1" {
		t.Errorf("DB_PASSWORD_FIRST follows version 1: got %q, want v1", got)
	}
	rolled := waitDeployment(ctx, t, kube, "app", "web", func(d *appsv1.Deployment) bool {
		h := d.Spec.Template.Annotations[rollout.AnnotationConfigHash]
		return h != "" && h != first.Annotations[rollout.AnnotationConfigHash]
	})
	t.Logf("config hash %s -> %s", first.Annotations[rollout.AnnotationConfigHash], rolled.Spec.Template.Annotations[rollout.AnnotationConfigHash])

	// No ExternalSecret was created: the API does not even serve them.
	resources, err := kube.Discovery().ServerResourcesForGroupVersion("external-secrets.io/v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resources.APIResources {
		if r.Name == "externalsecrets" {
			t.Error("the externalsecrets resource is served; the test installs only the ClusterSecretStore CRD")
		}
	}

	// The canary is in no event, no status and no log line.
	waitFor(ctx, t, "events on the SecretReferences", func() (bool, error) {
		evs, err := kube.CoreV1().Events("app").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=SecretReference"})
		if err != nil {
			return false, err
		}
		reasons := map[string]bool{}
		for _, ev := range evs.Items {
			reasons[ev.InvolvedObject.Name] = true
		}
		return reasons["db"] && reasons["broken"], nil
	})
	evs, err := kube.CoreV1().Events("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"db", "broken"} {
		sr := &v1alpha1.SecretReference{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "app", Name: name}, sr); err != nil {
			t.Fatal(err)
		}
		leak(t, "status of SecretReference "+name, sr.Status)
	}
	for _, ev := range evs.Items {
		leak(t, fmt.Sprintf("event %s %s", ev.Reason, ev.InvolvedObject.Name), ev)
	}
	klog.Flush()
	if strings.Contains(logs.String(), canary) {
		t.Error("the operator's log holds the secret value")
	}
}

// startOperator runs the operator, as main does, until the test ends, and
// returns its log. It stops before the control plane and Vault do, since
// cleanups run last in, first out.
func startOperator(t *testing.T, env *testenv.Env) *logBuffer {
	logs := &logBuffer{}
	klog.LogToStderr(false)
	klog.SetOutput(logs)
	ctrl.SetLogger(klog.NewKlogr())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, env.Config, ctrl.Options{
			Metrics:                metricsserver.Options{BindAddress: "0"},
			HealthProbeBindAddress: "0",
			Controller:             config.Controller{SkipNameValidation: ptrTo(true)},
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("operator: %v", err)
		}
		klog.Flush()
		klog.SetOutput(os.Stderr)
		klog.LogToStderr(true)
		if t.Failed() {
			t.Logf("operator log:\n%s", logs.String())
		}
	})
	return logs
}

// logBuffer collects the operator's log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func apply(ctx context.Context, t *testing.T, a *kubeapply.Applier, manifest string, args ...any) {
	t.Helper()
	if err := a.Apply(ctx, []byte(fmt.Sprintf(manifest, args...))); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, and fails the test if ctx ends first.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		ok, err := cond()
		last = err
		return ok, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last error: %v)", what, err, last)
	}
}

func waitSecret(ctx context.Context, t *testing.T, kube kubernetes.Interface, namespace, name string, ok func(*corev1.Secret) bool) *corev1.Secret {
	t.Helper()
	var s *corev1.Secret
	waitFor(ctx, t, "Secret "+namespace+"/"+name, func() (bool, error) {
		var err error
		s, err = kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		return err == nil && ok(s), err
	})
	return s
}

func waitDeployment(ctx context.Context, t *testing.T, kube kubernetes.Interface, namespace, name string, ok func(*appsv1.Deployment) bool) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	waitFor(ctx, t, "Deployment "+namespace+"/"+name, func() (bool, error) {
		var err error
		d, err = kube.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		return err == nil && ok(d), err
	})
	return d
}

func waitSecretReference(ctx context.Context, t *testing.T, c client.Client, namespace, name string, ok func(*v1alpha1.SecretReference) bool) *v1alpha1.SecretReference {
	t.Helper()
	sr := &v1alpha1.SecretReference{}
	waitFor(ctx, t, "SecretReference "+namespace+"/"+name, func() (bool, error) {
		err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, sr)
		return err == nil && ok(sr), err
	})
	return sr
}

// leak fails the test if v, as JSON, holds the canary.
func leak(t *testing.T, what string, v any) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), canary) {
		t.Errorf("%s holds the secret value: %s", what, raw)
	}
}

func ptrTo[T any](v T) *T { return &v }

package snippet_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/secretsync/secretsync"
	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/examples/secretreference/snippet"
	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/kubeapply"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
)

// The README's reconciler syncs an ExternalSecret in the cluster, writes
// its status, and restores the Secret when it is deleted.
func TestExternalSecretReconciler(t *testing.T) {
	env := testenv.StartForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	applier, err := kubeapply.New(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := applier.ApplyFiles(ctx, "../../../config/crd/bases/*.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := applier.Apply(ctx, []byte(`
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: fake, namespace: app}
spec:
  provider:
    fake:
      data:
      - {key: db, value: '{"user":"app"}'}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: app}
spec:
  secretStoreRef: {name: fake}
  target: {name: db}
  data:
  - secretKey: username
    remoteRef: {key: db, property: user}
`)); err != nil {
		t.Fatal(err)
	}

	scheme := runtime.NewScheme()
	builder := runtime.NewSchemeBuilder(clientgoscheme.AddToScheme, secretsync.AddToScheme)
	if err := builder.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ctrl.SetLogger(klog.NewKlogr())
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptrTo(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	kube := kubernetes.NewForConfigOrDie(env.Config)
	crd, err := engine.NewCRDClient(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	registry, err := provider.NewRegistry(fake.New())
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Config{Kube: kube, Registry: registry, Stores: crd, CRD: crd})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&snippet.ExternalSecretReconciler{Client: mgr.GetClient(), Engine: eng}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	mgrCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	first := waitFor(ctx, t, kube, func(s *corev1.Secret) bool { return string(s.Data["username"]) == "app" })
	es := &externalsecret.ExternalSecret{}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := crd.Get(ctx, engine.ResourceExternalSecrets, "app", "db", es); err != nil {
			return false, nil
		}
		c := es.Status.ReadyCondition()
		return c != nil && c.Status == corev1.ConditionTrue, nil
	}); err != nil {
		t.Fatalf("ExternalSecret never Ready: status %+v", es.Status)
	}

	if err := kube.CoreV1().Secrets("app").Delete(ctx, "db", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, kube, func(s *corev1.Secret) bool { return s.UID != first.UID })
}

func waitFor(ctx context.Context, t *testing.T, kube kubernetes.Interface, ok func(*corev1.Secret) bool) *corev1.Secret {
	t.Helper()
	var s *corev1.Secret
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var err error
		s, err = kube.CoreV1().Secrets("app").Get(ctx, "db", metav1.GetOptions{})
		return err == nil && ok(s), nil
	}); err != nil {
		t.Fatalf("Secret app/db: %v", err)
	}
	return s
}

func ptrTo[T any](v T) *T { return &v }

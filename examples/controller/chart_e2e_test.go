package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/kubeapply"
	"github.com/secretsync/secretsync/internal/testenv"
)

// fakeStoreValues enables the chart's development store in the shape
// OpenChoreo documents for ESO's chart.
var fakeStoreValues = fmt.Sprintf(`
fakeSecretStore:
  enabled: true
  name: default
  secrets:
    - key: github-pat
      value: "development-token-%s"
    - key: docker-username
      value: "dev-user"
    - key: docker-password
      value: "dev-password"
`, canary)

// An ExternalSecret reading the fake store, as OpenChoreo's page writes
// one: namespace, then target name.
const choreoESYAML = `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app-secrets, namespace: %s}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: default, kind: ClusterSecretStore}
  target: {name: %s, creationPolicy: Owner}
  data:
    - secretKey: github-pat
      remoteRef: {key: github-pat}
    - secretKey: docker-username
      remoteRef: {key: docker-username}
`

// The chart, installed by helm on a real kube-apiserver: every object it
// renders is accepted, and the controller, run as the chart's
// ServiceAccount with the Deployment's own arguments and replicas (no
// kubelet runs here to start its pods), syncs the quick start and the fake
// store from values. With namespaceScoped it syncs in its namespace and is
// refused everywhere else.
func TestE2EChartInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped with -short")
	}
	helmBin(t) // skip before starting a control plane for nothing
	env := testenv.StartForTest(t)
	ctx := context.Background()
	h := &harness{env: env}
	var err error
	if h.admin, err = kubernetes.NewForConfig(env.Config); err != nil {
		t.Fatal(err)
	}
	if h.crd, err = newCRDClient(env.Config); err != nil {
		t.Fatal(err)
	}
	if h.applier, err = kubeapply.New(env.Config); err != nil {
		t.Fatal(err)
	}
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(fakeStoreValues), 0o600); err != nil {
		t.Fatal(err)
	}

	// Cluster-wide, as `kubectl apply -k config/default` installs it.
	start := time.Now()
	runHelm(t, "install", "secretsync", chartDir, "--kubeconfig", env.Kubeconfig,
		"--namespace", "secretsync-system", "--create-namespace", "--values", values, "--timeout", "2m")
	t.Logf("helm install took %v", time.Since(start).Round(time.Millisecond))
	h.checkInstalled(t, "secretsync", "secretsync-system")
	stop := h.runChartReplicas(t, "secretsync-system", "secretsync-controller")

	h.createNamespace(t, "demo")
	if err := h.applier.ApplyFiles(ctx, "../../examples/quickstart.yaml"); err != nil {
		t.Fatal(err)
	}
	h.waitSecretData(t, "demo", "app-config", "DATABASE_URL", "postgres://app:correct-horse-battery-staple@db.internal:5432/app")
	h.waitSecretData(t, "demo", "app-config", "API_KEY", "sk-demo-0123456789")
	h.waitReady(t, "demo", "app-config", externalsecret.ReasonSecretSynced)

	h.createNamespace(t, "my-app")
	h.apply(t, choreoESYAML, "my-app", "app-secrets")
	h.waitSecretData(t, "my-app", "app-secrets", "github-pat", "development-token-"+canary)
	h.waitSecretData(t, "my-app", "app-secrets", "docker-username", "dev-user")
	h.waitReady(t, "my-app", "app-secrets", externalsecret.ReasonSecretSynced)
	stop()

	// Confined to team-a: a Role there, and --namespace.
	runHelm(t, "install", "tenant", chartDir, "--kubeconfig", env.Kubeconfig,
		"--namespace", "team-a", "--create-namespace", "--set", "namespaceScoped=true", "--timeout", "2m")
	h.checkInstalled(t, "tenant", "team-a")
	h.createNamespace(t, "team-b")
	for _, ns := range []string{"team-a", "team-b"} {
		h.apply(t, storeYAML, "store", ns, "")
		h.apply(t, esYAML, "app", ns, "1h", "store", "app", "Owner", "Retain")
	}
	h.apply(t, choreoESYAML, "team-a", "from-cluster-store")
	stop = h.runChartReplicas(t, "team-a", "tenant-secretsync-controller")
	defer stop()
	h.waitSecretData(t, "team-a", "app", "user", "admin")
	h.waitReady(t, "team-a", "app", externalsecret.ReasonSecretSynced)
	h.waitSecretData(t, "team-a", "from-cluster-store", "docker-username", "dev-user")

	if _, err := h.getSecret("team-b", "app"); !apierrors.IsNotFound(err) {
		t.Errorf("the controller confined to team-a wrote team-b's Secret (get: %v)", err)
	}
	if c := h.getES(t, "team-b", "app").Status.ReadyCondition(); c != nil {
		t.Errorf("the controller confined to team-a wrote a status in team-b: %s %s", c.Status, c.Reason)
	}
	tenant, err := env.UserConfig(serviceAccountUser("team-a", "tenant-secretsync-controller"), serviceAccountGroups("team-a")...)
	if err != nil {
		t.Fatal(err)
	}
	tenantKube, err := kubernetes.NewForConfig(tenant)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tenantKube.CoreV1().Secrets("team-b").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the team-a controller's account lists Secrets in team-b: %v", err)
	}
	if _, err := tenantKube.CoreV1().Secrets("team-a").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("the team-a controller's account cannot list Secrets in team-a: %v", err)
	}
}

func serviceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

func serviceAccountGroups(namespace string) []string {
	return []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
}

func (h *harness) createNamespace(t *testing.T, name string) {
	t.Helper()
	_, err := h.admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// checkInstalled fails t unless every object of the release's manifest,
// and every CRD of the chart, is in the cluster.
func (h *harness) checkInstalled(t *testing.T, release, namespace string) {
	t.Helper()
	ctx := context.Background()
	dc, err := discovery.NewDiscoveryClientForConfig(h.env.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(h.env.Config)
	if err != nil {
		t.Fatal(err)
	}
	manifest := decodeObjects(t, runHelm(t, "get", "manifest", release, "--kubeconfig", h.env.Kubeconfig, "--namespace", namespace))
	crds := renderRelease(t, release, namespace).ofKind("CustomResourceDefinition")
	if len(crds) == 0 {
		t.Fatal("the chart renders no CRDs")
	}
	for _, obj := range crds {
		manifest[objKey{obj.GetKind(), "", obj.GetName()}] = obj
	}
	for _, k := range manifest.keys() {
		obj := manifest[k]
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Errorf("%s %s: %v", k.kind, k.name, err)
			continue
		}
		var res dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == "namespace" {
			ns := obj.GetNamespace()
			if ns == "" {
				ns = namespace
			}
			res = dyn.Resource(m.Resource).Namespace(ns)
		}
		if _, err := res.Get(ctx, obj.GetName(), metav1.GetOptions{}); err != nil {
			t.Errorf("%s %s/%s is not in the cluster: %v", k.kind, obj.GetNamespace(), obj.GetName(), err)
		}
	}
	t.Logf("release %s: %d objects in the cluster", release, len(manifest))
}

// runChartReplicas runs, in this process, as many controllers as the
// installed Deployment has replicas, each with the Deployment's arguments
// and as its ServiceAccount, and waits until one of them holds the
// Lease. The returned func stops them.
func (h *harness) runChartReplicas(t *testing.T, namespace, name string) (stop func()) {
	t.Helper()
	ctx := context.Background()
	deploy, err := h.admin.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := deploy.Spec.Template.Spec
	cfg, err := h.env.UserConfig(serviceAccountUser(namespace, pod.ServiceAccountName), serviceAccountGroups(namespace)...)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := h.env.WriteKubeconfig(kubeconfig, cfg); err != nil {
		t.Fatal(err)
	}
	args := pod.Containers[0].Args
	if len(args) == 0 || args[0] != "run" {
		t.Fatalf("the Deployment runs %q", args)
	}
	// The Deployment's flags, then what a pod has and a test process
	// has not: its credentials, and a port of its own.
	args = append(append([]string{}, args[1:]...), "--kubeconfig="+kubeconfig, "--metrics-addr=127.0.0.1:0")
	opts, err := parseRunFlags(args)
	if err != nil {
		t.Fatal(err)
	}
	replicas := 1
	if deploy.Spec.Replicas != nil {
		replicas = int(*deploy.Spec.Replicas)
	}
	runCtx, cancel := context.WithCancel(klog.NewContext(ctx, logger()))
	var wg sync.WaitGroup
	for i := 0; i < replicas; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runCmd(runCtx, args); err != nil && runCtx.Err() == nil {
				t.Errorf("replica %d of %s: %v", i, name, err)
			}
		}()
	}
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	if opts.leaderElect {
		eventually(t, 30*time.Second, func() (bool, string) {
			lease, err := h.admin.CoordinationV1().Leases(opts.leaseNamespace).Get(ctx, opts.leaseName, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "", "the Lease has no holder"
		})
	}
	t.Logf("%d replicas of %s run as %s", replicas, name, pod.ServiceAccountName)
	return stop
}

package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/internal/kubeapply"
	"github.com/secretsync/secretsync/internal/testenv"
)

// The Helm chart (deploy/helm/secretsync) installs what config/default
// does, and has a value for every flag of `run`. These tests render it
// with the Helm that hack/helm.sh builds; chart_e2e_test.go installs it.

const chartDir = "../../deploy/helm/secretsync"

// helmBinEnv names the variable hack/test.sh sets to the output of
// hack/helm.sh.
const helmBinEnv = "SECRETSYNC_HELM_BIN"

// helmBin returns the Helm binary hack/helm.sh built: $SECRETSYNC_HELM_BIN,
// or else the cache path the script fills for the version it pins. If
// there is none it skips t, except when $CI is set: there it fails t, so CI
// never skips the chart's tests unnoticed.
func helmBin(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(helmBinEnv); p != "" {
		if !isExecutable(p) {
			t.Fatalf("%s=%s is not an executable file", helmBinEnv, p)
		}
		return p
	}
	script, err := os.ReadFile("../../hack/helm.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^readonly HELM_VERSION=(v\S+)$`).FindSubmatch(script)
	if m == nil {
		t.Fatal("hack/helm.sh pins no HELM_VERSION")
	}
	p := filepath.Join(testenv.CacheRoot(), "helm", string(m[1]), "helm")
	if isExecutable(p) {
		return p
	}
	msg := "helm " + string(m[1]) + " not found at " + p + ": run hack/helm.sh, or set " + helmBinEnv
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isExecutable(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// runHelm runs helm with args and returns its standard output. Helm's
// cache, configuration and data go to a temporary directory, never to the
// user's.
func runHelm(t testing.TB, args ...string) []byte {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(helmBin(t), args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

// objects is a set of manifests by kind, namespace and name.
type objects map[objKey]*unstructured.Unstructured

type objKey struct{ kind, namespace, name string }

func (o objects) get(t testing.TB, kind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	obj, ok := o[objKey{kind, namespace, name}]
	if !ok {
		t.Fatalf("no %s %s/%s among %v", kind, namespace, name, o.keys())
	}
	return obj
}

func (o objects) keys() []objKey {
	keys := make([]objKey, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b objKey) int {
		return strings.Compare(a.kind+"/"+a.namespace+"/"+a.name, b.kind+"/"+b.namespace+"/"+b.name)
	})
	return keys
}

func (o objects) ofKind(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, k := range o.keys() {
		if k.kind == kind {
			out = append(out, o[k])
		}
	}
	return out
}

func decodeObjects(t testing.TB, data []byte) objects {
	t.Helper()
	objs, err := kubeapply.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	out := objects{}
	for _, obj := range objs {
		k := objKey{obj.GetKind(), obj.GetNamespace(), obj.GetName()}
		if _, dup := out[k]; dup {
			t.Fatalf("%v twice", k)
		}
		out[k] = obj
	}
	return out
}

// renderChart renders the chart as release secretsync in namespace
// secretsync-system, with the CRDs, and with args such as --set added.
func renderChart(t testing.TB, args ...string) objects {
	t.Helper()
	return renderRelease(t, "secretsync", "secretsync-system", args...)
}

func renderRelease(t testing.TB, release, namespace string, args ...string) objects {
	t.Helper()
	return decodeObjects(t, runHelm(t, append([]string{"template", release, chartDir, "--namespace", namespace, "--include-crds"}, args...)...))
}

// kustomizeBuild returns the objects of the kustomization in dir. The
// kustomizations under config/ list resources and nothing else (the strict
// decoding refuses any other field), so the objects of the files they
// list, recursively, are all that `kubectl kustomize` makes of them.
func kustomizeBuild(t testing.TB, dir string) objects {
	t.Helper()
	out := objects{}
	var build func(dir string)
	build = func(dir string) {
		raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var k struct {
			Resources []string `json:"resources"`
		}
		if err := yaml.UnmarshalStrict(raw, &k); err != nil {
			t.Fatalf("%s: %v (only resources is supported here)", dir, err)
		}
		for _, r := range k.Resources {
			p := filepath.Join(dir, r)
			if info, err := os.Stat(p); err == nil && info.IsDir() {
				build(p)
				continue
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for k, obj := range decodeObjects(t, data) {
				if _, dup := out[k]; dup {
					t.Fatalf("%v twice", k)
				}
				out[k] = obj
			}
		}
	}
	build(dir)
	return out
}

// container returns the only container of a Deployment.
func container(t testing.TB, deploy *unstructured.Unstructured) map[string]any {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("Deployment %s has %d containers, want 1", deploy.GetName(), len(cs))
	}
	return cs[0].(map[string]any)
}

// runArgs returns the arguments of `run` in a Deployment's container.
func runArgs(t testing.TB, deploy *unstructured.Unstructured) []string {
	t.Helper()
	raw, _ := container(t, deploy)["args"].([]any)
	args := make([]string, len(raw))
	for i, a := range raw {
		args[i] = a.(string)
	}
	if len(args) == 0 || args[0] != "run" {
		t.Fatalf("args %q do not start with run", args)
	}
	return args[1:]
}

// chartFlags parses args as `run` does and returns the value of every
// flag, by name.
func chartFlags(t testing.TB, args []string) map[string]string {
	t.Helper()
	if _, err := parseRunFlags(args); err != nil {
		t.Fatalf("run %q: %v", args, err)
	}
	fs := runFlags(&runOptions{})
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { values[f.Name] = f.Value.String() })
	return values
}

func TestChartLint(t *testing.T) {
	helmBin(t) // skip once, not in every subtest
	tests := map[string][]string{
		"defaults":                       nil,
		"confined to its namespace":      {"--set", "namespaceScoped=true"},
		"one replica":                    {"--set", "replicaCount=1"},
		"fake store and ServiceMonitor":  {"--set", "fakeSecretStore.enabled=true", "--set", "metrics.serviceMonitor.enabled=true"},
		"no RBAC, an existing account":   {"--set", "rbac.create=false", "--set", "serviceAccount.create=false", "--set", "serviceAccount.name=mine"},
		"every flag away from its value": {"--set", "controller.controllerClass=a", "--set", "controller.memoryLimit=150Mi", "--set", "controller.kubeAPIQPS=2.5"},
		"refresh endpoint, token from a Secret": {"--set", "controller.refresh.port=8081", "--set", "controller.refresh.tokenFile=/etc/refresh/token",
			"--set-json", `extraVolumes=[{"name":"refresh","secret":{"secretName":"refresh-token"}}]`,
			"--set-json", `extraVolumeMounts=[{"name":"refresh","mountPath":"/etc/refresh","readOnly":true}]`},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			out := runHelm(t, append([]string{"lint", "--strict", chartDir}, args...)...)
			if !bytes.Contains(out, []byte("0 chart(s) failed")) {
				t.Errorf("helm lint:\n%s", out)
			}
		})
	}
}

// The files hack/generate.sh copies into the chart are those of config/.
func TestChartFilesAreConfigs(t *testing.T) {
	pairs := map[string]string{
		"crds":       "../../config/crd/bases",
		"files/rbac": "../../config/rbac",
	}
	for chartSub, configDir := range pairs {
		files, err := filepath.Glob(filepath.Join(chartDir, chartSub, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no files in %s: %v", chartSub, err)
		}
		for _, f := range files {
			got, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(configDir, filepath.Base(f)))
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s: run hack/generate.sh", f, filepath.Join(configDir, filepath.Base(f)))
			}
		}
	}
	crds, _ := filepath.Glob("../../config/crd/bases/*.yaml")
	copies, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
	if len(crds) != len(copies) {
		t.Errorf("config has %d CRDs, the chart %d: run hack/generate.sh", len(crds), len(copies))
	}
}

// With its defaults, the chart installs what `kubectl apply -k
// config/default` does, under the same names, and runs the controller
// with the same options, security context and resources.
func TestChartMatchesConfig(t *testing.T) {
	helmBin(t) // skip once, not in every subtest
	// As in the pod: the Deployment sets POD_NAMESPACE, the default of
	// --leader-election-namespace.
	t.Setenv("POD_NAMESPACE", "secretsync-system")
	chart := renderChart(t)
	config := kustomizeBuild(t, "../../config/default")

	for _, k := range config.keys() {
		if k.kind == "Namespace" {
			continue // helm install --create-namespace
		}
		if _, ok := chart[k]; !ok {
			t.Errorf("config/default has %s %s/%s; the chart does not", k.kind, k.namespace, k.name)
		}
	}

	// CRDs: the same objects.
	for _, want := range config.ofKind("CustomResourceDefinition") {
		got := chart.get(t, "CustomResourceDefinition", "", want.GetName())
		if diff := cmp.Diff(want.Object, got.Object); diff != "" {
			t.Errorf("CRD %s (-config +chart):\n%s", want.GetName(), diff)
		}
	}

	// RBAC: the same rules, bindings and accounts.
	for _, k := range config.keys() {
		switch k.kind {
		case "ClusterRole", "Role":
			want, got := config[k], chart.get(t, k.kind, k.namespace, k.name)
			if diff := cmp.Diff(want.Object["rules"], got.Object["rules"]); diff != "" {
				t.Errorf("%s %s rules (-config +chart):\n%s", k.kind, k.name, diff)
			}
		case "ClusterRoleBinding", "RoleBinding":
			want, got := config[k], chart.get(t, k.kind, k.namespace, k.name)
			for _, field := range []string{"roleRef", "subjects"} {
				if diff := cmp.Diff(want.Object[field], got.Object[field]); diff != "" {
					t.Errorf("%s %s %s (-config +chart):\n%s", k.kind, k.name, field, diff)
				}
			}
		}
	}

	// The Deployment.
	want := config.get(t, "Deployment", "secretsync-system", "secretsync-controller")
	got := chart.get(t, "Deployment", "secretsync-system", "secretsync-controller")
	for _, path := range [][]string{
		{"spec", "replicas"},
		{"spec", "template", "spec", "serviceAccountName"},
		{"spec", "template", "spec", "securityContext"},
	} {
		w, _, _ := unstructured.NestedFieldNoCopy(want.Object, path...)
		g, _, _ := unstructured.NestedFieldNoCopy(got.Object, path...)
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("Deployment %s (-config +chart):\n%s", strings.Join(path, "."), diff)
		}
	}
	wc, gc := container(t, want), container(t, got)
	// The chart's appVersion is the release config/manager runs.
	for _, field := range []string{"name", "image", "securityContext", "resources", "env", "ports", "livenessProbe", "readinessProbe"} {
		if diff := cmp.Diff(wc[field], gc[field]); diff != "" {
			t.Errorf("container %s (-config +chart):\n%s", field, diff)
		}
	}
	// The arguments are compared by what they mean: the chart spells out
	// every flag, config/manager only those it changes.
	wantOpts, err := parseRunFlags(runArgs(t, want))
	if err != nil {
		t.Fatal(err)
	}
	gotOpts, err := parseRunFlags(runArgs(t, got))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantOpts, gotOpts, cmp.AllowUnexported(runOptions{})); diff != "" {
		t.Errorf("run options (-config +chart):\n%s", diff)
	}
}

// Every flag of `run` has a named value in values.yaml, whose default is
// the flag's own (but for --rollout, on as in config/manager), and setting
// the value sets the flag.
func TestChartValuesCoverEveryFlag(t *testing.T) {
	helmBin(t) // skip once, not in every subtest
	// For each flag, a --set that moves it from its default, and the value
	// the flag then takes.
	tests := map[string]struct {
		set  string
		want string
	}{
		"namespace":                         {set: "namespaceScoped=true", want: "secretsync-system"},
		"controller-class":                  {set: "controller.controllerClass=team-a", want: "team-a"},
		"workers":                           {set: "controller.workers=3", want: "3"},
		"first-sync-workers":                {set: "controller.firstSyncWorkers=5", want: "5"},
		"status-workers":                    {set: "controller.statusWorkers=2", want: "2"},
		"metrics-addr":                      {set: "metrics.port=9090", want: ":9090"},
		"profiling":                         {set: "controller.profiling=true", want: "true"},
		"leader-elect":                      {set: "controller.leaderElection.enabled=false", want: "false"},
		"leader-election-namespace":         {set: "controller.leaderElection.namespace=leases", want: "leases"},
		"leader-election-id":                {set: "controller.leaderElection.id=my-lease", want: "my-lease"},
		"kube-api-qps":                      {set: "controller.kubeAPIQPS=2.5", want: "2.5"},
		"kube-api-burst":                    {set: "controller.kubeAPIBurst=10", want: "10"},
		"deny-unconditioned-cluster-stores": {set: "controller.denyUnconditionedClusterStores=true", want: "true"},
		"rollout":                           {set: "controller.rollout.enabled=false", want: "false"},
		"rollout-coalesce":                  {set: "controller.rollout.coalesce=10s", want: "10s"},
		"memory-limit":                      {set: "controller.memoryLimit=150Mi", want: "150Mi"},
		"unsafe-allow-generic-targets":      {set: "controller.unsafeAllowGenericTargets=true", want: "true"},
		"generator-renew-fraction":          {set: "controller.generatorRenewFraction=0.5", want: "0.5"},
		"generator-revoke-grace":            {set: "controller.generatorRevokeGrace=1m", want: "1m0s"},
		"audit-log":                         {set: "controller.auditLog=-", want: "-"},
		"refresh-addr":                      {set: "controller.refresh.port=8081", want: ":8081"},
		"refresh-token-file":                {set: "controller.refresh.tokenFile=/etc/refresh/token", want: "/etc/refresh/token"},
		"refresh-hmac-key-file":             {set: "controller.refresh.hmacKeyFile=/etc/refresh/hmac", want: "/etc/refresh/hmac"},
		"refresh-rate":                      {set: "controller.refresh.rate=2.5", want: "2.5"},
		"v":                                 {set: "controller.verbosity=4", want: "4"},
		"shard-by":                          {set: "controller.sharding.by=uid", want: "uid"},
		"shard-identity":                    {set: "controller.sharding.identity=replica-0", want: "replica-0"},
		"shard-lease-duration":              {set: "controller.sharding.leaseDuration=20s", want: "20s"},
	}
	// The controller in a pod reads its ServiceAccount's credentials.
	noValue := map[string]bool{"kubeconfig": true}
	// Where the chart's default is not the flag's.
	chartDefault := map[string]string{"rollout": "true"}

	runFlags(&runOptions{}).VisitAll(func(f *flag.Flag) {
		if _, ok := tests[f.Name]; !ok && !noValue[f.Name] {
			t.Errorf("--%s has no value in the chart: add one to values.yaml, secretsync.args in templates/_helpers.tpl and this test", f.Name)
		}
	})

	t.Setenv("POD_NAMESPACE", "secretsync-system")
	defaults := chartFlags(t, runArgs(t, renderChart(t).get(t, "Deployment", "secretsync-system", "secretsync-controller")))
	runFlags(&runOptions{}).VisitAll(func(f *flag.Flag) {
		want, ok := chartDefault[f.Name]
		if !ok {
			want = f.DefValue
		}
		if got := defaults[f.Name]; got != want {
			t.Errorf("by default the chart runs --%s=%s; want %s", f.Name, got, want)
		}
	})

	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			deploy := renderChart(t, "--set", tc.set).get(t, "Deployment", "secretsync-system", "secretsync-controller")
			if got := chartFlags(t, runArgs(t, deploy))[name]; got != tc.want {
				t.Errorf("--set %s: --%s=%s; want %s", tc.set, name, got, tc.want)
			}
		})
	}

	t.Run("extraArgs", func(t *testing.T) {
		deploy := renderChart(t, "--set", "controller.extraArgs={--workers=7,--v=2}").get(t, "Deployment", "secretsync-system", "secretsync-controller")
		got := chartFlags(t, runArgs(t, deploy))
		if got["workers"] != "7" || got["v"] != "2" {
			t.Errorf("extraArgs --workers=7 --v=2: --workers=%s --v=%s", got["workers"], got["v"])
		}
	})
}

func TestChartOptions(t *testing.T) {
	helmBin(t) // skip once, not in every subtest
	const ns = "secretsync-system"
	config := kustomizeBuild(t, "../../config/rbac")
	configRules := config.get(t, "ClusterRole", "", "secretsync-controller").Object["rules"]

	tests := map[string]struct {
		args  []string
		check func(t *testing.T, objs objects)
	}{
		"the image is the chart's appVersion, never latest": {
			check: func(t *testing.T, objs objects) {
				chart, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
				if err != nil {
					t.Fatal(err)
				}
				var meta struct {
					AppVersion string `json:"appVersion"`
				}
				if err := yaml.Unmarshal(chart, &meta); err != nil || meta.AppVersion == "" {
					t.Fatalf("Chart.yaml has no appVersion: %v", err)
				}
				image := container(t, objs.get(t, "Deployment", ns, "secretsync-controller"))["image"]
				if want := "ghcr.io/secretsync/controller:" + meta.AppVersion; image != want || meta.AppVersion == "latest" {
					t.Errorf("image %v; want %s", image, want)
				}
			},
		},
		"image.tag overrides appVersion": {
			args: []string{"--set", "image.tag=v9.9.9", "--set", "image.repository=registry.example/secretsync"},
			check: func(t *testing.T, objs objects) {
				if got := container(t, objs.get(t, "Deployment", ns, "secretsync-controller"))["image"]; got != "registry.example/secretsync:v9.9.9" {
					t.Errorf("image %v", got)
				}
			},
		},
		"two replicas keep one through a disruption": {
			check: func(t *testing.T, objs objects) {
				pdb := objs.get(t, "PodDisruptionBudget", ns, "secretsync-controller")
				if got, _, _ := unstructured.NestedFieldNoCopy(pdb.Object, "spec", "minAvailable"); got != int64(1) {
					t.Errorf("minAvailable %v; want 1", got)
				}
				sel, _, _ := unstructured.NestedStringMap(pdb.Object, "spec", "selector", "matchLabels")
				podLabels, _, _ := unstructured.NestedStringMap(objs.get(t, "Deployment", ns, "secretsync-controller").Object, "spec", "template", "metadata", "labels")
				for k, v := range sel {
					if podLabels[k] != v {
						t.Errorf("the PodDisruptionBudget selects %s=%s; the pods have %q", k, v, podLabels[k])
					}
				}
			},
		},
		"one replica has no PodDisruptionBudget": {
			args: []string{"--set", "replicaCount=1"},
			check: func(t *testing.T, objs objects) {
				if pdbs := objs.ofKind("PodDisruptionBudget"); len(pdbs) != 0 {
					t.Errorf("a PodDisruptionBudget with one replica blocks every drain")
				}
			},
		},
		"a metrics Service, and no ServiceMonitor by default": {
			check: func(t *testing.T, objs objects) {
				svc := objs.get(t, "Service", ns, "secretsync-controller-metrics")
				ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
				if len(ports) != 1 || ports[0].(map[string]any)["targetPort"] != "metrics" {
					t.Errorf("Service ports %v; want one, to the container's metrics port", ports)
				}
				if sms := objs.ofKind("ServiceMonitor"); len(sms) != 0 {
					t.Errorf("a ServiceMonitor by default")
				}
			},
		},
		"a ServiceMonitor when asked": {
			args: []string{"--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.serviceMonitor.labels.release=prometheus"},
			check: func(t *testing.T, objs objects) {
				sm := objs.get(t, "ServiceMonitor", ns, "secretsync-controller")
				if sm.GetAPIVersion() != "monitoring.coreos.com/v1" {
					t.Errorf("ServiceMonitor apiVersion %s", sm.GetAPIVersion())
				}
				if sm.GetLabels()["release"] != "prometheus" {
					t.Errorf("ServiceMonitor labels %v", sm.GetLabels())
				}
				sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
				svcLabels := objs.get(t, "Service", ns, "secretsync-controller-metrics").GetLabels()
				for k, v := range sel {
					if svcLabels[k] != v {
						t.Errorf("the ServiceMonitor selects %s=%s; the Service has %q", k, v, svcLabels[k])
					}
				}
				eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
				if len(eps) != 1 || eps[0].(map[string]any)["port"] != "metrics" || eps[0].(map[string]any)["path"] != "/metrics" {
					t.Errorf("ServiceMonitor endpoints %v", eps)
				}
			},
		},
		"no fake store by default": {
			check: func(t *testing.T, objs objects) {
				if css := objs.ofKind("ClusterSecretStore"); len(css) != 0 {
					t.Errorf("a ClusterSecretStore by default")
				}
			},
		},
		"a fake store from values": {
			args: []string{"--set", "fakeSecretStore.enabled=true", "--set-json",
				`fakeSecretStore.secrets=[{"key":"github-pat","value":"development-token"},{"key":"db","value":"{\"user\":\"app\"}","version":"v2"}]`},
			check: func(t *testing.T, objs objects) {
				store := objs.get(t, "ClusterSecretStore", "", "default")
				data, _, _ := unstructured.NestedSlice(store.Object, "spec", "provider", "fake", "data")
				want := []any{
					map[string]any{"key": "github-pat", "value": "development-token"},
					map[string]any{"key": "db", "value": `{"user":"app"}`, "version": "v2"},
				}
				if diff := cmp.Diff(want, data); diff != "" {
					t.Errorf("fake store data (-want +got):\n%s", diff)
				}
			},
		},
		"confined to its namespace": {
			args: []string{"--set", "namespaceScoped=true"},
			check: func(t *testing.T, objs objects) {
				role := objs.get(t, "Role", ns, "secretsync-controller")
				if diff := cmp.Diff(configRules, role.Object["rules"]); diff != "" {
					t.Errorf("Role rules (-config/rbac ClusterRole +chart):\n%s", diff)
				}
				binding := objs.get(t, "RoleBinding", ns, "secretsync-controller")
				if ref, _, _ := unstructured.NestedString(binding.Object, "roleRef", "kind"); ref != "Role" {
					t.Errorf("RoleBinding binds a %s", ref)
				}
				if cr := objs[objKey{"ClusterRole", "", "secretsync-controller"}]; cr != nil {
					t.Errorf("the full ClusterRole is still there")
				}
				// What stays cluster-wide is ClusterSecretStores and
				// ClusterGenerators, with no verb config/rbac does not grant.
				var clusterRules []any
				for _, cr := range objs.ofKind("ClusterRole") {
					rules, _ := cr.Object["rules"].([]any)
					clusterRules = append(clusterRules, rules...)
				}
				for _, r := range clusterRules {
					for _, res := range stringsOf(r, "resources") {
						if !strings.HasPrefix(res, "clustersecretstores") && res != "clustergenerators" {
							t.Errorf("cluster-wide access to %s", res)
						}
						for _, verb := range stringsOf(r, "verbs") {
							if !grants(configRules, stringsOf(r, "apiGroups")[0], res, verb) {
								t.Errorf("cluster-wide %s on %s, which config/rbac does not grant", verb, res)
							}
						}
					}
				}
				args := runArgs(t, objs.get(t, "Deployment", ns, "secretsync-controller"))
				if !slices.Contains(args, "--namespace="+ns) {
					t.Errorf("args %q lack --namespace=%s", args, ns)
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.check(t, renderChart(t, tc.args...))
		})
	}
}

func stringsOf(rule any, field string) []string {
	raw, _ := rule.(map[string]any)[field].([]any)
	out := make([]string, len(raw))
	for i, v := range raw {
		out[i], _ = v.(string)
	}
	return out
}

// grants reports whether rules allow verb on resource in group.
func grants(rules any, group, resource, verb string) bool {
	list, _ := rules.([]any)
	for _, r := range list {
		groups, resources, verbs := stringsOf(r, "apiGroups"), stringsOf(r, "resources"), stringsOf(r, "verbs")
		resourceOK := slices.Contains(resources, resource) || (slices.Contains(resources, "*") && !strings.Contains(resource, "/"))
		if slices.Contains(groups, group) && resourceOK && slices.Contains(verbs, verb) {
			return true
		}
	}
	return false
}

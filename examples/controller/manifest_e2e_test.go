package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/reconcile"
)

// manifestDir holds the External Secrets Operator's documentation examples
// of targets that are not Secrets, each with the resource the guide says
// it writes (<case>.want.yaml). render's tests hold `render` to them too.
const manifestDir = "../../internal/render/testdata/manifest"

// The kinds the examples target, and what a platform team grants the
// controller to write them, as ESO's Helm chart does with genericTargets.
const manifestKinds = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: appconfigs.config.example.com}
spec:
  group: config.example.com
  scope: Namespaced
  names: {plural: appconfigs, singular: appconfig, kind: AppConfig}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: applications.argoproj.io}
spec:
  group: argoproj.io
  scope: Namespaced
  names: {plural: applications, singular: application, kind: Application}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: secretsync-generic-targets}
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
- apiGroups: ["config.example.com", "argoproj.io"]
  resources: ["appconfigs", "applications"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: secretsync-generic-targets}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secretsync-generic-targets}
subjects:
- {kind: ServiceAccount, name: secretsync-controller, namespace: secretsync-system}
`

var (
	appConfigs   = schema.GroupVersionResource{Group: "config.example.com", Version: "v1", Resource: "appconfigs"}
	configMaps   = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	applications = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
)

// genericTargets starts a controller, as the controller identity, that
// writes targets other than Secrets, and returns a client for them.
func (h *harness) genericTargets(t *testing.T) dynamic.Interface {
	t.Helper()
	h.apply(t, "%s", manifestKinds)
	dyn, err := dynamic.NewForConfig(h.env.Config)
	if err != nil {
		t.Fatal(err)
	}
	// The CRDs serve once established.
	eventually(t, 30*time.Second, func() (bool, string) {
		for _, gvr := range []schema.GroupVersionResource{appConfigs, applications} {
			if _, err := dyn.Resource(gvr).List(context.Background(), metav1.ListOptions{}); err != nil {
				return false, err.Error()
			}
		}
		return true, ""
	})
	ctrlDyn, err := dynamic.NewForConfig(h.ctrlCfg)
	if err != nil {
		t.Fatal(err)
	}
	h.runController(t, h.ctrlCfg, controllerOpts{}, newMetrics(nil), func(c *Config) {
		c.GenericTargets, c.Dynamic = true, ctrlDyn
	})
	return dyn
}

// The controller writes, for each documentation example, the resource the
// guide describes; an unchanged refresh writes nothing; a target edited by
// hand is restored at once, not at the next refresh.
func TestManifestTargetsE2E(t *testing.T) {
	h := setup(t)
	dyn := h.genericTargets(t)
	resources := map[string]schema.GroupVersionResource{"ConfigMap": configMaps, "AppConfig": appConfigs, "Application": applications}

	files, err := filepath.Glob(filepath.Join(manifestDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ns := h.namespace(t, nil)
	var cases int
	for _, file := range files {
		if strings.HasSuffix(file, ".golden.yaml") || strings.HasSuffix(file, ".want.yaml") {
			continue
		}
		cases++
		base := strings.TrimSuffix(file, ".yaml")
		t.Run(filepath.Base(base), func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			// One namespace for all: the store is the same in every file.
			h.apply(t, "%s", strings.ReplaceAll(string(in), "namespace: manifests", "namespace: "+ns))
			raw, err := os.ReadFile(base + ".want.yaml")
			if err != nil {
				t.Fatal(err)
			}
			want := &unstructured.Unstructured{}
			if err := yaml.UnmarshalStrict(raw, &want.Object); err != nil {
				t.Fatal(err)
			}
			want.SetNamespace(ns)
			h.waitTarget(t, dyn.Resource(resources[want.GetKind()]), want)
		})
	}
	if cases != 5 {
		t.Fatalf("found %d examples, want 5", cases)
	}

	// The AppConfig again, refreshed every second: nothing changes, so
	// nothing is written.
	in, err := os.ReadFile(filepath.Join(manifestDir, "advanced-path.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fast := strings.NewReplacer("namespace: manifests", "namespace: "+ns, "name: custom-resource-config", "name: fast", "name: app-settings", "name: fast-settings", "refreshInterval: 1h", "refreshInterval: 1s").Replace(string(in))
	h.apply(t, "%s", fast)
	h.waitReady(t, ns, "fast", externalsecret.ReasonSecretSynced)
	time.Sleep(time.Second)
	since := time.Now()
	time.Sleep(4 * time.Second)
	for _, res := range []string{"appconfigs", "configmaps", "externalsecrets/status"} {
		n, err := h.env.CountWrites(res, ns, since)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d writes to %s over unchanged refreshes; want 0", n, res)
		}
	}

	// A hand edit of a ConfigMap refreshed hourly is undone through the
	// watch on ConfigMaps, and so is its deletion.
	cms := dyn.Resource(configMaps).Namespace(ns)
	cm, err := cms.Get(context.Background(), "app-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(cm.Object, "tampered", "data", "database-host")
	if _, err := cms.Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitConfigMapValue(t, cms, "app-config", "database-host", "db.internal")
	if err := cms.Delete(context.Background(), "app-config", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitConfigMapValue(t, cms, "app-config", "database-host", "db.internal")
}

// Without --unsafe-allow-generic-targets, an ExternalSecret with a manifest
// target fails with a status that says how to allow it, and nothing is
// written.
func TestManifestTargetsOffByDefaultE2E(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	h.startController(t, controllerOpts{})
	in, err := os.ReadFile(filepath.Join(manifestDir, "basic-configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h.apply(t, "%s", strings.ReplaceAll(string(in), "namespace: manifests", "namespace: "+ns))
	es := h.waitReady(t, ns, "application-config", externalsecret.ReasonSecretSyncedError)
	if msg := es.Status.ReadyCondition().Message; !strings.Contains(msg, "--unsafe-allow-generic-targets") {
		t.Errorf("status %q does not say how to allow the target", msg)
	}
	if _, err := h.admin.CoreV1().ConfigMaps(ns).Get(context.Background(), "app-config", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the ConfigMap was written, or cannot be read: %v", err)
	}
}

// waitTarget waits until the target want names holds want's content and
// metadata, besides secretsync's own, and is owned by its ExternalSecret.
func (h *harness) waitTarget(t *testing.T, client dynamic.NamespaceableResourceInterface, want *unstructured.Unstructured) {
	t.Helper()
	eventually(t, 20*time.Second, func() (bool, string) {
		got, err := client.Namespace(want.GetNamespace()).Get(context.Background(), want.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if got.GetLabels()[reconcile.LabelManaged] != "true" || got.GetAnnotations()[reconcile.AnnotationDataHash] == "" {
			return false, fmt.Sprintf("%s %s lacks secretsync's label or hash", want.GetKind(), want.GetName())
		}
		if owner := metav1.GetControllerOf(got); owner == nil || owner.Kind != externalsecret.Kind {
			return false, fmt.Sprintf("%s %s is not controlled by its ExternalSecret", want.GetKind(), want.GetName())
		}
		content := map[string]any{}
		for k, v := range got.Object {
			if k != "metadata" {
				content[k] = v
			}
		}
		own := func(m map[string]string) map[string]string {
			out := map[string]string{}
			for k, v := range m {
				if k != reconcile.LabelManaged && k != reconcile.AnnotationDataHash {
					out[k] = v
				}
			}
			return out
		}
		wantContent := map[string]any{}
		for k, v := range want.Object {
			if k != "metadata" {
				wantContent[k] = v
			}
		}
		// Numbers in want files decode as float64, and as int64 from the
		// apiserver: compare through JSON.
		norm := func(v any) any {
			b, _ := yaml.Marshal(v)
			var out any
			_ = yaml.Unmarshal(b, &out)
			return out
		}
		if diff := cmp.Diff(norm(wantContent), norm(content)); diff != "" {
			return false, fmt.Sprintf("%s %s content (-want +got):\n%s", want.GetKind(), want.GetName(), diff)
		}
		if diff := cmp.Diff(own(want.GetLabels()), own(got.GetLabels())); diff != "" {
			return false, "labels (-want +got):\n" + diff
		}
		if diff := cmp.Diff(own(want.GetAnnotations()), own(got.GetAnnotations())); diff != "" {
			return false, "annotations (-want +got):\n" + diff
		}
		return true, ""
	})
}

func (h *harness) waitConfigMapValue(t *testing.T, cms dynamic.ResourceInterface, name, key, want string) {
	t.Helper()
	eventually(t, 20*time.Second, func() (bool, string) {
		cm, err := cms.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if got, _, _ := unstructured.NestedString(cm.Object, "data", key); got != want {
			return false, fmt.Sprintf("ConfigMap %s key %s is not restored", name, key)
		}
		return true, ""
	})
}

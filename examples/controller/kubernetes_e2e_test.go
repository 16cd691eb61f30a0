package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/kubernetes"
)

// The remote Secret the stores copy, in both source namespaces.
const k8sSourceYAML = `
apiVersion: v1
kind: Secret
metadata:
  name: database-credentials
  namespace: %s
  labels: {app: billing}
stringData:
  username: admin
  password: p1
  token: CANARY-e2e-4b1d
  config: '{"host":"db.billing","port":5432}'
`

// A ServiceAccount of the tenant's namespace that may read Secrets of the
// allowed namespace, and nothing else, as ESO's documentation sets one up;
// and the CA every namespace of a real cluster gets in kube-root-ca.crt,
// which only the controller-manager would publish.
const k8sTenantYAML = `
apiVersion: v1
kind: ServiceAccount
metadata: {name: eso-reader, namespace: %[1]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: eso-store-role, namespace: %[2]s}
rules:
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: eso-store-role, namespace: %[2]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: eso-store-role}
subjects:
- kind: ServiceAccount
  name: eso-reader
  namespace: %[1]s
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-root-ca.crt, namespace: %[1]s}
binaryData:
  ca.crt: %[3]s
`

// A kubernetes SecretStore as ESO's documentation writes one: the local
// cluster (server.url defaults to kubernetes.default), its CA from
// kube-root-ca.crt, and a ServiceAccount to read as.
const k8sStoreYAML = `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: %s, namespace: %s}
spec:
  provider:
    kubernetes:
      remoteNamespace: %s
      server:
        caProvider:
          type: ConfigMap
          name: kube-root-ca.crt
          key: ca.crt
      auth:
        serviceAccount:
          name: eso-reader
`

const k8sESYAML = `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: %s, namespace: %s}
spec:
  refreshInterval: 1s
  secretStoreRef: {kind: SecretStore, name: %s}
  target: {name: %s}
  data:
  - secretKey: username
    remoteRef: {key: database-credentials, property: username}
  - secretKey: password
    remoteRef: {key: database-credentials, property: password}
  - secretKey: host
    remoteRef: {key: database-credentials, property: config.host}
  - secretKey: labels
    remoteRef: {key: database-credentials, property: labels, metadataPolicy: Fetch}
  dataFrom:
  - find:
      tags: {app: billing}
`

// The reference controller copies a Secret from a namespace the store's
// ServiceAccount may read, and not from one it may not, although the
// controller's own identity can read both: the apiserver's RBAC decides,
// against the ServiceAccount.
func TestE2EKubernetes(t *testing.T) {
	h := setup(t)
	tenant := h.namespace(t, nil)
	allowed := h.namespace(t, nil)
	denied := h.namespace(t, nil)
	for _, ns := range []string{allowed, denied} {
		h.apply(t, k8sSourceYAML, ns)
	}
	h.apply(t, k8sTenantYAML, tenant, allowed, base64.StdEncoding.EncodeToString(h.env.Config.CAData))

	// The provider is given the controller's own configuration, as
	// run.go does: it must keep the address and CA and drop the rest.
	ctrl := h.startController(t, controllerOpts{providers: []provider.Provider{kubernetes.New(kubernetes.WithLocalCluster(h.ctrlCfg))}})
	h.apply(t, k8sStoreYAML, "allowed", tenant, allowed)
	h.apply(t, k8sStoreYAML, "denied", tenant, denied)
	h.apply(t, k8sESYAML, "billing", tenant, "allowed", "billing")
	h.apply(t, k8sESYAML, "stolen", tenant, "denied", "stolen")

	s := h.waitSecretData(t, tenant, "billing", "password", "p1")
	want := map[string]string{
		"username":             "admin",
		"password":             "p1",
		"host":                 "db.billing",
		"labels":               `{"app":"billing"}`,
		"database-credentials": `{"config":"{\"host\":\"db.billing\",\"port\":5432}","password":"p1","token":"` + canary + `","username":"admin"}`,
	}
	for k, v := range want {
		if string(s.Data[k]) != v {
			t.Errorf("key %s: got %d bytes, want %q", k, len(s.Data[k]), strings.ReplaceAll(v, canary, "<canary>"))
		}
	}
	h.waitReady(t, tenant, "billing", externalsecret.ReasonSecretSynced)
	eventually(t, 20*time.Second, func() (bool, string) {
		row := h.tableRow(t, tenant, resSecretStores, "allowed")
		return row["Status"] == "Valid" && row["Ready"] == "True", fmt.Sprint(row)
	})

	es := h.waitReady(t, tenant, "stolen", externalsecret.ReasonSecretSyncedError)
	msg := es.Status.ReadyCondition().Message
	for _, want := range []string{"permission denied", "database-credentials", "system:serviceaccount:" + tenant + ":eso-reader"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the denied ExternalSecret's message lacks %q: %s", want, msg)
		}
	}
	if _, err := h.getSecret(tenant, "stolen"); !apierrors.IsNotFound(err) {
		t.Errorf("a store denied by RBAC must produce no Secret: %v", err)
	}
	eventually(t, 20*time.Second, func() (bool, string) {
		row := h.tableRow(t, tenant, resSecretStores, "denied")
		return row["Ready"] == "False", fmt.Sprint(row)
	})

	// Refreshes every second read with the client each store built once,
	// which holds its ServiceAccount token; the value follows a rotation
	// of the source.
	calls := func(op, result string) float64 {
		return testutil.ToFloat64(ctrl.metrics.providerCalls.WithLabelValues(kubernetes.Name, op, result))
	}
	reads := calls("GetSecret", "success")
	h.apply(t, strings.Replace(k8sSourceYAML, "password: p1", "password: p2", 1), allowed)
	h.waitSecretData(t, tenant, "billing", "password", "p2")
	time.Sleep(3 * time.Second)
	reads = calls("GetSecret", "success") - reads
	built := calls("NewClient", "success")
	t.Logf("%v successful reads since the first sync; %v clients built for 2 stores", reads, built)
	if reads < 3 {
		t.Errorf("want reads at every 1s refresh, got %v", reads)
	}
	if built != 2 {
		t.Errorf("%v clients built; want one per store, reused", built)
	}
}

// The controller as run starts it: registry gives the kubernetes provider
// the local cluster from the controller's kubeconfig, and a store without
// a server.url reads that cluster as its ServiceAccount.
func TestE2EKubernetesRegistry(t *testing.T) {
	h := setup(t)
	tenant := h.namespace(t, nil)
	allowed := h.namespace(t, nil)
	h.apply(t, k8sSourceYAML, allowed)
	h.apply(t, k8sTenantYAML, tenant, allowed, base64.StdEncoding.EncodeToString(h.env.Config.CAData))
	kubeconfig := t.TempDir() + "/kubeconfig"
	if err := h.env.WriteKubeconfig(kubeconfig, h.ctrlCfg); err != nil {
		t.Fatal(err)
	}
	class := "k8s-" + tenant[:8]
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logger()))
	done := make(chan error, 1)
	go func() {
		done <- runCmd(ctx, []string{"--kubeconfig", kubeconfig, "--metrics-addr", "", "--leader-elect=false", "--controller-class", class})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	}()
	h.apply(t, strings.Replace(k8sStoreYAML, "spec:\n", "spec:\n  controller: "+class+"\n", 1), "allowed", tenant, allowed)
	h.apply(t, k8sESYAML, "billing", tenant, "allowed", "billing")
	h.waitSecretData(t, tenant, "billing", "host", "db.billing")
}

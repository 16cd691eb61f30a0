package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
)

const clusterExternalSecretYAML = `
apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata: {name: %[1]s}
spec:
  externalSecretName: shared-db
  externalSecretMetadata:
    labels: {app: web}
  namespaceSelectors:
  - matchLabels: {%[2]s: team-a}
  - matchExpressions:
    - {key: %[2]s, operator: In, values: [prod, staging]}
  externalSecretSpec:
    refreshInterval: 1h
    secretStoreRef: {name: %[1]s, kind: ClusterSecretStore}
    target: {name: db}
    data:
    - secretKey: password
      remoteRef: {key: db, property: password}
---
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: %[1]s}
spec:
  provider:
    fake:
      data:
      - key: db
        value: '{"password":"p1"}'
`

// A ClusterExternalSecret with several selectors stamps its ExternalSecret
// into the namespaces they select, and reacts to namespaces at once: a new
// one is provisioned, a relabelled or deleted one cleaned up. A namespace
// where an ExternalSecret of that name already exists, not its own, fails
// by name in the status, and that ExternalSecret is left alone.
func TestClusterExternalSecretE2E(t *testing.T) {
	h := setup(t)
	h.startController(t, controllerOpts{})
	ctx := context.Background()
	name := fmt.Sprintf("ces-%d", time.Now().UnixNano()%1e8)
	key := "secretsync.test/" + name // unique, so other tests' namespaces are never chosen
	teamA := h.namespace(t, map[string]string{key: "team-a"})
	prod := h.namespace(t, map[string]string{key: "prod"})
	other := h.namespace(t, map[string]string{key: "team-b"})
	taken := h.namespace(t, map[string]string{key: "staging"})
	h.apply(t, `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: shared-db, namespace: %s}
spec:
  secretStoreRef: {name: someone-elses, kind: SecretStore}
  data:
  - secretKey: x
    remoteRef: {key: other}
`, taken)
	h.apply(t, clusterExternalSecretYAML, name, key)
	t.Cleanup(func() {
		for _, res := range []string{resClusterExternalSecrets, resClusterSecretStores} {
			_ = h.crd.rest.Delete().Resource(res).Name(name).Do(ctx).Error()
		}
	})

	waitProvisioned := func(want ...string) *externalsecret.ClusterExternalSecret {
		t.Helper()
		slices.Sort(want)
		ces := &externalsecret.ClusterExternalSecret{}
		eventually(t, 20*time.Second, func() (bool, string) {
			if err := h.crd.Get(ctx, resClusterExternalSecrets, "", name, ces); err != nil {
				return false, err.Error()
			}
			got := ces.Status.ProvisionedNamespaces
			return slices.Equal(got, want), fmt.Sprintf("provisioned %v, want %v", got, want)
		})
		return ces
	}
	ces := waitProvisioned(teamA, prod)
	if len(ces.Status.FailedNamespaces) != 1 || ces.Status.FailedNamespaces[0].Namespace != taken ||
		!strings.Contains(ces.Status.FailedNamespaces[0].Reason, "not controlled by ClusterExternalSecret "+name) {
		t.Errorf("failedNamespaces %+v, want %s with its reason", ces.Status.FailedNamespaces, taken)
	}
	if c := ces.Status.Conditions; len(c) != 1 || c[0].Status != corev1.ConditionFalse || !strings.Contains(c[0].Message, taken) {
		t.Errorf("conditions %+v, want Ready False naming %s", c, taken)
	}
	for _, ns := range []string{teamA, prod} {
		es := h.getES(t, ns, "shared-db")
		if es.Labels["app"] != "web" || metav1.GetControllerOf(es) == nil || metav1.GetControllerOf(es).Name != name {
			t.Errorf("ExternalSecret in %s: labels %v, controller %v", ns, es.Labels, metav1.GetControllerOf(es))
		}
		h.waitSecretData(t, ns, "db", "password", "p1")
	}
	if _, err := h.crd.REST().Get().Namespace(other).Resource(resExternalSecrets).Name("shared-db").Do(ctx).Raw(); !apierrors.IsNotFound(err) {
		t.Errorf("a namespace no selector chooses got the ExternalSecret (%v)", err)
	}
	if es := h.getES(t, taken, "shared-db"); es.Spec.SecretStoreRef.Name != "someone-elses" || metav1.GetControllerOf(es) != nil {
		t.Errorf("the ExternalSecret it does not own was changed: %+v", es.Spec.SecretStoreRef)
	}

	// A new namespace that a selector chooses is provisioned at once: the
	// namespace watch, not refreshTime (absent here), brings it.
	created := time.Now()
	fresh := h.namespace(t, map[string]string{key: "team-a"})
	eventually(t, 20*time.Second, func() (bool, string) {
		_, err := h.crd.REST().Get().Namespace(fresh).Resource(resExternalSecrets).Name("shared-db").Do(ctx).Raw()
		return err == nil, fmt.Sprintf("no ExternalSecret in %s: %v", fresh, err)
	})
	took := time.Since(created)
	t.Logf("a new labelled namespace had its ExternalSecret %v after it was created", took)
	if took > 5*time.Second {
		t.Errorf("provisioning a new namespace took %v; the watch should bring it within about a second", took)
	}
	waitProvisioned(teamA, prod, fresh)

	// Unlabelling a namespace removes its ExternalSecret; so does deleting
	// the namespace.
	nsObj, err := h.admin.CoreV1().Namespaces().Get(ctx, prod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	delete(nsObj.Labels, key)
	if _, err := h.admin.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := h.admin.CoreV1().Namespaces().Delete(ctx, fresh, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitProvisioned(teamA)
	for _, ns := range []string{prod, fresh} {
		eventually(t, 20*time.Second, func() (bool, string) {
			_, err := h.crd.REST().Get().Namespace(ns).Resource(resExternalSecrets).Name("shared-db").Do(ctx).Raw()
			return apierrors.IsNotFound(err), fmt.Sprintf("the ExternalSecret in %s is still there (%v)", ns, err)
		})
	}
	if es := h.getES(t, taken, "shared-db"); es.DeletionTimestamp != nil {
		t.Error("the ExternalSecret it does not own is being deleted")
	}
}

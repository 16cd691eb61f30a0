package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/awsemu"
	"github.com/secretsync/secretsync/internal/kubeapply"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/aws"
	"github.com/secretsync/secretsync/secretstore"
)

// waitStoreReady waits for a store's Ready condition to have reason and
// returns its message.
func (h *harness) waitStoreReady(t *testing.T, resource, ns, name, reason string) string {
	t.Helper()
	var msg string
	eventually(t, 30*time.Second, func() (bool, string) {
		req := h.crd.rest.Get().Resource(resource).Name(name)
		if ns != "" {
			req = req.Namespace(ns)
		}
		var store secretstore.GenericStore = &secretstore.SecretStore{}
		if resource == resClusterSecretStores {
			store = &secretstore.ClusterSecretStore{}
		}
		if err := req.Do(context.Background()).Into(store); err != nil {
			return false, err.Error()
		}
		c := store.StoreStatus().ReadyCondition()
		if c == nil {
			return false, "no Ready condition"
		}
		msg = c.Message
		return c.Reason == reason, fmt.Sprintf("Ready=%s %s: %s", c.Status, c.Reason, c.Message)
	})
	return msg
}

// scanClusterStoresForCanary fails t if a secret value shows in the
// status of a ClusterSecretStore, or in an event about one; those are
// recorded in the default namespace.
func (h *harness) scanClusterStoresForCanary(t *testing.T) {
	t.Helper()
	var list secretstore.ClusterSecretStoreList
	if err := h.crd.rest.Get().Resource(resClusterSecretStores).Do(context.Background()).Into(&list); err != nil {
		t.Errorf("list ClusterSecretStores: %v", err)
		return
	}
	for _, s := range list.Items {
		for _, c := range s.Status.Conditions {
			if strings.Contains(c.Message, canary) {
				t.Errorf("the status of ClusterSecretStore %s shows a secret value", s.Name)
			}
		}
	}
	h.scanEventsForCanary(t, metav1.NamespaceDefault)
}

// credentialReads counts the controller's reads of one Secret.
func (h *harness) credentialReads(t *testing.T, ns, name string, since time.Time) int {
	t.Helper()
	n, err := h.env.CountRequests(testenv.Requests{Verbs: []string{"get", "list"}, Resource: "secrets", Namespace: ns, Name: name, User: controllerUser, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A tenant's store cannot borrow another namespace's credentials: a
// SecretStore in A that names a Secret in B, and a ClusterSecretStore
// whose reference names no namespace, are refused with a status that says
// so, and the controller never reads the Secret. The same credentials in
// a store of their own namespace work, so the refusal is the rule and not
// a broken setup.
func TestE2ETenancyCredentialsStayInNamespace(t *testing.T) {
	h := setup(t)
	emu := awsemu.New("us-east-1")
	t.Cleanup(emu.Close)
	a := h.namespace(t, nil)
	b := h.namespace(t, nil)
	class := "creds-" + a[:8]
	h.startTuned(t, controllerOpts{class: class, providers: []provider.Provider{aws.New(aws.WithEndpoint(emu.URL), aws.WithHTTPClient(emu.Client()))}}, faultTuning)
	t.Cleanup(func() { h.scanClusterStoresForCanary(t) })
	emu.PutSecret("team/db", string(dbJSON("admin", "p1")))
	since := time.Now()

	const creds = `
apiVersion: v1
kind: Secret
metadata: {name: aws-creds, namespace: %s}
stringData: {id: %s, secret: %s}
`
	h.apply(t, creds, a, awsemu.AccessKeyID, awsemu.SecretAccessKey)
	h.apply(t, creds, b, awsemu.AccessKeyID, awsemu.SecretAccessKey)
	const storeSpec = `
  controller: %q
  provider:
    aws:
      service: SecretsManager
      region: us-east-1
      auth:
        secretRef:
          accessKeyIDSecretRef: {name: aws-creds, key: id%[2]s}
          secretAccessKeySecretRef: {name: aws-creds, key: secret%[2]s}
`
	es := strings.NewReplacer("key: db, property", "key: team/db, property").Replace(esYAML)

	t.Run("a SecretStore naming another namespace's Secret", func(t *testing.T) {
		h.apply(t, "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: borrow, namespace: "+a+"}\nspec:"+storeSpec, class, ", namespace: "+b)
		h.apply(t, strings.Replace(es, "controller: %q", "", 1), "app", a, "1h", "borrow", "app", "Owner", "Retain")
		want := fmt.Sprintf(`may only name namespace %q, not %q`, a, b)
		if msg := h.waitStoreReady(t, resSecretStores, a, "borrow", secretstore.ReasonInvalidProviderConfig); !strings.Contains(msg, want) {
			t.Errorf("store status %q does not say %q", msg, want)
		}
		got := h.waitReady(t, a, "app", externalsecret.ReasonSecretSyncedError)
		if msg := got.Status.ReadyCondition().Message; !strings.Contains(msg, want) {
			t.Errorf("ExternalSecret status %q does not say %q", msg, want)
		}
		if _, err := h.getSecret(a, "app"); !apierrors.IsNotFound(err) {
			t.Errorf("a Secret was written: %v", err)
		}
	})

	t.Run("a ClusterSecretStore reference without a namespace", func(t *testing.T) {
		name := class + "-unscoped"
		h.apply(t, "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: "+name+"}\nspec:\n  conditions: [{namespaces: ["+a+"]}]"+storeSpec, class, "")
		t.Cleanup(func() {
			_ = h.crd.rest.Delete().Resource(resClusterSecretStores).Name(name).Do(context.Background()).Error()
		})
		h.apply(t, strings.Replace(es, "kind: SecretStore", "kind: ClusterSecretStore", 1), "unscoped", a, "1h", name, "unscoped", "Owner", "Retain")
		const want = "a credential reference must set namespace"
		if msg := h.waitStoreReady(t, resClusterSecretStores, "", name, secretstore.ReasonInvalidProviderConfig); !strings.Contains(msg, want) {
			t.Errorf("store status %q does not say %q", msg, want)
		}
		got := h.waitReady(t, a, "unscoped", externalsecret.ReasonSecretSyncedError)
		if msg := got.Status.ReadyCondition().Message; !strings.Contains(msg, want) {
			t.Errorf("ExternalSecret status %q does not say %q", msg, want)
		}
	})

	// Neither refusal read a credential, nor reached AWS.
	for _, ns := range []string{a, b} {
		if n := h.credentialReads(t, ns, "aws-creds", since); n != 0 {
			t.Errorf("the controller read aws-creds in %s %d times", ns, n)
		}
	}
	if n := emu.TotalCalls(""); n != 0 {
		t.Errorf("%d calls reached AWS", n)
	}

	t.Run("the same credentials in their own namespace", func(t *testing.T) {
		h.apply(t, "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: own, namespace: "+b+"}\nspec:"+storeSpec, class, "")
		h.apply(t, strings.Replace(es, "controller: %q", "", 1), "app", b, "1h", "own", "app", "Owner", "Retain")
		h.waitSecretData(t, b, "app", "password", "p1")
		if n := h.credentialReads(t, b, "aws-creds", since); n == 0 {
			t.Errorf("the store in %s synced without reading its credentials: the audit count is broken", b)
		}
	})
}

// A tenant with rights only in namespace A cannot make the controller
// write into namespace B: it cannot create or change anything in B nor a
// cluster store, an ExternalSecret in A writes only in A whatever its
// target is called, and one naming B's stores, directly, through a
// sourceRef or through a ClusterSecretStore that admits only B, is
// refused.
func TestE2ETenancyTenantCannotWriteIntoAnotherNamespace(t *testing.T) {
	h := setup(t)
	a := h.namespace(t, nil)
	b := h.namespace(t, nil)
	class := "tenant-" + a[:8]
	ctrl := h.startTuned(t, controllerOpts{class: class}, faultTuning)
	ctrl.mem.Set("db", dbJSON("admin", "p1"))
	ctx := context.Background()
	t.Cleanup(func() { h.scanClusterStoresForCanary(t) })

	// B has a store, and a Secret of its own that A's targets are named
	// after.
	h.apply(t, storeYAML, "b-store", b, class)
	bSecret, err := h.admin.CoreV1().Secrets(b).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "shared-name"},
		Data:       map[string][]byte{"owner": []byte("b")},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	only := class + "-only-b"
	h.apply(t, strings.Replace(clusterStoreYAML, "namespaceSelector:\n      matchLabels: {tenant: allowed}", "namespaces: ["+b+"]", 1), only, class)
	t.Cleanup(func() {
		_ = h.crd.rest.Delete().Resource(resClusterSecretStores).Name(only).Do(context.Background()).Error()
	})

	// The tenant may do anything with ExternalSecrets, stores and Secrets
	// in A, and nothing elsewhere.
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "tenant", Namespace: a},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"external-secrets.io"}, Resources: []string{"externalsecrets", "secretstores"}, Verbs: []string{"*"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"*"}},
		},
	}
	if _, err := h.admin.RbacV1().Roles(a).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "tenant", Namespace: a},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "tenant"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "tenant-a"}},
	}
	if _, err := h.admin.RbacV1().RoleBindings(a).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tenantCfg, err := h.env.UserConfig("tenant-a", "system:authenticated")
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := kubeapply.New(tenantCfg)
	if err != nil {
		t.Fatal(err)
	}
	asTenant := func(manifest string, args ...any) error {
		return tenant.Apply(ctx, []byte(fmt.Sprintf(manifest, args...)))
	}
	since := time.Now()

	t.Run("nothing in B or cluster-wide", func(t *testing.T) {
		tests := map[string]string{
			"an ExternalSecret in B": fmt.Sprintf(esYAML, "app", b, "1h", "b-store", "x", "Owner", "Retain"),
			"a SecretStore in B":     fmt.Sprintf(storeYAML, "mine", b, class),
			"a Secret in B":          "apiVersion: v1\nkind: Secret\nmetadata: {name: shared-name, namespace: " + b + "}\nstringData: {owner: a}\n",
			"a ClusterSecretStore":   fmt.Sprintf(clusterStoreYAML, class+"-tenant", class),
		}
		for name, manifest := range tests {
			t.Run(name, func(t *testing.T) {
				err := tenant.Apply(ctx, []byte(manifest))
				if !apierrors.IsForbidden(err) {
					t.Errorf("want Forbidden, got %v", err)
				}
			})
		}
	})

	// Everything below is the tenant's, in A.
	if err := asTenant(storeYAML, "a-store", a, class); err != nil {
		t.Fatalf("the tenant cannot create a store in its own namespace: %v", err)
	}

	t.Run("a target named like B's Secret is written in A", func(t *testing.T) {
		if err := asTenant(esYAML, "same-name", a, "1h", "a-store", "shared-name", "Owner", "Retain"); err != nil {
			t.Fatal(err)
		}
		h.waitSecretData(t, a, "shared-name", "password", "p1")
	})

	refused := map[string]struct {
		manifest string
		args     []any
		want     string
	}{
		"B's SecretStore by name": {
			manifest: esYAML, args: []any{"b-store-ref", a, "1h", "b-store", "b-store-ref", "Owner", "Retain"},
			want: fmt.Sprintf("SecretStore %q not found in namespace %s", "b-store", a),
		},
		"B's SecretStore through a sourceRef": {
			manifest: strings.Replace(esYAML, "remoteRef: {key: db, property: user}", "remoteRef: {key: db, property: user}\n    sourceRef: {storeRef: {name: b-store, kind: SecretStore}}", 1),
			args:     []any{"source-ref", a, "1h", "a-store", "source-ref", "Owner", "Retain"},
			want:     fmt.Sprintf("SecretStore %q not found in namespace %s", "b-store", a),
		},
		"a ClusterSecretStore that admits only B": {
			manifest: strings.Replace(esYAML, "kind: SecretStore", "kind: ClusterSecretStore", 1),
			args:     []any{"cluster-store", a, "1h", only, "cluster-store", "Owner", "Retain"},
			want:     fmt.Sprintf("does not admit namespace %q", a),
		},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			if err := asTenant(tc.manifest, tc.args...); err != nil {
				t.Fatal(err)
			}
			es := h.waitReady(t, a, tc.args[0].(string), externalsecret.ReasonSecretSyncedError)
			if msg := es.Status.ReadyCondition().Message; !strings.Contains(msg, tc.want) {
				t.Errorf("status %q does not say %q", msg, tc.want)
			}
			if _, err := h.getSecret(a, tc.args[4].(string)); !apierrors.IsNotFound(err) {
				t.Errorf("a Secret was written: %v", err)
			}
		})
	}

	t.Run("a target name that is a path", func(t *testing.T) {
		err := asTenant(esYAML, "path", a, "1h", "a-store", "../"+b+"/shared-name", "Owner", "Retain")
		if !apierrors.IsInvalid(err) {
			t.Errorf("want the apiserver to reject the target name as invalid, got %v", err)
		}
	})

	// Once the controller is idle it has written nothing in B, and B's
	// Secret is as it was.
	waitIdle(t, ctrl.metrics)
	n, err := h.env.CountRequests(testenv.Requests{
		Verbs: []string{"create", "update", "patch", "delete"}, Resource: "secrets", Namespace: b, User: controllerUser, Since: since,
	})
	if err != nil || n != 0 {
		t.Errorf("the controller made %d writes to Secrets in %s (%v); want 0", n, b, err)
	}
	if s, err := h.getSecret(b, "shared-name"); err != nil || s.ResourceVersion != bSecret.ResourceVersion || string(s.Data["owner"]) != "b" {
		t.Errorf("B's Secret changed: %v", err)
	}
	list, err := h.admin.CoreV1().Secrets(b).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Errorf("%d Secrets in %s; want only its own", len(list.Items), b)
	}
}

// ClusterSecretStore conditions admit exactly the namespaces they name,
// match by regexp or select; with --deny-unconditioned-cluster-stores a
// store without conditions admits none, and without the flag it admits
// all.
func TestE2ETenancyClusterStoreConditions(t *testing.T) {
	h := setup(t)
	a := h.namespace(t, map[string]string{"team": "blue"})
	b := h.namespace(t, nil)
	denyClass := "deny-" + a[:8]
	allowClass := "allow-" + a[:8]
	h.startTuned(t, controllerOpts{class: denyClass, denyUnconditioned: true}, faultTuning)
	h.startTuned(t, controllerOpts{class: allowClass}, faultTuning)
	t.Cleanup(func() { h.scanClusterStoresForCanary(t) })

	const css = `
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: %s}
spec:
  controller: %q
  conditions: %s
  provider:
    fake:
      data:
      - key: db
        value: '{"user":"cluster","password":"cp","token":"CANARY-e2e-4b1d"}'
`
	es := strings.Replace(esYAML, "kind: SecretStore", "kind: ClusterSecretStore", 1)
	tests := map[string]struct {
		class, conditions string
		admitted          map[string]bool // by namespace
		want              string          // in the refusal
	}{
		"no conditions, deny-by-default": {class: denyClass, conditions: "[]", admitted: map[string]bool{},
			want: "has no conditions, and this controller admits no namespace"},
		"no conditions, without the flag": {class: allowClass, conditions: "[]", admitted: map[string]bool{a: true, b: true}},
		"a list of namespaces": {class: denyClass, conditions: "[{namespaces: [" + a + "]}]", admitted: map[string]bool{a: true},
			want: "does not admit namespace"},
		"a namespace regexp": {class: denyClass, conditions: "[{namespaceRegexes: ['^" + a + "$']}]", admitted: map[string]bool{a: true},
			want: "does not admit namespace"},
		"a namespace selector": {class: denyClass, conditions: "[{namespaceSelector: {matchLabels: {team: blue}}}]", admitted: map[string]bool{a: true},
			want: "does not admit namespace"},
		"any of several conditions": {class: denyClass, conditions: "[{namespaces: [nobody]}, {namespaces: [" + b + "]}]", admitted: map[string]bool{b: true},
			want: "does not admit namespace"},
	}
	i := 0
	for name, tc := range tests {
		i++
		store := fmt.Sprintf("%s-%d", a[:8], i)
		t.Run(name, func(t *testing.T) {
			h.apply(t, css, store, tc.class, tc.conditions)
			t.Cleanup(func() {
				_ = h.crd.rest.Delete().Resource(resClusterSecretStores).Name(store).Do(context.Background()).Error()
			})
			for _, ns := range []string{a, b} {
				h.apply(t, es, store, ns, "1h", store, store, "Owner", "Retain")
			}
			for _, ns := range []string{a, b} {
				if tc.admitted[ns] {
					h.waitSecretData(t, ns, store, "user", "cluster")
					continue
				}
				got := h.waitReady(t, ns, store, externalsecret.ReasonSecretSyncedError)
				if msg := got.Status.ReadyCondition().Message; !strings.Contains(msg, tc.want) {
					t.Errorf("%s: status %q does not say %q", ns, msg, tc.want)
				}
				if _, err := h.getSecret(ns, store); !apierrors.IsNotFound(err) {
					t.Errorf("%s: a refused namespace got a Secret: %v", ns, err)
				}
			}
		})
	}
}

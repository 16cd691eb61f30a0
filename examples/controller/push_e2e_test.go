package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/metadata"

	"github.com/hashicorp/vault/api"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/internal/vaulttest"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/vault"
	"github.com/secretsync/secretsync/pushsecret"
)

// startPushController runs a controller, as the controller identity, that
// watches the Secrets PushSecrets push.
func (h *harness) startPushController(t *testing.T, o controllerOpts) *runningController {
	t.Helper()
	meta, err := metadata.NewForConfig(h.ctrlCfg)
	if err != nil {
		t.Fatal(err)
	}
	return h.runController(t, h.ctrlCfg, o, newMetrics(nil), func(c *Config) { c.Metadata = meta })
}

func (h *harness) getPushSecret(t *testing.T, ns, name string) *pushsecret.PushSecret {
	t.Helper()
	ps := &pushsecret.PushSecret{}
	if err := h.crd.Get(context.Background(), engine.ResourcePushSecrets, ns, name, ps); err != nil {
		t.Fatal(err)
	}
	return ps
}

// deletePushSecret deletes a PushSecret and waits until it is gone, its
// finalizer released by the controller.
func (h *harness) deletePushSecret(t *testing.T, ns, name string) {
	t.Helper()
	ctx := context.Background()
	if err := h.crd.Delete(ctx, h.getPushSecret(t, ns, name)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() (bool, string) {
		err := h.crd.Get(ctx, engine.ResourcePushSecrets, ns, name, &pushsecret.PushSecret{})
		return apierrors.IsNotFound(err), fmt.Sprintf("PushSecret %s still there: %v", name, err)
	})
}

func (h *harness) setSecretData(t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	ctx := context.Background()
	s, err := h.admin.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = h.admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: data}, metav1.CreateOptions{})
	} else if err == nil {
		s.Data, s.StringData = nil, data
		_, err = h.admin.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

const pushYAML = `
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: %s, namespace: %s}
spec:
  refreshInterval: %s
  deletionPolicy: Delete
  secretStoreRefs:
  - {name: %s, kind: SecretStore}
  selector:
    secret: {name: source}
  data:
  - match:
      secretKey: password
      remoteRef: {remoteKey: app/pushed, property: password}
  - match:
      remoteRef: {remoteKey: app/whole}
`

// A PushSecret writes a Secret's values to the store; an unchanged refresh
// reads and writes nothing; a changed Secret is pushed at once; it reads
// Secrets only in its own namespace; deleting it with deletionPolicy
// Delete deletes exactly what it pushed.
func TestPushSecretE2E(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	other := h.namespace(t, nil)
	ctrl := h.startPushController(t, controllerOpts{})
	mem := ctrl.mem
	mem.Set("app/kept", []byte("someone else's"))
	h.apply(t, storeYAML, "store", ns, "")
	h.setSecretData(t, ns, "source", map[string]string{"password": canary, "user": "admin"})
	h.setSecretData(t, other, "elsewhere", map[string]string{"password": "not yours"})
	since := time.Now()
	h.apply(t, pushYAML, "push", ns, "1s", "store")

	waitRemote := func(key, property, want string) {
		t.Helper()
		eventually(t, 20*time.Second, func() (bool, string) {
			v, ok := mem.Get(key)
			if !ok {
				return false, key + " not pushed"
			}
			got := string(v)
			if property != "" {
				var m map[string]string
				if err := json.Unmarshal(v, &m); err != nil {
					return false, err.Error()
				}
				got = m[property]
			}
			return got == want, fmt.Sprintf("%s %s is not what was pushed", key, property)
		})
	}
	waitRemote("app/pushed", "password", canary)
	waitRemote("app/whole", "user", "admin")
	eventually(t, 20*time.Second, func() (bool, string) {
		ps := h.getPushSecret(t, ns, "push")
		c := ps.Status.ReadyCondition()
		return c != nil && c.Reason == pushsecret.ReasonSynced && len(ps.Status.SyncedPushSecrets["SecretStore/"+ns+"/store"]) == 2,
			fmt.Sprintf("status %+v", ps.Status)
	})
	if ps := h.getPushSecret(t, ns, "push"); len(ps.Finalizers) != 1 || ps.Finalizers[0] != engine.PushFinalizer {
		t.Errorf("finalizers %v, want %s for deletionPolicy Delete", ps.Finalizers, engine.PushFinalizer)
	}

	// Unchanged refreshes every second: reads, no provider write, no
	// status write.
	time.Sleep(time.Second)
	writes, reads, from := mem.TotalWrites(), mem.Calls("app/pushed"), time.Now()
	time.Sleep(4 * time.Second)
	if got := mem.Calls("app/pushed") - reads; got < 3 {
		t.Errorf("%d reads of app/pushed in 4s of 1s refreshes; want one a second", got)
	}
	if got := mem.TotalWrites() - writes; got != 0 {
		t.Errorf("%d provider writes over unchanged refreshes; want 0", got)
	}
	if n, err := h.env.CountWrites("pushsecrets/status", ns, from); err != nil || n != 0 {
		t.Errorf("%d status writes over unchanged refreshes (%v); want 0", n, err)
	}

	// Hourly now: a change of the Secret is pushed through the watch.
	h.apply(t, pushYAML, "push", ns, "1h", "store")
	time.Sleep(time.Second)
	h.setSecretData(t, ns, "source", map[string]string{"password": "rotated", "user": "admin"})
	rotated := time.Now()
	waitRemote("app/pushed", "password", "rotated")
	t.Logf("a changed Secret was pushed %v after the change", time.Since(rotated))

	// The controller read Secrets for this PushSecret only in its
	// namespace.
	n, err := h.env.CountRequests(testenv.Requests{Verbs: []string{"get", "list", "watch"}, Resource: "secrets", Namespace: other, User: controllerUser, Since: since})
	if err != nil || n != 0 {
		t.Errorf("the controller made %d requests for Secrets in another namespace (%v)", n, err)
	}
	// One naming a Secret of another namespace finds nothing there.
	h.apply(t, `
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: cross, namespace: %s}
spec:
  secretStoreRefs: [{name: store}]
  selector: {secret: {name: elsewhere}}
  data: [{match: {secretKey: password, remoteRef: {remoteKey: app/cross}}}]
`, ns)
	eventually(t, 20*time.Second, func() (bool, string) {
		c := h.getPushSecret(t, ns, "cross").Status.ReadyCondition()
		return c != nil && c.Reason == pushsecret.ReasonErrored && strings.Contains(c.Message, "Secret "+ns+"/elsewhere does not exist"),
			fmt.Sprintf("condition %+v", c)
	})
	if _, ok := mem.Get("app/cross"); ok {
		t.Error("a Secret of another namespace was pushed")
	}
	h.deletePushSecret(t, ns, "cross")

	// Deletion removes what was pushed, and only that.
	h.deletePushSecret(t, ns, "push")
	for _, key := range []string{"app/pushed", "app/whole"} {
		if _, ok := mem.Get(key); ok {
			t.Errorf("%s is still in the store after the PushSecret with deletionPolicy Delete went", key)
		}
	}
	if v, ok := mem.Get("app/kept"); !ok || string(v) != "someone else's" {
		t.Error("a remote secret the PushSecret did not push was touched")
	}
}

// Against a real Vault: the same, plus a store change, which deletes
// nothing, and check-and-set writes.
func TestPushSecretVaultE2E(t *testing.T) {
	h := setup(t)
	v := vaulttest.StartForTest(t, vaulttest.Options{})
	ctx := context.Background()
	if err := v.Client.Sys().Mount("other", &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	ns := h.namespace(t, nil)
	h.startPushController(t, controllerOpts{providers: []provider.Provider{vault.New()}})
	h.setSecretData(t, ns, "vault-token", map[string]string{"token": v.RootToken})
	h.setSecretData(t, ns, "source", map[string]string{"password": canary, "user": "admin"})
	for _, s := range []struct{ name, path string }{{"vault-a", "secret"}, {"vault-b", "other"}} {
		h.apply(t, `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: %s, namespace: %s}
spec:
  provider:
    vault:
      server: %s
      path: %s
      version: v2
      checkAndSet: {required: true}
      auth:
        tokenSecretRef: {name: vault-token, key: token}
`, s.name, ns, v.Addr, s.path)
	}
	h.apply(t, pushYAML, "push", ns, "1s", "vault-a")

	read := func(mount, key string) (map[string]any, error) {
		s, err := v.Client.KVv2(mount).Get(ctx, key)
		if err != nil {
			return nil, err
		}
		return s.Data, nil
	}
	waitVault := func(mount, key, property, want string) {
		t.Helper()
		eventually(t, 20*time.Second, func() (bool, string) {
			d, err := read(mount, key)
			if err != nil {
				return false, err.Error()
			}
			return d[property] == want, fmt.Sprintf("%s/%s %s is not what was pushed", mount, key, property)
		})
	}
	waitVault("secret", "app/pushed", "password", canary)
	waitVault("secret", "app/whole", "user", "admin")

	time.Sleep(time.Second)
	count := func() int {
		n, err := v.Count("", "secret/data/app/")
		if err != nil {
			t.Fatal(err)
		}
		w, err := v.Count("update", "secret/data/app/")
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Count("create", "secret/data/app/")
		if err != nil {
			t.Fatal(err)
		}
		return n*1000 + w + c
	}
	before := count()
	time.Sleep(4 * time.Second)
	after := count()
	if reads := after/1000 - before/1000; reads < 3 {
		t.Errorf("%d requests to Vault in 4s of 1s refreshes; want a read a second", reads)
	}
	if writes := after%1000 - before%1000; writes != 0 {
		t.Errorf("%d writes to Vault over unchanged refreshes; want 0", writes)
	}

	// Moving the PushSecret to another store pushes there and deletes
	// nothing from the first.
	h.apply(t, pushYAML, "push", ns, "1s", "vault-b")
	waitVault("other", "app/pushed", "password", canary)
	waitVault("other", "app/whole", "user", "admin")
	if d, err := read("secret", "app/pushed"); err != nil || d["password"] != canary {
		t.Errorf("the first store lost what was pushed to it: %v", err)
	}
	if n, err := v.Count("delete", "secret/"); err != nil || n != 0 {
		t.Errorf("%d deletes in the first store (%v); want 0", n, err)
	}

	// Deleting the PushSecret deletes what it pushed to the store it
	// pushes to now, and nothing else.
	h.deletePushSecret(t, ns, "push")
	for _, key := range []string{"app/pushed", "app/whole"} {
		if _, err := read("other", key); err == nil {
			t.Errorf("other/%s is still there after the PushSecret with deletionPolicy Delete went", key)
		}
		if _, err := read("secret", key); err != nil {
			t.Errorf("secret/%s, pushed before the store change, was deleted: %v", key, err)
		}
	}
}

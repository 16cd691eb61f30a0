package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync/engine"
	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/vaulttest"
	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/vault"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/refresh"
)

// With 1,000 ExternalSecrets of which 10 read one key, a POST to the
// refresh endpoint saying the key changed brings the new value to those
// 10 Secrets at once, hours before their refresh interval, and only that
// key is read from the store.
func TestRefreshEndpointE2E(t *testing.T) {
	h := setup(t)
	ns := h.namespace(t, nil)
	const n, readers = 1000, 10
	// As run does: no client-side rate limit.
	cfg := rest.CopyConfig(h.ctrlCfg)
	cfg.QPS = -1
	ctrl := h.runController(t, cfg, controllerOpts{}, newMetrics(nil), func(c *Config) { c.Workers = 8 })
	admin := rest.CopyConfig(h.env.Config)
	admin.QPS = -1
	crd, err := engine.NewCRDClient(admin)
	if err != nil {
		t.Fatal(err)
	}
	mem := ctrl.mem
	mem.Set("hot", []byte("v1"))
	for i := readers; i < n; i++ {
		mem.Set(fmt.Sprintf("key-%d", i), []byte("cold"))
	}
	h.apply(t, "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: store, namespace: %s}\nspec:\n  provider:\n    fake: {data: []}\n", ns)
	ctx := context.Background()
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				key := fmt.Sprintf("key-%d", i)
				if i < readers {
					key = "hot"
				}
				// No periodic refresh: only the trigger reads again.
				es := &externalsecret.ExternalSecret{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("es-%d", i), Namespace: ns},
					Spec: externalsecret.ExternalSecretSpec{
						SecretStoreRef:  externalsecret.SecretStoreRef{Name: "store", Kind: "SecretStore"},
						RefreshInterval: &metav1.Duration{},
						Data:            []externalsecret.Data{{SecretKey: "v", RemoteRef: externalsecret.RemoteRef{Key: key}}},
					},
				}
				if err := crd.Create(ctx, es, "test"); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	eventually(t, 120*time.Second, func() (bool, string) {
		list, err := h.admin.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: reconcile.LabelManaged + "=true"})
		if err != nil {
			return false, err.Error()
		}
		return len(list.Items) == n, fmt.Sprintf("%d of %d Secrets written", len(list.Items), n)
	})
	// First syncs and their statuses settle before the measure.
	eventually(t, 120*time.Second, func() (bool, string) {
		b := gaugeSum(t, ctrl.metrics, "secretsync_workqueue_depth") + gaugeSum(t, ctrl.metrics, "secretsync_workqueue_unfinished_work_seconds")
		return b == 0, fmt.Sprintf("queues hold or work on %v", b)
	})
	time.Sleep(time.Second)

	handler, err := refresh.NewHandler(refresh.Config{Changed: ctrl.controller.engine.Changed, Token: []byte("t0ken")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)

	mem.ResetCalls()
	mem.Set("hot", []byte("v2"))
	body := fmt.Sprintf(`{"store": {"kind": "SecretStore", "namespace": %q, "name": "store"}, "keys": ["hot"]}`, ns)
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer t0ken")
	triggered := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct{ Refreshed int }
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || answer.Refreshed != readers {
		t.Fatalf("refresh answered %d, refreshed %d; want 202 and %d", resp.StatusCode, answer.Refreshed, readers)
	}
	fast, err := kubernetes.NewForConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		done := 0
		for i := 0; i < readers; i++ {
			if s, err := fast.CoreV1().Secrets(ns).Get(ctx, fmt.Sprintf("es-%d", i), metav1.GetOptions{}); err == nil && string(s.Data["v"]) == "v2" {
				done++
			}
		}
		if done == readers {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d Secrets have the new value 20 s after the trigger", done, readers)
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(triggered)
	waitIdle(t, ctrl.metrics)
	t.Logf("the rotation reached all %d Secrets %v after the trigger; provider calls: %d for the key, %d in all, with %d ExternalSecrets present",
		readers, took.Round(time.Millisecond), mem.Calls("hot"), mem.TotalCalls(), n)
	if took > 5*time.Second {
		t.Errorf("the rotation took %v after the trigger", took)
	}
	if mem.TotalCalls() != mem.Calls("hot") || mem.Calls("hot") != 1 {
		t.Errorf("provider calls: %d for the key, %d in all; want one read of the key, shared by its readers", mem.Calls("hot"), mem.TotalCalls())
	}
}

// The audit trail holds a record for each call to Vault that Vault's own
// audit log shows, with who asked and with which identity, and no value.
func TestAuditTrailE2E(t *testing.T) {
	h := setup(t)
	v := vaulttest.StartForTest(t, vaulttest.Options{})
	ctx := context.Background()
	if _, err := v.Client.KVv2("secret").Put(ctx, "app/db", map[string]any{"password": canary}); err != nil {
		t.Fatal(err)
	}
	ns := h.namespace(t, nil)
	var mu sync.Mutex
	var records []engine.Access
	ctrl := h.runController(t, h.ctrlCfg, controllerOpts{providers: []provider.Provider{vault.New()}}, newMetrics(nil), func(c *Config) {
		c.Audit = func(r engine.Access) { mu.Lock(); records = append(records, r); mu.Unlock() }
	})
	h.setSecretData(t, ns, "vault-token", map[string]string{"token": v.RootToken})
	h.setSecretData(t, ns, "source", map[string]string{"password": canary})
	h.apply(t, `
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault, namespace: %[1]s}
spec:
  provider:
    vault:
      server: %[2]s
      path: secret
      version: v2
      auth:
        tokenSecretRef: {name: vault-token, key: token}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: %[1]s}
spec:
  refreshInterval: 1s
  secretStoreRef: {name: vault, kind: SecretStore}
  target: {name: db}
  data:
  - secretKey: password
    remoteRef: {key: app/db, property: password}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: push, namespace: %[1]s}
spec:
  refreshInterval: 1s
  secretStoreRefs: [{name: vault, kind: SecretStore}]
  selector: {secret: {name: source}}
  data:
  - match: {secretKey: password, remoteRef: {remoteKey: app/pushed, property: password}}
`, ns, v.Addr)
	h.waitSecretData(t, ns, "db", "password", canary)
	time.Sleep(4 * time.Second)
	ctrl.stop()

	mu.Lock()
	defer mu.Unlock()
	count := func(resource, op, key string) int {
		n := 0
		for _, r := range records {
			if r.Resource == resource && r.Operation == op && r.Key == key && r.Result != "error" {
				n++
			}
		}
		return n
	}
	vaultCount := func(op, path string) int {
		n, err := v.Count(op, path)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Vault's audit log: reads of the secret's data path, by the
	// ExternalSecret and by the PushSecret's compare-before-write.
	reads := vaultCount("read", "secret/data/app/db")
	if got := count(externalsecret.Kind, "GetSecret", "app/db"); got != reads || got < 3 {
		t.Errorf("audit trail: %d reads of app/db; Vault's audit log: %d", got, reads)
	}
	pushReads := vaultCount("read", "secret/data/app/pushed")
	pushWrites := vaultCount("create", "secret/data/app/pushed") + vaultCount("update", "secret/data/app/pushed")
	// A push reads the secret itself before it writes the property.
	pushes := count("PushSecret", "PushSecret", "app/pushed property password")
	if got := count("PushSecret", "GetSecret", "app/pushed"); got+pushes != pushReads {
		t.Errorf("audit trail: %d PushSecret reads of app/pushed and %d pushes; Vault's audit log: %d reads", got, pushes, pushReads)
	}
	if pushes != 1 || pushWrites != 1 {
		t.Errorf("audit trail: %d pushes; Vault's audit log: %d writes", pushes, pushWrites)
	}
	raw, _ := json.Marshal(records)
	if strings.Contains(string(raw), canary) || strings.Contains(string(raw), v.RootToken) {
		t.Error("the audit trail holds a secret value")
	}
	for _, r := range records {
		if r.Namespace != ns || r.StoreRef != "SecretStore/"+ns+"/vault" || r.Identity != "vault/token secret="+ns+"/vault-token" {
			t.Errorf("record %+v lacks who, which store or which identity", r)
			break
		}
	}
	t.Logf("audit trail: %d records; ExternalSecret reads %d = Vault's %d; PushSecret reads %d = Vault's %d", len(records), count(externalsecret.Kind, "GetSecret", "app/db"), reads, count("PushSecret", "GetSecret", "app/pushed"), pushReads)
}

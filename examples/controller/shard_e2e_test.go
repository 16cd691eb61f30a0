//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/secretstore"
)

// Three replicas share 3,000 ExternalSecrets by UID on Leases. Each
// Secret is written by exactly one of them and each replica reads the
// store only for its own share. One is killed with SIGKILL: the other two
// take its share within the lease duration and one refresh, and no Secret
// is lost or emptied. A fourth joins and takes a share of its own without
// a write, and the next rotation writes each Secret once.
func TestE2EShardedReplicas(t *testing.T) {
	h := setup(t)
	dir := logDir(t, "secretsync-shard-")
	bin := buildController(t, dir)
	ns := h.namespace(t, nil)
	class := "shard-" + ns[:8]
	const (
		n       = 3000
		lease   = 6 * time.Second
		refresh = 10 * time.Second
	)
	ctx := context.Background()
	burst := h.unthrottled(t)

	key := func(i int) string { return fmt.Sprintf("key-%04d", i) }
	value := func(round, i int) string { return fmt.Sprintf(`{"round":%d,"n":%d,"token":%q}`, round, i, canary) }
	// round holds the round of each key's value in the store.
	round := make([]int, n)
	// setStore writes the store with each key at its round.
	setStore := func() {
		t.Helper()
		data := make([]secretstore.FakeProviderData, n)
		for i := range data {
			data[i] = secretstore.FakeProviderData{Key: key(i), Value: value(round[i], i)}
		}
		store := &secretstore.SecretStore{}
		err := burst.crd.rest.Get().Namespace(ns).Resource(resSecretStores).Name("store").Do(ctx).Into(store)
		switch {
		case err == nil:
			store.Spec.Provider.Fake.Data = data
			err = burst.crd.rest.Put().Namespace(ns).Resource(resSecretStores).Name("store").Body(store).Do(ctx).Error()
		default:
			store = &secretstore.SecretStore{
				ObjectMeta: metav1.ObjectMeta{Name: "store", Namespace: ns},
				Spec:       secretstore.Spec{Controller: class, Provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{Data: data}}},
			}
			err = burst.crd.rest.Post().Namespace(ns).Resource(resSecretStores).Body(store).Do(ctx).Error()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range round {
		round[i] = 1
	}
	setStore()

	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := h.env.WriteKubeconfig(kubeconfig, h.ctrlCfg); err != nil {
		t.Fatal(err)
	}
	// The Leases live where config/rbac lets the controller write them.
	group := "shard-" + ns[:8]
	start := func(id string) *controllerProcess {
		return startControllerProcess(t, bin, filepath.Join(dir, id+".log"),
			"--kubeconfig="+kubeconfig, "--namespace="+ns, "--controller-class="+class,
			"--shard-by=uid", "--shard-identity="+id, "--leader-election-namespace=secretsync-system",
			"--leader-election-id="+group, "--shard-lease-duration="+lease.String(),
			"--audit-log="+filepath.Join(dir, id+".audit"), "--v=5")
	}
	replicas := map[string]*controllerProcess{}
	for _, id := range []string{"r1", "r2", "r3"} {
		replicas[id] = start(id)
	}
	waitMembers := func(want int, ids ...string) {
		t.Helper()
		eventually(t, 30*time.Second, func() (bool, string) {
			for _, id := range ids {
				if got := replicas[id].metric(t, "secretsync_shard_members"); got != want {
					return false, fmt.Sprintf("%s sees %d members", id, got)
				}
			}
			return true, ""
		})
	}
	waitMembers(3, "r1", "r2", "r3")

	// Every Secret event from here on: none may delete or empty one.
	var mu sync.Mutex
	var lost []string
	w, err := h.admin.CoreV1().Secrets(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	go func() {
		for ev := range w.ResultChan() {
			s, ok := ev.Object.(*corev1.Secret)
			if ok && (ev.Type == watch.Deleted || len(s.Data) == 0) {
				mu.Lock()
				lost = append(lost, fmt.Sprintf("%s %s", ev.Type, s.Name))
				mu.Unlock()
			}
		}
	}()

	// allHold waits until every Secret holds the value of its key's
	// round, and returns how long that took.
	allHold := func(timeout time.Duration) time.Duration {
		t.Helper()
		began := time.Now()
		eventually(t, timeout, func() (bool, string) {
			list, err := h.admin.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err.Error()
			}
			right := 0
			for _, s := range list.Items {
				var i int
				if _, err := fmt.Sscanf(s.Name, "es-%04d", &i); err == nil && i < n && string(s.Data["value"]) == value(round[i], i) {
					right++
				}
			}
			return right == n, fmt.Sprintf("%d of %d Secrets hold their key's value", right, n)
		})
		return time.Since(began)
	}
	// writesOnce checks, in the apiserver's audit log, that want Secrets
	// were written since since, each exactly once.
	writesOnce := func(what string, since time.Time, want int) {
		t.Helper()
		var byName map[string]int
		eventually(t, 10*time.Second, func() (bool, string) {
			var err error
			byName, err = h.env.CountRequestsByName(testenv.Requests{Verbs: []string{"create", "update", "patch"}, Resource: "secrets", Namespace: ns, Since: since})
			if err != nil {
				t.Fatal(err)
			}
			return len(byName) >= want, fmt.Sprintf("%d Secrets written", len(byName))
		})
		total, twice := 0, 0
		for name, c := range byName {
			total += c
			if c > 1 {
				if twice++; twice <= 5 {
					t.Errorf("%s: Secret %s written %d times", what, name, c)
				}
			}
		}
		t.Logf("%s: %d Secret writes for %d Secrets, %d written more than once", what, total, len(byName), twice)
		if total != want || len(byName) != want {
			t.Errorf("%s: %d Secret writes for %d Secrets; want exactly %d, one each", what, total, len(byName), want)
		}
	}
	writes := func(ids ...string) map[string]int {
		out := map[string]int{}
		for _, id := range ids {
			out[id] = replicas[id].metric(t, "secretsync_secret_writes_total")
		}
		return out
	}

	// 1. The first sync, split three ways.
	since := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 16 {
				es := &externalsecret.ExternalSecret{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("es-%04d", i), Namespace: ns},
					Spec: externalsecret.ExternalSecretSpec{
						RefreshInterval: &metav1.Duration{Duration: refresh},
						SecretStoreRef:  externalsecret.SecretStoreRef{Name: "store", Kind: externalsecret.KindSecretStore},
						Target:          externalsecret.Target{Name: fmt.Sprintf("es-%04d", i)},
						Data:            []externalsecret.Data{{SecretKey: "value", RemoteRef: externalsecret.RemoteRef{Key: key(i)}}},
					},
				}
				if err := burst.crd.rest.Post().Namespace(ns).Resource(resExternalSecrets).Body(es).Do(ctx).Error(); err != nil {
					t.Errorf("create %s: %v", es.Name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	took := allHold(120 * time.Second)
	t.Logf("3 replicas: all %d Secrets right %v after the last create", n, took.Round(10*time.Millisecond))
	writesOnce("first sync", since, n)
	first := writes("r1", "r2", "r3")
	t.Logf("Secret writes per replica: %v", first)
	for id, c := range first {
		if c < n/6 {
			t.Errorf("%s wrote %d Secrets; want about a third of %d", id, c, n)
		}
	}
	// Each replica read the store only for its own share.
	readers := map[string]string{}
	for _, id := range []string{"r1", "r2", "r3"} {
		for _, name := range auditedReaders(t, filepath.Join(dir, id+".audit")) {
			if other, ok := readers[name]; ok && other != id {
				t.Errorf("ExternalSecret %s was read by %s and %s", name, other, id)
			}
			readers[name] = id
		}
	}
	if len(readers) != n {
		t.Errorf("the audit trails name %d ExternalSecrets; want %d", len(readers), n)
	}

	// 2. kill -9 one replica and rotate the values of its share: the
	// others take the share and sync it within the lease and one
	// refresh.
	replicas["r2"].kill()
	killed := time.Now()
	share := auditedReaders(t, filepath.Join(dir, "r2.audit"))
	for _, name := range share {
		var i int
		fmt.Sscanf(name, "es-%04d", &i)
		round[i] = 2
	}
	setStore()
	took = allHold(lease + refresh + 30*time.Second)
	t.Logf("r2 killed: the %d Secrets of its share hold the rotated values %v after the kill (lease %v + refresh %v)", len(share), took.Round(10*time.Millisecond), lease, refresh)
	if limit := lease + refresh + 8*time.Second; took > limit {
		t.Errorf("the share of the killed replica was synced %v after the kill; want within the lease and one refresh, %v (with 8s to write them on a busy machine)", took, limit)
	}
	writesOnce("rotation of the killed replica's share", killed, len(share))
	waitMembers(2, "r1", "r3")

	// 3. A fourth replica joins: it takes a share without a write.
	joined := time.Now()
	replicas["r4"] = start("r4")
	waitMembers(3, "r1", "r3", "r4")
	waitQuiet(t, func() float64 {
		total := 0
		for _, id := range []string{"r1", "r3", "r4"} {
			total += replicas[id].metric(t, "secretsync_workqueue_depth") + replicas[id].metric(t, "secretsync_workqueue_unfinished_work_seconds")
		}
		return float64(total)
	})
	if owned := replicas["r4"].metric(t, "secretsync_shard_externalsecrets"); owned < n/6 {
		t.Errorf("r4 owns %d ExternalSecrets; want about a third of %d", owned, n)
	}
	joinWrites, err := h.env.CountWrites("secrets", ns, joined)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("r4 joined and owns %d ExternalSecrets; %d Secret writes since it started", replicas["r4"].metric(t, "secretsync_shard_externalsecrets"), joinWrites)
	if joinWrites != 0 {
		t.Errorf("%d Secret writes after r4 joined, nothing having changed; want 0", joinWrites)
	}
	before := writes("r1", "r3", "r4")
	rotated := time.Now()
	for i := range round {
		round[i] = 3
	}
	setStore()
	took = allHold(60 * time.Second)
	writesOnce("rotation with r4", rotated, n)
	after := writes("r1", "r3", "r4")
	t.Logf("rotation with r1, r3, r4: all right in %v; Secret writes per replica before %v, after %v", took.Round(10*time.Millisecond), before, after)
	if after["r4"]-before["r4"] < n/6 {
		t.Errorf("r4 wrote %d of the rotated Secrets; want about a third", after["r4"]-before["r4"])
	}

	deletes, err := h.env.CountRequests(testenv.Requests{Verbs: []string{"delete", "deletecollection"}, Resource: "secrets", Namespace: ns, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if deletes != 0 || len(lost) != 0 {
		t.Errorf("%d Secret deletes and %d Secrets deleted or emptied: %v", deletes, len(lost), lost[:min(len(lost), 5)])
	}
	mu.Unlock()

	lines := 0
	for id, p := range replicas {
		if id != "r2" {
			p.stop()
		}
		lines += scanFileForCanary(t, p.log)
	}
	t.Logf("canary scan of the replicas' logs: %d lines", lines)
}

// auditedReaders returns the ExternalSecrets an audit trail records store
// reads for.
func auditedReaders(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct{ Resource, Name, Operation string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r.Resource == externalsecret.Kind && r.Operation == "GetSecret" && !seen[r.Name] {
			seen[r.Name] = true
			out = append(out, r.Name)
		}
	}
	return out
}

//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/testenv"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/secretstore"
)

// controllerProcess is the controller binary running against the test
// apiserver, its output in one log file.
type controllerProcess struct {
	cmd     *exec.Cmd
	log     string
	metrics string // base URL of /metrics and /readyz
	done    chan struct{}
}

// logDir returns a directory for controller processes' binaries and
// logs, removed after the test unless it fails.
func logDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the controllers' logs are in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}

// buildController builds this package's binary into dir.
func buildController(t *testing.T, dir string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build the controller: %v", err)
	}
	bin := filepath.Join(dir, "controller")
	start := time.Now()
	out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built the controller in %v", time.Since(start).Round(100*time.Millisecond))
	return bin
}

func startControllerProcess(t *testing.T, bin, logPath string, args ...string) *controllerProcess {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, append([]string{"run", "--leader-elect=false", "--metrics-addr=" + addr}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &controllerProcess{cmd: cmd, log: logPath, metrics: "http://" + addr, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	eventually(t, 60*time.Second, func() (bool, string) {
		select {
		case <-p.done:
			t.Fatalf("the controller exited; its log ends:\n%s", fileTail(logPath))
		default:
		}
		resp, err := http.Get(p.metrics + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return p
}

func (p *controllerProcess) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *controllerProcess) stop() { testenv.StopProcess(p.cmd, p.done, 10*time.Second) }

// metric sums the samples of name whose labels contain each of labels,
// written as `key="value"`.
func (p *controllerProcess) metric(t *testing.T, name string, labels ...string) int {
	t.Helper()
	resp, err := http.Get(p.metrics + "/metrics")
	if err != nil {
		t.Fatalf("scrape metrics: %v", err)
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
next:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			total += v
		}
	}
	return int(total)
}

func fileTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4<<10 {
		b = b[len(b)-4<<10:]
	}
	return string(b)
}

// scanFileForCanary fails t if a secret value shows in a log file.
func scanFileForCanary(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), canary) {
		t.Errorf("a secret value appears in the controller's log %s", path)
	}
	return strings.Count(string(b), "\n")
}

// The controller process is killed with SIGKILL in the middle of a burst
// of 1,000 first syncs, then started again: every Secret ends whole and
// owned by its ExternalSecret, none is created twice or deleted, the
// second process reads only what the first had not synced, and once all
// is synced nothing more is read or written.
func TestE2EKillDuringBurst(t *testing.T) {
	h := setup(t)
	dir := logDir(t, "secretsync-kill-")
	bin := buildController(t, dir)
	ns := h.namespace(t, nil)
	class := "kill-" + ns[:8]
	const n = 1000

	key := func(i int) string { return fmt.Sprintf("key-%04d", i) }
	value := func(i int) string { return fmt.Sprintf(`{"n":%d,"token":%q}`, i, canary) }
	data := make([]secretstore.FakeProviderData, n)
	for i := range data {
		data[i] = secretstore.FakeProviderData{Key: key(i), Value: value(i)}
	}
	store := &secretstore.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Name: "store", Namespace: ns},
		Spec:       secretstore.Spec{Controller: class, Provider: &secretstore.Provider{Fake: &secretstore.FakeProvider{Data: data}}},
	}
	ctx := context.Background()
	// The burst comes from clients without a client-side rate limit.
	burst := h.unthrottled(t).crd
	if err := h.crd.rest.Post().Namespace(ns).Resource(resSecretStores).Body(store).Do(ctx).Error(); err != nil {
		t.Fatal(err)
	}

	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := h.env.WriteKubeconfig(kubeconfig, h.ctrlCfg); err != nil {
		t.Fatal(err)
	}
	args := []string{"--kubeconfig=" + kubeconfig, "--namespace=" + ns, "--controller-class=" + class, "--v=4"}
	first := startControllerProcess(t, bin, filepath.Join(dir, "first.log"), args...)

	// The burst: 1,000 ExternalSecrets created by 16 clients at once.
	since := time.Now()
	var created atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				es := &externalsecret.ExternalSecret{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("es-%04d", i), Namespace: ns},
					Spec: externalsecret.ExternalSecretSpec{
						RefreshInterval: &metav1.Duration{Duration: time.Hour},
						SecretStoreRef:  externalsecret.SecretStoreRef{Name: "store", Kind: externalsecret.KindSecretStore},
						Target:          externalsecret.Target{Name: fmt.Sprintf("es-%04d", i)},
						Data:            []externalsecret.Data{{SecretKey: "value", RemoteRef: externalsecret.RemoteRef{Key: key(i)}}},
					},
				}
				if err := burst.rest.Post().Namespace(ns).Resource(resExternalSecrets).Body(es).Do(ctx).Error(); err != nil {
					t.Errorf("create %s: %v", es.Name, err)
					return
				}
				created.Add(1)
			}
		}()
	}

	// SIGKILL once a fifth of the Secrets are written.
	var written int
	eventually(t, 120*time.Second, func() (bool, string) {
		written = first.metric(t, "secretsync_secret_writes_total", `action="Create"`)
		return written >= n/5, fmt.Sprintf("%d Secrets written", written)
	})
	first.kill()
	killedAt := time.Now()
	createdAtKill := created.Load()
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if written >= n {
		t.Fatalf("the burst was over before the kill: %d Secrets written", written)
	}

	// What the first process left behind.
	before, err := h.admin.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uidAtKill := map[string]string{}
	for _, s := range before.Items {
		uidAtKill[s.Name] = string(s.UID)
	}
	var esList externalsecret.ExternalSecretList
	if err := h.crd.rest.Get().Namespace(ns).Resource(resExternalSecrets).Do(ctx).Into(&esList); err != nil {
		t.Fatal(err)
	}
	// synced counts the ExternalSecrets Ready for their current spec.
	synced := func(items []externalsecret.ExternalSecret) int {
		n := 0
		for _, es := range items {
			if c := es.Status.ReadyCondition(); c != nil && c.Status == corev1.ConditionTrue && es.Status.SyncedResourceVersion == es.SyncVersion() {
				n++
			}
		}
		return n
	}
	unsynced := len(esList.Items) - synced(esList.Items)
	t.Logf("killed with %d Secrets written (%d in the apiserver) and %d of %d ExternalSecrets created, %d not yet synced, %v after the burst began",
		written, len(before.Items), createdAtKill, n, unsynced, killedAt.Sub(since).Round(10*time.Millisecond))

	restarted := time.Now()
	second := startControllerProcess(t, bin, filepath.Join(dir, "second.log"), args...)
	eventually(t, 180*time.Second, func() (bool, string) {
		var list externalsecret.ExternalSecretList
		if err := h.crd.rest.Get().Namespace(ns).Resource(resExternalSecrets).Do(ctx).Into(&list); err != nil {
			return false, err.Error()
		}
		done := synced(list.Items)
		return done == n, fmt.Sprintf("%d of %d ExternalSecrets synced", done, n)
	})
	settled := time.Now()
	t.Logf("all %d synced %v after the restart", n, settled.Sub(restarted).Round(10*time.Millisecond))

	secrets, err := h.admin.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	esUID := map[string]string{}
	for _, es := range esList.Items {
		esUID[es.Name] = string(es.UID)
	}
	if len(secrets.Items) != n {
		t.Errorf("%d Secrets in the namespace; want exactly %d", len(secrets.Items), n)
	}
	bad := 0
	for _, s := range secrets.Items {
		var i int
		if _, err := fmt.Sscanf(s.Name, "es-%04d", &i); err != nil {
			t.Errorf("unexpected Secret %s", s.Name)
			continue
		}
		owners := s.OwnerReferences
		ok := len(s.Data) == 1 && string(s.Data["value"]) == value(i) &&
			len(owners) == 1 && owners[0].Kind == "ExternalSecret" && owners[0].Name == s.Name &&
			string(owners[0].UID) == esUID[s.Name] && owners[0].Controller != nil && *owners[0].Controller &&
			s.Labels[reconcile.LabelManaged] == "true"
		if uid, ok := uidAtKill[s.Name]; ok && uid != string(s.UID) {
			t.Errorf("Secret %s was deleted and created again", s.Name)
		}
		if !ok {
			if bad++; bad <= 5 {
				t.Errorf("Secret %s: keys %v, owners %v", s.Name, secretKeys(s.Data), owners)
			}
		}
	}
	if bad > 5 {
		t.Errorf("... and %d more Secrets are wrong", bad-5)
	}
	// The second process created exactly the Secrets missing at the kill,
	// and no one deleted any. (The first process's creates cut off by the
	// kill are logged as 504s whether or not they were stored, so only the
	// apiserver's contents say what it left.) The apiserver logs a request
	// after answering it: allow it a moment.
	missing := n - len(before.Items)
	var creates int
	eventually(t, 10*time.Second, func() (bool, string) {
		var err error
		creates, err = h.env.CountRequests(testenv.Requests{Verbs: []string{"create"}, Resource: "secrets", Namespace: ns, Code: http.StatusCreated, Since: restarted})
		if err != nil {
			t.Fatal(err)
		}
		return creates >= missing, fmt.Sprintf("%d Secret creates after the restart in the audit log", creates)
	})
	deletes, err := h.env.CountRequests(testenv.Requests{Verbs: []string{"delete", "deletecollection"}, Resource: "secrets", Namespace: ns, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the second process created the %d Secrets missing at the kill: %d creates", missing, creates)
	if creates != missing || deletes != 0 {
		t.Errorf("after the restart %d Secrets were created, and %d deleted in all; want the %d missing and 0", creates, deletes, missing)
	}

	// Refreshes fall on a grid of refreshInterval whose phase comes from
	// each ExternalSecret's UID; a few of 1,000 hourly ones fall in any
	// window of seconds. Count them exactly.
	scheduled := func(from, to time.Time) int {
		due := 0
		for i := range esList.Items {
			if !reconcile.NextRefresh(&esList.Items[i], from).After(to) {
				due++
			}
		}
		return due
	}

	// The second process read only what the first had not synced, and
	// what fell due meanwhile.
	reads := second.metric(t, "secretsync_provider_calls_total", `operation="GetSecret"`)
	due := scheduled(restarted, time.Now())
	t.Logf("the second process made %d reads for the %d ExternalSecrets the first left unsynced; %d refreshes fell due meanwhile", reads, unsynced, due)
	if reads > unsynced+due {
		t.Errorf("%d reads after the restart; want at most %d, one per ExternalSecret not synced at the kill or due since", reads, unsynced+due)
	}

	// No storm follows: once its queues are empty, only what falls due is
	// read, and nothing is written.
	waitQuiet(t, func() float64 {
		return float64(second.metric(t, "secretsync_workqueue_depth") + second.metric(t, "secretsync_workqueue_unfinished_work_seconds"))
	})
	quiet := time.Now()
	readsBefore := second.metric(t, "secretsync_provider_calls_total", `operation="GetSecret"`)
	time.Sleep(5 * time.Second)
	got := second.metric(t, "secretsync_provider_calls_total", `operation="GetSecret"`) - readsBefore
	// A refresh that fell due just before the window may be read in it.
	due = scheduled(quiet.Add(-time.Second), time.Now())
	t.Logf("%d reads in 5s once settled, %d refreshes due", got, due)
	if got > due {
		t.Errorf("%d reads in 5s once settled; want at most the %d refreshes due", got, due)
	}
	for _, res := range []string{"secrets", "externalsecrets", "externalsecrets/status"} {
		w, err := h.env.CountWrites(res, ns, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if w != 0 {
			t.Errorf("%d writes to %s in 5s after settling; want 0", w, res)
		}
	}

	second.stop()
	lines := scanFileForCanary(t, first.log) + scanFileForCanary(t, second.log)
	t.Logf("canary scan of the controller processes' logs (-v=4): %d lines, no secret value unless reported above", lines)
}

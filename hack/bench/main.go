//go:build linux

// Command bench measures the reference controller at scale against a real
// etcd and kube-apiserver (issue 9). For each layout of N ExternalSecrets
// (all in one namespace, or spread over many) it starts a fresh control
// plane and reports:
//
//   - (f) the raw ceiling: client-go creating N Secrets, no client-side
//     rate limit, at several concurrencies;
//   - (a) the first sync: creating N ExternalSecrets to every target
//     Secret holding the right data, seen by a watch, per ExternalSecret
//     and in all, and as a ratio to the best ceiling;
//   - (b) the controller's CPU per refresh period, peak RSS and Go heap;
//   - (c) provider reads per refresh period, for three ways of reading keys;
//   - (d) apiserver writes per refresh period when nothing changed, from
//     the audit log;
//   - (e) the latency from rotating keys in the stores to the Secrets
//     following.
//
// The controller is the examples/controller binary, run as a separate
// process under the ServiceAccount identity the shipped RBAC binds. Its
// provider is the fake store, whose values live in SecretStore specs.
//
// hack/bench.sh builds the binaries and runs it; see there. It is Linux
// only: it reads the controller's peak RSS from /proc.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/secretsync/secretsync/internal/testenv"
)

type options struct {
	binDir, controller, repo, out string
	n, unrelated, rotate, workers int
	layouts, ceiling              []int
	refresh, wait, timeout        time.Duration
	keepLogs                      bool
	controllerArgs                []string
}

func main() {
	var o options
	var layouts, ceiling, ctrlArgs string
	flag.StringVar(&o.binDir, "bin-dir", "", "directory holding kube-apiserver and etcd (hack/controlplane.sh prints it)")
	flag.StringVar(&o.controller, "controller", "", "the controller binary (go build ./examples/controller)")
	flag.StringVar(&o.repo, "repo", ".", "repository root, for config/")
	flag.StringVar(&o.out, "out", "bench/results", "directory for the JSON results; empty writes none")
	flag.IntVar(&o.n, "n", 1000, "ExternalSecrets")
	flag.StringVar(&layouts, "layouts", "1,100", "namespaces to spread them over, one layout each")
	flag.IntVar(&o.unrelated, "unrelated", 0, "unrelated 100 KiB Secrets to create before the controller starts")
	flag.StringVar(&ceiling, "ceiling", "1,8,32", "concurrencies of the raw Secret create ceiling")
	flag.IntVar(&o.rotate, "rotate", 100, "remote keys to rotate")
	flag.IntVar(&o.workers, "create-workers", 32, "goroutines creating ExternalSecrets")
	flag.DurationVar(&o.refresh, "refresh", 30*time.Second, "refreshInterval of the ExternalSecrets")
	flag.DurationVar(&o.wait, "wait", 10*time.Minute, "longest wait for a sync, a rotation or the controller to settle")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Hour, "longest the whole run may take")
	flag.BoolVar(&o.keepLogs, "keep-logs", false, "keep the controller's log, which is otherwise removed unless the run fails")
	flag.StringVar(&ctrlArgs, "controller-args", "", "more flags for `controller run`, space-separated; none means its defaults")
	flag.Parse()
	o.controllerArgs = strings.Fields(ctrlArgs)
	var err error
	if o.layouts, err = ints(layouts); err == nil {
		o.ceiling, err = ints(ceiling)
	}
	if err != nil || o.binDir == "" || o.controller == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: bench -bin-dir DIR -controller BIN [-n N] [-layouts 1,100] [-unrelated 5000] [flags]")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	err = run(ctx, o)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%q is not a list of positive numbers", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// report is what one run measured; it is written as JSON.
type report struct {
	Date            string         `json:"date"`
	Machine         machine        `json:"machine"`
	N               int            `json:"n"`
	Unrelated       int            `json:"unrelated_secrets"`
	UnrelatedBytes  int            `json:"unrelated_secret_bytes"`
	RefreshInterval string         `json:"refresh_interval"`
	ControllerArgs  []string       `json:"controller_args"`
	Layouts         []layoutResult `json:"layouts"`
}

type machine struct {
	CPUs        int    `json:"cpus"`
	CPUModel    string `json:"cpu_model"`
	MemoryBytes int64  `json:"memory_bytes"`
	GoVersion   string `json:"go_version"`
	Kernel      string `json:"kernel"`
	LoadStart   string `json:"loadavg_start"`
	LoadEnd     string `json:"loadavg_end"`
}

type layoutResult struct {
	Namespaces int             `json:"namespaces"`
	Stores     int             `json:"stores"`
	Ceiling    []ceilingResult `json:"ceiling"`
	// ESCeiling is creating the ExternalSecrets alone, which (a) includes;
	// StatusCeiling is then writing their status, once each, as a first
	// sync does.
	ESCeiling     ceilingResult `json:"externalsecret_create_ceiling"`
	StatusCeiling ceilingResult `json:"externalsecret_status_ceiling"`
	FirstSync     firstSync     `json:"first_sync"`
	Steady        []steady      `json:"steady"`
	Rotation      rotation      `json:"rotation"`
	Memory        memory        `json:"memory"`
}

type ceilingResult struct {
	Concurrency int      `json:"concurrency"`
	Seconds     float64  `json:"seconds"`
	PerSecond   float64  `json:"per_second"`
	CPU         cpuTimes `json:"cpu_seconds"`
}

type firstSync struct {
	CreateSeconds     float64  `json:"create_seconds"`
	TotalSeconds      float64  `json:"total_seconds"`
	PerExternalSecret latency  `json:"per_externalsecret"`
	Missing           int      `json:"missing"`
	RatioToCeiling    float64  `json:"ratio_to_best_ceiling"`
	CPU               cpuTimes `json:"cpu_seconds"`
	Controller        counts   `json:"controller"`
	// Events is how many Events about ExternalSecrets the cluster held
	// when the last Secret was right.
	Events int `json:"events"`
}

// counts are what the controller's counters rose by over an interval.
type counts struct {
	Reconciles   float64 `json:"reconciles"`
	SecretWrites float64 `json:"secret_writes"`
	SyncErrors   float64 `json:"sync_errors"`
}

func (c counts) String() string {
	return fmt.Sprintf("%.0f / %.0f / %.0f", c.Reconciles, c.SecretWrites, c.SyncErrors)
}

func countsBetween(m0, m1 samples) counts {
	d := func(name string, labels ...string) float64 { return m1.sum(name, labels...) - m0.sum(name, labels...) }
	return counts{
		Reconciles:   d("secretsync_reconcile_duration_seconds_count"),
		SecretWrites: d("secretsync_secret_writes_total"),
		SyncErrors:   d("secretsync_reconcile_duration_seconds_count", `result="error"`),
	}
}

type steady struct {
	Variant      string `json:"variant"`
	DistinctKeys int    `json:"distinct_remote_keys"`
	// Resync is how long rewriting every ExternalSecret's spec for this
	// variant took to show in the Secrets; zero for the first variant.
	ResyncSeconds  float64        `json:"resync_seconds,omitempty"`
	Resync         *latency       `json:"resync_per_externalsecret,omitempty"`
	ResyncMissing  int            `json:"resync_missing,omitempty"`
	ResyncCounts   *counts        `json:"resync_controller,omitempty"`
	ProviderCalls  float64        `json:"provider_calls_per_period"`
	Writes         map[string]int `json:"apiserver_writes_per_period"`
	CPU            cpuTimes       `json:"cpu_seconds_per_period"`
	RSSBytes       float64        `json:"controller_rss_bytes"`
	HeapAllocBytes float64        `json:"controller_heap_alloc_bytes"`
	// HeapGoalBytes is the heap size at which the next GC starts: twice the
	// live heap after the last GC, at the default GOGC=100.
	HeapGoalBytes float64 `json:"controller_heap_goal_bytes"`
}

type rotation struct {
	Keys    int `json:"keys"`
	Missing int `json:"missing"`
	latency
	// ProviderCalls are the reads from the store updates until the last
	// rotated Secret was right: a fake store's values live in its spec,
	// and a spec change makes every ExternalSecret of the store read again.
	ProviderCalls float64 `json:"provider_calls"`
}

type memory struct {
	IdleRSSBytes      float64 `json:"idle_rss_bytes"`
	PeakRSSBytes      int64   `json:"peak_rss_bytes"`
	PeakRSSEndBytes   int64   `json:"peak_rss_bytes_after_variants"`
	MaxHeapAllocBytes float64 `json:"max_heap_alloc_bytes"`
}

const unrelatedSize = 100 << 10

// The identity the shipped RBAC binds to the controller.
const controllerUser = "system:serviceaccount:secretsync-system:secretsync-controller"

var controllerGroups = []string{"system:serviceaccounts", "system:serviceaccounts:secretsync-system", "system:authenticated"}

var writeResources = []string{"secrets", "externalsecrets", "externalsecrets/status"}

func run(ctx context.Context, o options) error {
	rep := &report{
		Date:            time.Now().Format("2006-01-02"),
		Machine:         describeMachine(),
		N:               o.n,
		Unrelated:       o.unrelated,
		UnrelatedBytes:  unrelatedSize,
		RefreshInterval: o.refresh.String(),
		ControllerArgs:  o.controllerArgs,
	}
	logf("load average at start: %s", rep.Machine.LoadStart)
	for _, ns := range o.layouts {
		res, err := runLayout(ctx, o, ns)
		if err != nil {
			return fmt.Errorf("layout with %d namespaces: %w", ns, err)
		}
		rep.Layouts = append(rep.Layouts, res)
		rep.Machine.LoadEnd = loadavg()
		if err := write(o.out, rep); err != nil {
			return err
		}
	}
	logf("load average at end: %s", rep.Machine.LoadEnd)
	printTables(os.Stdout, rep)
	return nil
}

func runLayout(ctx context.Context, o options, namespaces int) (res layoutResult, err error) {
	res.Namespaces = namespaces
	logf("layout: %d ExternalSecrets in %d namespace(s); starting etcd and kube-apiserver", o.n, namespaces)
	env, err := testenv.Start(ctx, testenv.Options{BinDir: o.binDir})
	if err != nil {
		return res, err
	}
	defer env.Stop()
	c, err := newCluster(ctx, env, o.repo, o.n, namespaces, o.refresh)
	if err != nil {
		return res, err
	}
	res.Stores = o.n / c.group

	best := 0.0
	for _, w := range o.ceiling {
		logf("(f) creating %d Secrets at concurrency %d", o.n, w)
		cr, err := c.ceiling(ctx, w)
		if err != nil {
			return res, err
		}
		res.Ceiling = append(res.Ceiling, cr)
		if best == 0 || cr.Seconds < best {
			best = cr.Seconds
		}
	}
	logf("(f) creating %d ExternalSecrets and writing their status at concurrency %d, no controller running", o.n, o.workers)
	if res.ESCeiling, res.StatusCeiling, err = c.esCeiling(ctx, variants[0], o.workers); err != nil {
		return res, err
	}
	if o.unrelated > 0 {
		logf("creating %d unrelated %d KiB Secrets", o.unrelated, unrelatedSize>>10)
		if err := c.createUnrelated(ctx, o.unrelated, unrelatedSize); err != nil {
			return res, err
		}
	}

	work, err := os.MkdirTemp("", "secretsync-bench-")
	if err != nil {
		return res, err
	}
	defer func() {
		if err != nil || o.keepLogs {
			logf("controller log kept in %s", work)
			return
		}
		os.RemoveAll(work)
	}()
	ctrlCfg, err := env.UserConfig(controllerUser, controllerGroups...)
	if err != nil {
		return res, err
	}
	kubeconfig := filepath.Join(work, "controller.kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig, ctrlCfg); err != nil {
		return res, err
	}
	logf("starting the controller")
	ctrl, err := startController(o.controller, kubeconfig, filepath.Join(work, "controller.log"), o.controllerArgs)
	if err != nil {
		return res, err
	}
	defer ctrl.stop()
	ctx, cancel := context.WithCancel(ctx) // ends the heap sampler and the watch
	defer cancel()
	if err := ctrl.waitReady(ctx, time.Minute); err != nil {
		return res, err
	}
	m, err := ctrl.scrape()
	if err != nil {
		return res, err
	}
	res.Memory.IdleRSSBytes = m.sum("process_resident_memory_bytes")
	t, err := watchSecrets(ctx, c.kube)
	if err != nil {
		return res, err
	}
	if err := c.createStores(ctx); err != nil {
		return res, err
	}

	logf("(a) creating %d ExternalSecrets and waiting for their Secrets", o.n)
	cpu := sampleCPU()
	start := time.Now()
	if err := c.createExternalSecrets(ctx, variants[0], t, o.workers); err != nil {
		return res, err
	}
	res.FirstSync.CreateSeconds = time.Since(start).Seconds()
	took, last, missing, err := t.wait(ctx, o.wait, "first sync")
	if err != nil {
		return res, err
	}
	fs := &res.FirstSync
	fs.TotalSeconds, fs.PerExternalSecret, fs.Missing = last.Sub(start).Seconds(), summarise(took), missing
	fs.RatioToCeiling = last.Sub(start).Seconds() / best
	fs.CPU = sampleCPU().since(cpu)
	m1, err := ctrl.scrape()
	if err != nil {
		return res, err
	}
	fs.Controller = countsBetween(m, m1)
	if fs.Events, err = c.events(ctx); err != nil {
		return res, err
	}
	if err := ctrl.exited(); err != nil {
		return res, err
	}

	for i, v := range variants {
		s := steady{Variant: v.name, DistinctKeys: v.distinctKeys(o.n)}
		if i > 0 {
			logf("switching every ExternalSecret to %q", v.name)
			m0, err := ctrl.scrape()
			if err != nil {
				return res, err
			}
			start := time.Now()
			if err := c.switchVariant(ctx, v, t, o.workers); err != nil {
				return res, err
			}
			took, last, missing, err := t.wait(ctx, o.wait, "resync")
			if err != nil {
				return res, err
			}
			m1, err := ctrl.scrape()
			if err != nil {
				return res, err
			}
			l, n := summarise(took), countsBetween(m0, m1)
			s.ResyncSeconds, s.Resync, s.ResyncMissing, s.ResyncCounts = last.Sub(start).Seconds(), &l, missing, &n
		}
		if err := measureSteady(ctx, o, c, ctrl, &s); err != nil {
			return res, err
		}
		res.Steady = append(res.Steady, s)
		if i > 0 {
			continue
		}

		logf("(e) rotating %d remote keys", o.rotate)
		var keys []int
		for j := range o.rotate {
			keys = append(keys, j*(o.n/o.rotate))
		}
		c.rotate(keys)
		m0, err := ctrl.scrape()
		if err != nil {
			return res, err
		}
		start := time.Now()
		for _, k := range keys {
			t.expect(c.namespace(k), c.name(k), v.want(c, k), start)
		}
		if err := c.updateStores(ctx, keys); err != nil {
			return res, err
		}
		took, _, missing, err := t.wait(ctx, 2*o.refresh+time.Minute, "rotation")
		if err != nil {
			return res, err
		}
		m1, err := ctrl.scrape()
		if err != nil {
			return res, err
		}
		calls := `operation="GetSecret"`
		res.Rotation = rotation{Keys: len(keys), Missing: missing, latency: summarise(took),
			ProviderCalls: m1.sum("secretsync_provider_calls_total", calls) - m0.sum("secretsync_provider_calls_total", calls)}
		if res.Memory.PeakRSSBytes, err = ctrl.peakRSS(); err != nil {
			return res, err
		}
	}
	res.Memory.MaxHeapAllocBytes = ctrl.maxHeapAlloc()
	res.Memory.PeakRSSEndBytes, err = ctrl.peakRSS()
	return res, err
}

// measureSteady waits for every ExternalSecret to be synced, then measures
// one refresh period in which nothing changes.
func measureSteady(ctx context.Context, o options, c *cluster, ctrl *controller, s *steady) error {
	deadline := time.Now().Add(o.wait)
	for {
		n, err := c.unsynced(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d ExternalSecrets not synced after %v", n, o.wait)
		}
		if err := sleep(ctx, 2*time.Second); err != nil {
			return err
		}
	}
	// Status writes land a moment after the Secrets do.
	if err := sleep(ctx, 2*time.Second); err != nil {
		return err
	}
	logf("(b, c, d) measuring one %v refresh period: %s", o.refresh, s.Variant)
	m0, err := ctrl.scrape()
	if err != nil {
		return err
	}
	cpu := sampleCPU()
	t0 := time.Now()
	if err := sleep(ctx, o.refresh); err != nil {
		return err
	}
	m1, err := ctrl.scrape()
	if err != nil {
		return err
	}
	s.CPU = sampleCPU().since(cpu)
	s.Writes = map[string]int{}
	for _, r := range writeResources {
		if s.Writes[r], err = c.env.CountWrites(r, "", t0); err != nil {
			return err
		}
	}
	calls := `operation="GetSecret"`
	s.ProviderCalls = m1.sum("secretsync_provider_calls_total", calls) - m0.sum("secretsync_provider_calls_total", calls)
	s.RSSBytes = m1.sum("process_resident_memory_bytes")
	s.HeapAllocBytes = m1.sum("go_memstats_heap_alloc_bytes")
	s.HeapGoalBytes = m1.sum("go_memstats_next_gc_bytes")
	return ctrl.exited()
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

var started = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
}

func write(dir string, rep *report) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.json", rep.Date, rep.N))
	logf("writing %s", path)
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadStart: loadavg()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryBytes = kb << 10
		}
	}
	return m
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func printTables(w io.Writer, r *report) {
	mib := func(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }
	layout := func(l layoutResult) string {
		if l.Namespaces == 1 {
			return "1 namespace"
		}
		return fmt.Sprintf("%d namespaces", l.Namespaces)
	}
	fmt.Fprintf(w, "\nN = %d ExternalSecrets, refreshInterval %s, %d unrelated %d KiB Secrets; %d CPUs, load %s -> %s\n",
		r.N, r.RefreshInterval, r.Unrelated, r.UnrelatedBytes>>10, r.Machine.CPUs, r.Machine.LoadStart, r.Machine.LoadEnd)

	fmt.Fprintf(w, "\n(f) ceiling: writing %d objects with client-go, no client-side rate limit, no controller running\n\n", r.N)
	fmt.Fprintln(w, "| layout | objects | concurrency | time | per second | CPU s: apiserver / etcd / controller / bench |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, l := range r.Layouts {
		for _, c := range l.Ceiling {
			fmt.Fprintf(w, "| %s | Secrets | %d | %.2fs | %.0f | %s |\n", layout(l), c.Concurrency, c.Seconds, c.PerSecond, c.CPU)
		}
		c := l.ESCeiling
		fmt.Fprintf(w, "| %s | ExternalSecrets | %d | %.2fs | %.0f | %s |\n", layout(l), c.Concurrency, c.Seconds, c.PerSecond, c.CPU)
		c = l.StatusCeiling
		fmt.Fprintf(w, "| %s | ExternalSecret status updates | %d | %.2fs | %.0f | %s |\n", layout(l), c.Concurrency, c.Seconds, c.PerSecond, c.CPU)
	}

	fmt.Fprintf(w, "\n(a) first sync: creating %d ExternalSecrets until every Secret holds the right data\n\n", r.N)
	fmt.Fprintln(w, "| layout | create ESs | all Secrets right | per ES p50 | p99 | max | missing | ratio to best Secret ceiling | CPU s: apiserver / etcd / controller / bench | controller: reconciles / Secret writes / errors | Events |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, l := range r.Layouts {
		f := l.FirstSync
		fmt.Fprintf(w, "| %s | %.1fs | %.1fs | %.2fs | %.2fs | %.2fs | %d | %.2f× | %s | %s | %d |\n",
			layout(l), f.CreateSeconds, f.TotalSeconds, f.PerExternalSecret.P50, f.PerExternalSecret.P99, f.PerExternalSecret.Max,
			f.Missing, f.RatioToCeiling, f.CPU, f.Controller, f.Events)
	}

	fmt.Fprintf(w, "\n(b, c, d) one refresh period (%s) in steady state, nothing changing\n\n", r.RefreshInterval)
	fmt.Fprintln(w, "| layout | variant | resync after spec change | distinct keys | provider calls | writes: secrets / ES / ES status | CPU s: controller / apiserver | RSS | heap / GC goal |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, l := range r.Layouts {
		for _, s := range l.Steady {
			resync := "-"
			if s.Resync != nil {
				resync = fmt.Sprintf("%.1fs (p50 %.1fs, p99 %.1fs, %d missing; reconciles / Secret writes / errors %s)",
					s.ResyncSeconds, s.Resync.P50, s.Resync.P99, s.ResyncMissing, s.ResyncCounts)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %d | %.0f | %d / %d / %d | %.2f / %.2f | %s | %s / %s |\n",
				layout(l), s.Variant, resync, s.DistinctKeys, s.ProviderCalls,
				s.Writes["secrets"], s.Writes["externalsecrets"], s.Writes["externalsecrets/status"],
				s.CPU["controller"], s.CPU["kube-apiserver"], mib(s.RSSBytes), mib(s.HeapAllocBytes), mib(s.HeapGoalBytes))
		}
	}

	fmt.Fprintf(w, "\n(e) rotation and (b) memory\n\n")
	fmt.Fprintln(w, "| layout | rotated keys | p50 | p99 | max | missing | provider calls | idle RSS | peak RSS (VmHWM) | peak RSS after variants | max heap |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, l := range r.Layouts {
		ro, m := l.Rotation, l.Memory
		fmt.Fprintf(w, "| %s | %d | %.1fs | %.1fs | %.1fs | %d | %.0f | %s | %s | %s | %s |\n",
			layout(l), ro.Keys, ro.P50, ro.P99, ro.Max, ro.Missing, ro.ProviderCalls,
			mib(m.IdleRSSBytes), mib(float64(m.PeakRSSBytes)), mib(float64(m.PeakRSSEndBytes)), mib(m.MaxHeapAllocBytes))
	}
}

//go:build linux

// Command bench measures the reference controller at scale against a real
// etcd and kube-apiserver (issue 9). For each layout of N ExternalSecrets
// (all in one namespace, or spread over many) it starts a fresh control
// plane and reports:
//
//   - (f) the raw ceiling: client-go creating N Secrets, no client-side
//     rate limit, at several concurrencies; and, for the floor of a first
//     sync, creating N ExternalSecrets and writing each one's status once;
//   - (a) the first sync: creating N ExternalSecrets to every target
//     Secret holding the right data, seen by a watch, per ExternalSecret
//     and in all, and as a ratio to the best Secret ceiling;
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
// Every process's CPU time comes from /proc, so a table shows where the
// machine's time went. hack/bench.sh builds the binaries and runs it; see
// there. It is Linux only.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/secretsync/secretsync/internal/testenv"
)

type options struct {
	binDir, controller, repo, out string
	commit                        string
	n, unrelated, rotate, workers int
	layouts, ceiling              []int
	refresh, wait, timeout        time.Duration
	keepLogs, coldOnly            bool
	variants                      int
	heapProfile, cpuProfile       string
	apiserverProfile              string
	controllerArgs                []string
}

func main() {
	var o options
	var layouts, ceiling, ctrlArgs string
	flag.StringVar(&o.binDir, "bin-dir", "", "directory holding kube-apiserver and etcd (hack/controlplane.sh prints it)")
	flag.StringVar(&o.controller, "controller", "", "the controller binary (go build ./examples/controller)")
	flag.StringVar(&o.repo, "repo", ".", "repository root, for config/")
	flag.StringVar(&o.commit, "commit", "", "the commit the controller was built from, for the record")
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
	flag.BoolVar(&o.coldOnly, "cold-only", false, "skip the first sync from creates, the spec variants and the rotation: the ceilings, a controller starting over N existing ExternalSecrets, one quiet refresh period and memory; for an N the full run takes hours at")
	flag.IntVar(&o.variants, "variants", len(variants), "how many of the ways of reading keys to measure in steady state, in order")
	flag.BoolVar(&o.keepLogs, "keep-logs", false, "keep the controller's log, which is otherwise removed unless the run fails")
	flag.StringVar(&o.apiserverProfile, "apiserver-profile", "", "save CPU profiles of the apiserver in this directory, over the first seconds of each ceiling: what a Secret, an ExternalSecret and a status write cost it")
	flag.StringVar(&o.cpuProfile, "cpu-profile", "", "save the controller's CPU profile over the first 30 seconds of the controller start (a') to this file (prefixed with the layout)")
	flag.StringVar(&o.heapProfile, "heap-profile", "", "save the controller's heap profile in steady state to this file (prefixed with the layout); it then runs with --profiling")
	// The shipped Deployment (config/manager) limits the container to
	// 200Mi, from which the controller sets a soft limit of 65%; a
	// process outside a container sees no limit, so it is given here.
	flag.StringVar(&ctrlArgs, "controller-args", "--memory-limit=130Mi", "more flags for `controller run`, space-separated; the default sets the soft memory limit the shipped Deployment's 200Mi limit gives")
	var printFiles string
	flag.StringVar(&printFiles, "print", "", "print the tables of these JSON results, comma-separated, their layouts merged, and exit")
	flag.Parse()
	if printFiles != "" {
		if err := printResults(strings.Split(printFiles, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	// Profiling lets the bench force a GC before it reads the live heap.
	o.controllerArgs = append(strings.Fields(ctrlArgs), "--profiling")
	o.variants = min(max(o.variants, 1), len(variants))
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

// perLayout returns path with the layout's namespace count before its
// file name: one file per layout.
func perLayout(path string, namespaces int) string {
	return filepath.Join(filepath.Dir(path), fmt.Sprintf("%dns-%s", namespaces, filepath.Base(path)))
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

const unrelatedSize = 100 << 10

// The identity the shipped RBAC binds to the controller.
const controllerUser = "system:serviceaccount:secretsync-system:secretsync-controller"

var controllerGroups = []string{"system:serviceaccounts", "system:serviceaccounts:secretsync-system", "system:authenticated"}

var writeResources = []string{"secrets", "externalsecrets", "externalsecrets/status"}

func run(ctx context.Context, o options) error {
	rep := &report{
		Date:            time.Now().Format("2006-01-02"),
		Commit:          o.commit,
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
	if o.apiserverProfile != "" {
		c.profile = func(name string) string {
			return filepath.Join(o.apiserverProfile, fmt.Sprintf("%dns-apiserver-%s.pprof", namespaces, name))
		}
	}

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
	if o.coldOnly {
		if err := c.createStores(ctx); err != nil {
			return res, err
		}
		t, err := watchSecrets(ctx, c.kube)
		if err != nil {
			return res, err
		}
		res.ColdStart, err = coldStart(ctx, o, c, t, kubeconfig, filepath.Join(work, "controller-start.log"), best, best+res.StatusCeiling.Seconds, false, func(ctrl *controller) error {
			r := &layoutRun{o: o, c: c, ctrl: ctrl, t: t}
			s, err := r.steady(ctx, variants[0], false)
			res.Steady = append(res.Steady, s)
			if err == nil {
				res.Memory.PeakRSSBytes, err = ctrl.peakRSS()
				res.Memory.PeakRSSEndBytes = res.Memory.PeakRSSBytes
				res.Memory.MaxHeapAllocBytes = ctrl.maxHeapAlloc()
			}
			if err == nil && o.heapProfile != "" {
				path := perLayout(o.heapProfile, namespaces)
				if err = ctrl.saveHeapProfile(ctx, path); err == nil {
					logf("heap profile saved in %s", path)
				}
			}
			return err
		})
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

	r := &layoutRun{o: o, c: c, ctrl: ctrl, t: t}
	if res.FirstSync, err = r.firstSync(ctx); err != nil {
		return res, err
	}
	res.FirstSync.RatioToCeiling = res.FirstSync.TotalSeconds / best
	for i, v := range variants[:o.variants] {
		s, err := r.steady(ctx, v, i > 0)
		if err != nil {
			return res, err
		}
		res.Steady = append(res.Steady, s)
		if i > 0 {
			continue
		}
		if res.Rotation, err = r.rotation(ctx, v); err != nil {
			return res, err
		}
		if res.Memory.PeakRSSBytes, err = ctrl.peakRSS(); err != nil {
			return res, err
		}
		if o.heapProfile != "" {
			path := perLayout(o.heapProfile, namespaces)
			if err := ctrl.saveHeapProfile(ctx, path); err != nil {
				return res, err
			}
			logf("heap profile saved in %s", path)
		}
	}
	res.Memory.MaxHeapAllocBytes = ctrl.maxHeapAlloc()
	if res.Memory.PeakRSSEndBytes, err = ctrl.peakRSS(); err != nil {
		return res, err
	}

	ctrl.stop()
	res.ColdStart, err = coldStart(ctx, o, c, t, kubeconfig, filepath.Join(work, "controller-start.log"), best, best+res.StatusCeiling.Seconds, true, nil)
	return res, err
}

// coldStart is (a'): the same ExternalSecrets exist and a controller
// starts, as at an install or a move from another operator, where nothing
// else competes with the controller's writes. With reset, the
// ExternalSecrets and Secrets of an earlier phase are removed first. then,
// if set, runs with the started controller once every status is synced.
//
// floor is the time the apiserver took, with no controller, to write N
// Secrets at the best concurrency and N statuses: the least a controller
// can take to make every ExternalSecret Ready.
func coldStart(ctx context.Context, o options, c *cluster, t *tracker, kubeconfig, log string, best, floor float64, reset bool, then func(*controller) error) (*coldStartResult, error) {
	if reset {
		logf("(a') removing the ExternalSecrets and Secrets")
		if err := c.reset(ctx); err != nil {
			return nil, err
		}
	}
	logf("(a') creating %d ExternalSecrets with no controller running", o.n)
	start, err := c.createWithoutController(ctx, variants[0], t, o.workers)
	if err != nil {
		return nil, err
	}
	logf("(a') starting a controller")
	cpu := sampleCPU()
	started := time.Now()
	ctrl, err := startController(o.controller, kubeconfig, log, o.controllerArgs)
	if err != nil {
		return nil, err
	}
	defer ctrl.stop()
	profiled := make(chan error, 1)
	if o.cpuProfile != "" {
		path := perLayout(o.cpuProfile, len(c.nsNames))
		go func() {
			if err := ctrl.waitReady(ctx, time.Minute); err != nil {
				profiled <- err
				return
			}
			profiled <- ctrl.saveProfile(ctx, "profile?seconds=30", path)
		}()
	} else {
		profiled <- nil
	}
	took, last, missing, err := t.wait(ctx, o.wait, "controller start")
	if err != nil {
		return nil, err
	}
	cs := &coldStartResult{Missing: missing, SecretsSeconds: last.Sub(started).Seconds()}
	for i := range took {
		// Timed from the controller's start, not the create.
		took[i] = took[i] - started.Sub(start)
	}
	cs.PerExternalSecret = summarise(took)
	cs.RatioToCeiling = cs.SecretsSeconds / best
	if err := c.waitSynced(ctx, o.wait); err != nil {
		return nil, err
	}
	cs.StatusSeconds = time.Since(started).Seconds()
	cs.FloorSeconds, cs.ReadyRatioToFloor = floor, cs.StatusSeconds/floor
	if err := <-profiled; err != nil {
		return nil, fmt.Errorf("CPU profile: %w", err)
	}
	if cs.APIWrites, err = c.controllerSecretWrites(started); err != nil {
		return nil, err
	}
	cs.CPU = sampleCPU().since(cpu)
	if cs.PeakRSSBytes, err = ctrl.peakRSS(); err != nil {
		return nil, err
	}
	if then != nil {
		if err := then(ctrl); err != nil {
			return cs, err
		}
	}
	return cs, ctrl.exited()
}

// layoutRun is one layout with the controller running and the Secrets
// watched.
type layoutRun struct {
	o    options
	c    *cluster
	ctrl *controller
	t    *tracker
}

// firstSync creates the ExternalSecrets, reading the first variant, and
// waits for their Secrets.
func (r *layoutRun) firstSync(ctx context.Context) (fs firstSync, err error) {
	logf("(a) creating %d ExternalSecrets and waiting for their Secrets", r.o.n)
	m0, err := r.ctrl.scrape()
	if err != nil {
		return fs, err
	}
	cpu := sampleCPU()
	start := time.Now()
	if err := r.c.createExternalSecrets(ctx, variants[0], r.t, r.o.workers); err != nil {
		return fs, err
	}
	fs.CreateSeconds = time.Since(start).Seconds()
	took, last, missing, err := r.t.wait(ctx, r.o.wait, "first sync")
	if err != nil {
		return fs, err
	}
	fs.TotalSeconds, fs.PerExternalSecret, fs.Missing = last.Sub(start).Seconds(), summarise(took), missing
	fs.CPU = sampleCPU().since(cpu)
	m1, err := r.ctrl.scrape()
	if err != nil {
		return fs, err
	}
	fs.Controller = countsBetween(m0, m1)
	if fs.Events, err = r.c.events(ctx); err != nil {
		return fs, err
	}
	if err := r.c.waitSynced(ctx, r.o.wait); err != nil {
		return fs, err
	}
	if fs.APIWrites, err = r.c.controllerSecretWrites(start); err != nil {
		return fs, err
	}
	return fs, r.ctrl.exited()
}

// steady switches every ExternalSecret to variant v if resync is set,
// waits for them all to be synced, and then measures one refresh period
// in which nothing changes.
func (r *layoutRun) steady(ctx context.Context, v variant, resync bool) (s steady, err error) {
	s = steady{Variant: v.name, DistinctKeys: v.distinctKeys(r.o.n)}
	if resync {
		logf("switching every ExternalSecret to %q", v.name)
		m0, err := r.ctrl.scrape()
		if err != nil {
			return s, err
		}
		start := time.Now()
		if err := r.c.switchVariant(ctx, v, r.t, r.o.workers); err != nil {
			return s, err
		}
		took, last, missing, err := r.t.wait(ctx, r.o.wait, "resync")
		if err != nil {
			return s, err
		}
		m1, err := r.ctrl.scrape()
		if err != nil {
			return s, err
		}
		l, n := summarise(took), countsBetween(m0, m1)
		s.ResyncSeconds, s.Resync, s.ResyncMissing, s.ResyncCounts = last.Sub(start).Seconds(), &l, missing, &n
	}

	// Nothing changes once every ExternalSecret's status says it is synced
	// and the Events the syncs sent are all written, which takes a while
	// after a burst.
	settle := time.Now()
	events0 := -1
	for {
		n, err := r.c.unsynced(ctx)
		if err != nil {
			return s, err
		}
		events, err := r.c.events(ctx)
		if err != nil {
			return s, err
		}
		if n == 0 && events == events0 {
			break
		}
		events0 = events
		if time.Since(settle) > r.o.wait {
			return s, fmt.Errorf("not settled after %v: %d ExternalSecrets not synced, Events still being written", r.o.wait, n)
		}
		if err := sleep(ctx, 5*time.Second); err != nil {
			return s, err
		}
	}
	s.SettleSeconds = time.Since(settle).Seconds()

	logf("(b, c, d) measuring one %v refresh period: %s", r.o.refresh, v.name)
	m0, err := r.ctrl.scrape()
	if err != nil {
		return s, err
	}
	cpu := sampleCPU()
	t0 := time.Now()
	if err := sleep(ctx, r.o.refresh); err != nil {
		return s, err
	}
	m1, err := r.ctrl.scrape()
	if err != nil {
		return s, err
	}
	s.CPU = sampleCPU().since(cpu)
	s.Writes = map[string]int{}
	for _, res := range writeResources {
		if s.Writes[res], err = r.c.env.CountWrites(res, "", t0); err != nil {
			return s, err
		}
	}
	events1, err := r.c.events(ctx)
	if err != nil {
		return s, err
	}
	s.Events = events1 - events0
	s.ProviderCalls = providerCalls(m1) - providerCalls(m0)
	s.RSSBytes = m1.sum("process_resident_memory_bytes")
	s.HeapAllocBytes = m1.sum("go_memstats_heap_alloc_bytes")
	s.HeapGoalBytes = m1.sum("go_memstats_next_gc_bytes")
	// The live heap: what a forced GC leaves.
	if err := r.ctrl.gc(ctx); err != nil {
		return s, err
	}
	m2, err := r.ctrl.scrape()
	if err != nil {
		return s, err
	}
	s.LiveHeapBytes = m2.sum("go_memstats_heap_alloc_bytes")
	s.LiveHeapPerES = s.LiveHeapBytes / float64(r.o.n)
	return s, r.ctrl.exited()
}

// rotation gives o.rotate remote keys, spread over the stores, new values
// and times their Secrets following. The ExternalSecrets read variant v.
func (r *layoutRun) rotation(ctx context.Context, v variant) (rotation, error) {
	logf("(e) rotating %d remote keys", r.o.rotate)
	var keys []int
	for j := range r.o.rotate {
		keys = append(keys, j*(r.o.n/r.o.rotate))
	}
	r.c.rotate(keys)
	m0, err := r.ctrl.scrape()
	if err != nil {
		return rotation{}, err
	}
	start := time.Now()
	for _, k := range keys {
		r.t.expect(r.c.namespace(k), r.c.name(k), v.want(r.c, k), start)
	}
	if err := r.c.updateStores(ctx, keys); err != nil {
		return rotation{}, err
	}
	took, _, missing, err := r.t.wait(ctx, 2*r.o.refresh+time.Minute, "rotation")
	if err != nil {
		return rotation{}, err
	}
	m1, err := r.ctrl.scrape()
	if err != nil {
		return rotation{}, err
	}
	return rotation{Keys: len(keys), Missing: missing, latency: summarise(took), ProviderCalls: providerCalls(m1) - providerCalls(m0)}, nil
}

func providerCalls(m samples) float64 {
	return m.sum("secretsync_provider_calls_total", `operation="GetSecret"`)
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

//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// report is what one run measured; it is written as JSON.
type report struct {
	Date            string         `json:"date"`
	Commit          string         `json:"commit,omitempty"`
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
	ESCeiling     ceilingResult    `json:"externalsecret_create_ceiling"`
	StatusCeiling ceilingResult    `json:"externalsecret_status_ceiling"`
	FirstSync     firstSync        `json:"first_sync"`
	Steady        []steady         `json:"steady"`
	Rotation      rotation         `json:"rotation"`
	Memory        memory           `json:"memory"`
	ColdStart     *coldStartResult `json:"controller_start,omitempty"`
}

// coldStartResult is (a) measured from a controller's start, with the
// ExternalSecrets already created.
type coldStartResult struct {
	// SecretsSeconds is from the controller's start until every Secret
	// held the right data; StatusSeconds until every status said so too.
	SecretsSeconds    float64  `json:"secrets_seconds"`
	StatusSeconds     float64  `json:"status_seconds"`
	PerExternalSecret latency  `json:"per_externalsecret"`
	Missing           int      `json:"missing"`
	RatioToCeiling    float64  `json:"ratio_to_best_ceiling"`
	CPU               cpuTimes `json:"cpu_seconds"`
	PeakRSSBytes      int64    `json:"peak_rss_bytes"`
	// APIWrites are the controller's Secret writes in the audit log, until
	// every status was synced.
	APIWrites apiWrites `json:"apiserver_secret_writes"`
	// FloorSeconds is the best Secret ceiling plus the status ceiling of
	// the run, and ReadyRatioToFloor StatusSeconds over it.
	FloorSeconds      float64 `json:"floor_seconds"`
	ReadyRatioToFloor float64 `json:"ready_ratio_to_floor"`
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
	// APIWrites are the controller's Secret writes in the audit log, until
	// every status was synced.
	APIWrites apiWrites `json:"apiserver_secret_writes"`
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
	ResyncSeconds float64  `json:"resync_seconds,omitempty"`
	Resync        *latency `json:"resync_per_externalsecret,omitempty"`
	ResyncMissing int      `json:"resync_missing,omitempty"`
	ResyncCounts  *counts  `json:"resync_controller,omitempty"`
	// SettleSeconds is how long, after the last Secret was right, until
	// every status said synced and no more Events came.
	SettleSeconds float64        `json:"settle_seconds"`
	ProviderCalls float64        `json:"provider_calls_per_period"`
	Writes        map[string]int `json:"apiserver_writes_per_period"`
	// Events are the Events about ExternalSecrets created in the period:
	// writes too, though the audit log does not record them.
	Events         int      `json:"events_per_period"`
	CPU            cpuTimes `json:"cpu_seconds_per_period"`
	RSSBytes       float64  `json:"controller_rss_bytes"`
	HeapAllocBytes float64  `json:"controller_heap_alloc_bytes"`
	// HeapGoalBytes is the heap size at which the next GC starts: twice the
	// live heap after the last GC, at the default GOGC=100.
	HeapGoalBytes float64 `json:"controller_heap_goal_bytes"`
	// LiveHeapBytes is the heap a forced GC left at the end of the period,
	// and LiveHeapPerES that over N.
	LiveHeapBytes float64 `json:"controller_live_heap_bytes"`
	LiveHeapPerES float64 `json:"controller_live_heap_bytes_per_externalsecret"`
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

// printResults prints the tables of the JSON results in files, the
// layouts of the later ones after the first's.
func printResults(files []string) error {
	var rep *report
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r report
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if rep == nil {
			rep = &r
			continue
		}
		rep.Layouts = append(rep.Layouts, r.Layouts...)
		rep.Commit += ", " + r.Commit
		rep.Machine.LoadEnd = r.Machine.LoadEnd
	}
	if rep == nil {
		return errors.New("no results to print")
	}
	printTables(os.Stdout, rep)
	return nil
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
	fmt.Fprintf(w, "\nN = %d ExternalSecrets, refreshInterval %s, %d unrelated %d KiB Secrets; %d CPUs, load %s -> %s; commit %s\n",
		r.N, r.RefreshInterval, r.Unrelated, r.UnrelatedBytes>>10, r.Machine.CPUs, r.Machine.LoadStart, r.Machine.LoadEnd, r.Commit)

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
	fmt.Fprintln(w, "| layout | create ESs | all Secrets right | per ES p50 | p99 | max | missing | ratio to best Secret ceiling | CPU s: apiserver / etcd / controller / bench | controller: reconciles / Secret writes / errors | Events | apiserver: Secret writes (409 / 429) until all synced |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, l := range r.Layouts {
		f := l.FirstSync
		if f.TotalSeconds == 0 {
			continue // -cold-only
		}
		fmt.Fprintf(w, "| %s | %.1fs | %.1fs | %.2fs | %.2fs | %.2fs | %d | %.2f× | %s | %s | %d | %d (%d / %d) |\n",
			layout(l), f.CreateSeconds, f.TotalSeconds, f.PerExternalSecret.P50, f.PerExternalSecret.P99, f.PerExternalSecret.Max,
			f.Missing, f.RatioToCeiling, f.CPU, f.Controller, f.Events, f.APIWrites.Secrets, f.APIWrites.Conflicts, f.APIWrites.Throttled)
	}

	fmt.Fprintf(w, "\n(a') controller start: %d ExternalSecrets exist, a controller starts\n\n", r.N)
	fmt.Fprintln(w, "| layout | all Secrets right | per ES p50 | p99 | missing | ratio to best Secret ceiling | all statuses synced | floor: Secrets + statuses, no controller | Ready / floor | CPU s: apiserver / etcd / controller / bench | peak RSS | apiserver: Secret writes (409 / 429) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, l := range r.Layouts {
		if cs := l.ColdStart; cs != nil {
			fmt.Fprintf(w, "| %s | %.1fs | %.2fs | %.2fs | %d | %.2f× | %.1fs | %.1fs | %.2f× | %s | %s | %d (%d / %d) |\n",
				layout(l), cs.SecretsSeconds, cs.PerExternalSecret.P50, cs.PerExternalSecret.P99, cs.Missing, cs.RatioToCeiling,
				cs.StatusSeconds, cs.FloorSeconds, cs.ReadyRatioToFloor, cs.CPU, mib(float64(cs.PeakRSSBytes)), cs.APIWrites.Secrets, cs.APIWrites.Conflicts, cs.APIWrites.Throttled)
		}
	}

	fmt.Fprintf(w, "\n(b, c, d) one refresh period (%s) in steady state, nothing changing\n\n", r.RefreshInterval)
	fmt.Fprintln(w, "| layout | variant | resync after spec change | settle | distinct keys | provider calls | writes: secrets / ES / ES status / Events | CPU s: controller / apiserver | RSS | heap / GC goal | live heap after GC (per ES) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, l := range r.Layouts {
		for _, s := range l.Steady {
			resync := "-"
			if s.Resync != nil {
				resync = fmt.Sprintf("%.1fs (p50 %.1fs, p99 %.1fs, %d missing; reconciles / Secret writes / errors %s)",
					s.ResyncSeconds, s.Resync.P50, s.Resync.P99, s.ResyncMissing, s.ResyncCounts)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %.0fs | %d | %.0f | %d / %d / %d / %d | %.2f / %.2f | %s | %s / %s | %s (%.1f KiB) |\n",
				layout(l), s.Variant, resync, s.SettleSeconds, s.DistinctKeys, s.ProviderCalls,
				s.Writes["secrets"], s.Writes["externalsecrets"], s.Writes["externalsecrets/status"], s.Events,
				s.CPU["controller"], s.CPU["kube-apiserver"], mib(s.RSSBytes), mib(s.HeapAllocBytes), mib(s.HeapGoalBytes), mib(s.LiveHeapBytes), s.LiveHeapPerES/1024)
		}
	}

	fmt.Fprintf(w, "\n(e) rotation and (b) memory\n\n")
	fmt.Fprintln(w, "| layout | rotated keys | p50 | p99 | max | missing | provider calls | idle RSS | peak RSS (VmHWM) | peak RSS after variants | max heap |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, l := range r.Layouts {
		ro, m := l.Rotation, l.Memory
		if ro.Keys == 0 {
			fmt.Fprintf(w, "| %s | - | - | - | - | - | - | %s | %s | %s | %s |\n", layout(l),
				mib(m.IdleRSSBytes), mib(float64(m.PeakRSSBytes)), mib(float64(m.PeakRSSEndBytes)), mib(m.MaxHeapAllocBytes))
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %.1fs | %.1fs | %.1fs | %d | %.0f | %s | %s | %s | %s |\n",
			layout(l), ro.Keys, ro.P50, ro.P99, ro.Max, ro.Missing, ro.ProviderCalls,
			mib(m.IdleRSSBytes), mib(float64(m.PeakRSSBytes)), mib(float64(m.PeakRSSEndBytes)), mib(m.MaxHeapAllocBytes))
	}
}

package main

import (
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/util/workqueue"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/reconcile"
)

// metrics are the controller's Prometheus metrics. Labels name providers,
// operations and results, never keys or values.
type metrics struct {
	registry      *prometheus.Registry
	syncs         *prometheus.CounterVec
	reconcileTime *prometheus.HistogramVec
	providerCalls *prometheus.CounterVec
	secretWrites  *prometheus.CounterVec
	storeAccess   *prometheus.CounterVec
	refreshes     *prometheus.CounterVec
	shardMembers  prometheus.Gauge
	shardOwned    prometheus.Gauge
	statusLimit   prometheus.Gauge
	ready         atomic.Bool

	queueAdds, queueRetries       *prometheus.CounterVec
	queueDepth                    *prometheus.GaugeVec
	queueLatency, queueWork       *prometheus.HistogramVec
	queueUnfinished, queueLongest *prometheus.GaugeVec
}

// newMetrics registers the metrics in reg, or in a private registry when
// reg is nil.
func newMetrics(reg *prometheus.Registry) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		registry: reg,
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "secretsync_sync_total", Help: "ExternalSecret syncs by result (synced, error, deleted).",
		}, []string{"result"}),
		reconcileTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "secretsync_reconcile_duration_seconds", Help: "Time to reconcile one ExternalSecret.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"result"}),
		providerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "secretsync_provider_calls_total", Help: "Calls to providers by provider, operation and result.",
		}, []string{"provider", "operation", "result"}),
		secretWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "secretsync_secret_writes_total", Help: "Writes of Secrets by action.",
		}, []string{"action"}),
		storeAccess: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "secretsync_store_access_total", Help: "Calls to stores, as the audit trail records them, by store, the namespace of the ExternalSecret or PushSecret, operation and result.",
		}, []string{"store", "namespace", "operation", "result"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "secretsync_refresh_requests_total", Help: "Requests to the refresh endpoint by HTTP status code.",
		}, []string{"code"}),
		shardMembers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "secretsync_shard_members", Help: "Live members of the shard group as this replica sees them; 0 while it owns nothing.",
		}),
		shardOwned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "secretsync_shard_externalsecrets", Help: "ExternalSecrets this replica owned at the last change of the shard group.",
		}),
		statusLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "secretsync_status_write_limit", Help: "Deferred first-sync status writes allowed in flight, as the apiserver's latency and 429s set it.",
		}),
		queueDepth:      gauge("workqueue_depth", "Current depth of the workqueue."),
		queueAdds:       counter("workqueue_adds_total", "Items added to the workqueue."),
		queueRetries:    counter("workqueue_retries_total", "Retries handled by the workqueue."),
		queueUnfinished: gauge("workqueue_unfinished_work_seconds", "Seconds of work in progress."),
		queueLongest:    gauge("workqueue_longest_running_processor_seconds", "Longest running processor, in seconds."),
		queueLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "secretsync_workqueue_queue_duration_seconds", Help: "Time an item waits in the workqueue.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"name"}),
		queueWork: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "secretsync_workqueue_work_duration_seconds", Help: "Time to process an item of the workqueue.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"name"}),
	}
	reg.MustRegister(m.syncs, m.reconcileTime, m.providerCalls, m.secretWrites, m.storeAccess, m.refreshes, m.shardMembers, m.shardOwned, m.statusLimit,
		m.queueDepth, m.queueAdds, m.queueRetries, m.queueUnfinished, m.queueLongest, m.queueLatency, m.queueWork)
	return m
}

func gauge(name, help string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "secretsync_" + name, Help: help}, []string{"name"})
}

func counter(name, help string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "secretsync_" + name, Help: help}, []string{"name"})
}

func result(err error) string {
	switch {
	case err == nil:
		return "success"
	case errors.Is(err, provider.ErrNotFound):
		return "not_found"
	default:
		return "error"
	}
}

func (m *metrics) providerCall(name, op string, err error) {
	m.providerCalls.WithLabelValues(name, op, result(err)).Inc()
}

// cloudCall returns an observer of the Calls of the named provider. It
// counts each throttled attempt as "throttled", each other retried
// attempt as "retried", and the last by its result.
func (m *metrics) cloudCall(name string) func(provider.Call) {
	return func(c provider.Call) {
		op := c.Service + " " + c.Operation
		if c.Throttled > 0 {
			m.providerCalls.WithLabelValues(name, op, "throttled").Add(float64(c.Throttled))
		}
		if extra := c.Attempts - c.Throttled - 1; extra > 0 {
			m.providerCalls.WithLabelValues(name, op, "retried").Add(float64(extra))
		}
		m.providerCalls.WithLabelValues(name, op, result(c.Err)).Inc()
	}
}

func (m *metrics) observeReconcile(d time.Duration, err error) {
	m.reconcileTime.WithLabelValues(result(err)).Observe(d.Seconds())
}

func (m *metrics) observeSync(out reconcile.Output) {
	switch {
	case out.Err != nil:
		m.syncs.WithLabelValues("error").Inc()
	case out.Action == reconcile.ActionDelete:
		m.syncs.WithLabelValues("deleted").Inc()
	default:
		m.syncs.WithLabelValues("synced").Inc()
	}
}

func (m *metrics) setReady(ok bool) { m.ready.Store(ok) }

// handler serves /metrics, /healthz and /readyz.
func (m *metrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !m.ready.Load() {
			http.Error(w, "caches not synced", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	})
	return mux
}

// The workqueue reports through these.
var _ workqueue.MetricsProvider = &metrics{}

func (m *metrics) NewDepthMetric(name string) workqueue.GaugeMetric {
	return m.queueDepth.WithLabelValues(name)
}
func (m *metrics) NewAddsMetric(name string) workqueue.CounterMetric {
	return m.queueAdds.WithLabelValues(name)
}
func (m *metrics) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return m.queueLatency.WithLabelValues(name)
}
func (m *metrics) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return m.queueWork.WithLabelValues(name)
}
func (m *metrics) NewUnfinishedWorkSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return m.queueUnfinished.WithLabelValues(name)
}
func (m *metrics) NewLongestRunningProcessorSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return m.queueLongest.WithLabelValues(name)
}
func (m *metrics) NewRetriesMetric(name string) workqueue.CounterMetric {
	return m.queueRetries.WithLabelValues(name)
}

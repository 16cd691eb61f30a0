package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"

	"github.com/secretsync/secretsync/engine"
	kubeprovider "github.com/secretsync/secretsync/provider/kubernetes"
	"github.com/secretsync/secretsync/reconcile"
	"github.com/secretsync/secretsync/refresh"
	"github.com/secretsync/secretsync/rollout"
	rolloutcontroller "github.com/secretsync/secretsync/rollout/controller"
	"github.com/secretsync/secretsync/shard"
)

type runOptions struct {
	kubeconfig        string
	namespace         string
	controllerClass   string
	workers           int
	firstSyncWorkers  int
	statusWorkers     int
	profiling         bool
	verbosity         int
	metricsAddr       string
	leaderElect       bool
	leaseNamespace    string
	leaseName         string
	qps               float64
	burst             int
	denyUnconditioned bool
	rollout           bool
	rolloutCoalesce   time.Duration
	memoryLimit       string
	genericTargets    bool
	renewFraction     float64
	revokeGrace       time.Duration
	auditLog          string
	refreshAddr       string
	refreshTokenFile  string
	refreshHMACFile   string
	refreshRate       float64
	shardBy           string
	shardIdentity     string
	shardLease        time.Duration
}

func parseRunFlags(args []string) (*runOptions, error) {
	o := &runOptions{}
	fs := runFlags(o)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if o.workers < 1 {
		return nil, fmt.Errorf("--workers is %d; it must be at least 1", o.workers)
	}
	if o.firstSyncWorkers < 0 {
		return nil, fmt.Errorf("--first-sync-workers is %d; it must be 0, for the default, or more", o.firstSyncWorkers)
	}
	if o.renewFraction <= 0 || o.renewFraction >= 1 {
		return nil, fmt.Errorf("--generator-renew-fraction is %v; it must be between 0 and 1", o.renewFraction)
	}
	if _, ok := shard.ParseBy(o.shardBy); !ok {
		return nil, fmt.Errorf("--shard-by is %q; it must be namespace, uid or empty", o.shardBy)
	}
	if o.shardBy != "" && o.rollout && !o.leaderElect {
		return nil, errors.New("--rollout with --shard-by needs --leader-elect: one replica restarts workloads")
	}
	if o.shardBy != "" && o.shardLease < 3*time.Second {
		return nil, fmt.Errorf("--shard-lease-duration is %v; it must be at least 3s", o.shardLease)
	}
	if o.statusWorkers < 0 {
		return nil, fmt.Errorf("--status-workers is %d; it must be 0, for the default, or more", o.statusWorkers)
	}
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	if err := klogFlags.Set("v", strconv.Itoa(min(o.verbosity, maxClientGoVerbosity))); err != nil {
		return nil, err
	}
	return o, nil
}

// runFlags defines the flags of `run` on o. The Helm chart has a value
// for each (deploy/helm/secretsync/values.yaml), which chart_test.go
// checks.
func runFlags(o *runOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file; in-cluster config when empty")
	fs.StringVar(&o.namespace, "namespace", "", "watch only this namespace; all namespaces when empty")
	fs.StringVar(&o.controllerClass, "controller-class", "", "serve only stores whose spec.controller equals this")
	fs.IntVar(&o.workers, "workers", 16, "ExternalSecrets refreshed in parallel")
	fs.IntVar(&o.firstSyncWorkers, "first-sync-workers", 0, "ExternalSecrets synced for the first time in parallel, on a queue of their own; twice --workers when 0")
	fs.IntVar(&o.statusWorkers, "status-workers", 0, "most statuses of first syncs written in parallel once their Secrets are, the number following the apiserver's latency and 429s from a quarter of --workers; twice --workers when 0")
	fs.StringVar(&o.metricsAddr, "metrics-addr", ":8080", "address of /metrics, /healthz and /readyz; empty disables them")
	fs.BoolVar(&o.profiling, "profiling", false, "serve Go's profiles at /debug/pprof/ on --metrics-addr")
	fs.BoolVar(&o.leaderElect, "leader-elect", true, "elect a leader on a Lease, so several replicas can run")
	fs.StringVar(&o.leaseNamespace, "leader-election-namespace", defaultLeaseNamespace(), "namespace of the leader election Lease")
	fs.StringVar(&o.leaseName, "leader-election-id", "secretsync-controller", "name of the leader election Lease")
	fs.Float64Var(&o.qps, "kube-api-qps", 0, "queries per second to the apiserver; 0 sets no client-side limit: the workers bound the requests in flight and the apiserver's priority and fairness does the rest")
	fs.IntVar(&o.burst, "kube-api-burst", 0, "burst of queries to the apiserver, with --kube-api-qps")
	fs.BoolVar(&o.denyUnconditioned, "deny-unconditioned-cluster-stores", false, "a ClusterSecretStore without conditions admits no namespace")
	fs.BoolVar(&o.rollout, "rollout", false, "restart Deployments, StatefulSets and DaemonSets annotated "+rollout.AnnotationRestartOnSecretChange+" when the Secrets they read change")
	fs.DurationVar(&o.rolloutCoalesce, "rollout-coalesce", rolloutcontroller.DefaultCoalesce, "how long a workload waits after the first change to its Secrets before it rolls; a burst of changes shorter than this rolls it once")
	fs.StringVar(&o.memoryLimit, "memory-limit", "", "soft limit of the Go heap and runtime, such as 150Mi, or none; when empty, GOMEMLIMIT if set, else 65% of the container's memory limit")
	fs.BoolVar(&o.genericTargets, "unsafe-allow-generic-targets", false, "let ExternalSecrets write targets other than Secrets (spec.target.manifest): ConfigMaps and custom resources, which are not encrypted at rest as Secrets may be and which anyone who may read them reads the values in; the controller's RBAC must allow writing those kinds")
	fs.Float64Var(&o.renewFraction, "generator-renew-fraction", engine.DefaultRenewFraction, "fraction of a generated value's lifetime (a lease, a certificate, a token) after which it is made again")
	fs.DurationVar(&o.revokeGrace, "generator-revoke-grace", engine.DefaultRevokeGrace, "how long replaced generated values live on before they are revoked, so pods still using them are not cut off")
	fs.StringVar(&o.auditLog, "audit-log", "", "write the audit trail, one JSON record per call to a store (who, which key, which identity, the result; never a value), to this file, or - for standard output; off when empty")
	fs.StringVar(&o.refreshAddr, "refresh-addr", "", "address of the refresh endpoint (POST /refresh: store S, key K changed); off when empty")
	fs.StringVar(&o.refreshTokenFile, "refresh-token-file", "", "file holding the bearer token the refresh endpoint accepts, such as a key of a Secret mounted as a volume")
	fs.StringVar(&o.refreshHMACFile, "refresh-hmac-key-file", "", "file holding the key of the HMAC-SHA256 body signatures the refresh endpoint accepts (header X-Secretsync-Signature: sha256=<hex>)")
	fs.Float64Var(&o.refreshRate, "refresh-rate", 10, "requests a second the refresh endpoint serves, in bursts of twice as many")
	fs.StringVar(&o.shardBy, "shard-by", "", "split the ExternalSecrets between the replicas running, by namespace or uid, each replica syncing its share; empty runs one active replica, elected with --leader-elect")
	fs.StringVar(&o.shardIdentity, "shard-identity", hostname(), "this replica's name in the shard group (the pod name): a replica that comes back under it within --shard-lease-duration keeps its share")
	fs.DurationVar(&o.shardLease, "shard-lease-duration", 15*time.Second, "how long the share of a replica that stopped renewing its Lease waits before the others take it")
	fs.IntVar(&o.verbosity, "v", 0, "log verbosity; client-go's own request logging stops at "+strconv.Itoa(maxClientGoVerbosity)+": above it, it prints request and response bodies, and so Secret data")
	return fs
}

// maxClientGoVerbosity is the highest klog verbosity client-go runs at: at
// 8 and above it logs the bodies of requests and responses.
const maxClientGoVerbosity = 7

func defaultLeaseNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		return string(b)
	}
	return "secretsync-system"
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

func runCmd(ctx context.Context, args []string) error {
	o, err := parseRunFlags(args)
	if err != nil {
		return err
	}
	if _, err := logr.FromContext(ctx); err != nil {
		// The controller's own log, at the verbosity asked for; klog's
		// global verbosity, which client-go reads, is capped.
		ctx = klog.NewContext(ctx, textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(o.verbosity))))
	}
	logger := klog.FromContext(ctx)
	limit, err := setMemoryLimit(o.memoryLimit)
	if err != nil {
		return err
	}
	if limit > 0 {
		logger.Info("Set the Go runtime's soft memory limit", "bytes", limit)
	}
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst
	if o.qps <= 0 {
		cfg.QPS = -1 // client-go's "no rate limiter"
	}
	// Built-in types go as protobuf, which costs the apiserver and the
	// controller less to encode and decode than JSON; custom resources
	// have no protobuf form.
	kubeCfg := rest.CopyConfig(cfg)
	kubeCfg.ContentType = "application/vnd.kubernetes.protobuf"
	kubeCfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	kube, err := kubernetes.NewForConfig(kubeCfg)
	if err != nil {
		return err
	}
	crd, err := engine.NewCRDClient(cfg)
	if err != nil {
		return err
	}
	promReg := prometheus.NewRegistry()
	promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newMetrics(promReg)
	// Stores without a server.url read the cluster the controller runs
	// in: the provider keeps cfg's address and CA, never its credentials.
	reg, err := registry(m, kubeprovider.WithLocalCluster(cfg))
	if err != nil {
		return err
	}
	var dyn dynamic.Interface
	if o.genericTargets {
		logger.Info("Targets other than Secrets are allowed (--unsafe-allow-generic-targets): their values are stored unencrypted in the kinds ExternalSecrets name")
		if dyn, err = dynamic.NewForConfig(cfg); err != nil {
			return err
		}
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return err
	}
	gens, err := generatorRegistry(m)
	if err != nil {
		return err
	}
	audit, err := openAudit(o.auditLog, m)
	if err != nil {
		return fmt.Errorf("--audit-log: %w", err)
	}
	defer audit.Close()
	var members *shard.Membership
	if o.shardBy != "" {
		members, err = shard.New(shard.Config{
			Kube: kube, Namespace: o.leaseNamespace, Group: o.leaseName, Identity: o.shardIdentity,
			LeaseDuration: o.shardLease,
		})
		if err != nil {
			return err
		}
	}
	c, err := NewController(Config{
		Shard:            members,
		ShardBy:          shard.By(o.shardBy),
		Generators:       gens,
		Audit:            audit.record,
		RenewFraction:    o.renewFraction,
		RevokeGrace:      o.revokeGrace,
		Metadata:         meta,
		GenericTargets:   o.genericTargets,
		Dynamic:          dyn,
		Kube:             kube,
		CRD:              crd,
		Registry:         reg,
		Namespace:        o.namespace,
		Store:            reconcile.StoreOptions{ControllerClass: o.controllerClass, DenyUnconditioned: o.denyUnconditioned},
		Workers:          o.workers,
		FirstSyncWorkers: o.firstSyncWorkers,
		StatusWorkers:    o.statusWorkers,
		Metrics:          m,
	})
	if err != nil {
		return err
	}
	run := c.Run
	// elected runs on the elected replica only; with shards, every
	// replica syncs its share and only the rollout of workloads, which
	// watches them all, is elected.
	var elected func(context.Context) error
	if o.rollout {
		r := rolloutcontroller.New(rolloutcontroller.Config{Kube: kube, Metadata: meta, Namespace: o.namespace, Coalesce: o.rolloutCoalesce, Registerer: m.registry, QueueMetrics: m})
		elected = r.Run
		if members == nil {
			run = func(ctx context.Context) error { return runControllers(ctx, c.Run, r.Run) }
		}
	}

	if o.metricsAddr != "" {
		ln, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		logger.Info("Serving metrics and probes", "addr", ln.Addr().String())
		handler := m.handler()
		if o.profiling {
			mux := http.NewServeMux()
			mux.Handle("/", handler)
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
			handler = mux
		}
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}

	if o.refreshAddr != "" {
		srv, err := refreshServer(o, c, m)
		if err != nil {
			return err
		}
		// Only a replica that syncs knows who reads what: the endpoint
		// listens while it leads, or, with shards, on every replica for
		// the readers in its share, and a request to another replica is
		// refused, for its sender to retry.
		inner := run
		run = func(ctx context.Context) error {
			ln, err := net.Listen("tcp", o.refreshAddr)
			if err != nil {
				return fmt.Errorf("refresh endpoint: %w", err)
			}
			logger.Info("Serving the refresh endpoint", "addr", ln.Addr().String())
			go srv.Serve(ln)
			defer srv.Close()
			return inner(ctx)
		}
	}

	if members != nil {
		sharded := []func(context.Context) error{members.Run, run}
		if elected != nil {
			sharded = append(sharded, func(ctx context.Context) error { return elect(ctx, o, kube, elected) })
		}
		logger.Info("Sharding the ExternalSecrets with the other replicas", "by", o.shardBy, "identity", o.shardIdentity, "group", o.leaseName)
		return runControllers(ctx, sharded...)
	}
	if !o.leaderElect {
		return run(ctx)
	}
	return elect(ctx, o, kube, run)
}

// elect runs run while this replica holds the leader election Lease.
func elect(ctx context.Context, o *runOptions, kube kubernetes.Interface, run func(context.Context) error) error {
	logger := klog.FromContext(ctx)
	id, _ := os.Hostname()
	id += "_" + string(uuid.NewUUID())
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: o.leaseName, Namespace: o.leaseNamespace},
		Client:     kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	var runErr error
	leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
		Lock:            lock,
		ReleaseOnCancel: true,
		LeaseDuration:   15 * time.Second,
		RenewDeadline:   10 * time.Second,
		RetryPeriod:     2 * time.Second,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) { runErr = run(ctx) },
			OnStoppedLeading: func() { logger.Info("Leadership lost", "identity", id) },
			OnNewLeader: func(leader string) {
				if leader != id {
					logger.Info("Another replica leads", "leader", leader)
				}
			},
		},
	})
	if runErr == nil && ctx.Err() == nil {
		runErr = errors.New("leadership lost")
	}
	return runErr
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	if cfg, err := rest.InClusterConfig(); err == nil {
		return cfg, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
}

// refreshServer serves POST /refresh over the controller's engine, with
// the token and key the flags name.
func refreshServer(o *runOptions, c *Controller, m *metrics) (*http.Server, error) {
	read := func(flag, path string) ([]byte, error) {
		if path == "" {
			return nil, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		return bytes.TrimSpace(b), nil
	}
	token, err := read("--refresh-token-file", o.refreshTokenFile)
	if err != nil {
		return nil, err
	}
	key, err := read("--refresh-hmac-key-file", o.refreshHMACFile)
	if err != nil {
		return nil, err
	}
	h, err := refresh.NewHandler(refresh.Config{
		Changed: c.engine.Changed, Token: token, HMACKey: key,
		Rate: rate.Limit(o.refreshRate), Burst: max(1, int(2*o.refreshRate)),
		OnRequest: func(code, _ int) { m.refreshes.WithLabelValues(strconv.Itoa(code)).Inc() },
	})
	if err != nil {
		return nil, fmt.Errorf("--refresh-addr: %w (set --refresh-token-file or --refresh-hmac-key-file)", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/refresh", h)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}, nil
}

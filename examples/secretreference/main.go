// Command secretreference is an operator with a resource of its own, the
// SecretReference, that syncs secrets from external stores with the
// secretsync engine in its own process, and restarts the Deployments that
// read them when a value rotates.
package main

import (
	"context"
	"flag"
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/secretsync/secretsync/provider"
	"github.com/secretsync/secretsync/provider/fake"
	"github.com/secretsync/secretsync/provider/vault"
)

func main() {
	var (
		metricsAddr, probeAddr string
		leaderElect            bool
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "The address the metrics endpoint binds to; 0 turns it off.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "The address the health probes bind to; 0 turns them off.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader, so that one of several replicas syncs.")
	klog.InitFlags(nil)
	flag.Parse()
	ctrl.SetLogger(klog.NewKlogr())

	opts := ctrl.Options{
		Metrics:                 metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "secretreference.example.secretsync.io",
		LeaderElectionNamespace: os.Getenv("POD_NAMESPACE"),
	}
	if err := run(ctrl.SetupSignalHandler(), ctrl.GetConfigOrDie(), opts); err != nil {
		klog.ErrorS(err, "secretreference operator failed")
		os.Exit(1)
	}
}

// run runs the operator until ctx is done.
func run(ctx context.Context, cfg *rest.Config, opts ctrl.Options) error {
	registry, err := provider.NewRegistry(vault.New(), fake.New())
	if err != nil {
		return err
	}
	mgr, err := newManager(cfg, opts)
	if err != nil {
		return err
	}
	if err := addRollout(mgr); err != nil {
		return err
	}
	eng, err := setup(mgr, registry)
	if err != nil {
		return err
	}
	// Close revokes the provider tokens the engine holds, once the
	// controllers have stopped.
	defer eng.Close(context.WithoutCancel(ctx))
	return mgr.Start(ctx)
}

// Command demo shows secretsync working end to end on a throwaway control
// plane: it starts etcd and kube-apiserver, installs the CRDs and RBAC from
// config/, runs the reference controller as the ServiceAccount that RBAC
// binds, applies the manifests in examples/demo/, waits for their Secrets,
// rotates a value in the store and times how long the Secrets take to
// follow. It then stops everything and removes its temporary directories,
// also when it fails or is interrupted.
//
// It is what hack/demo.sh runs once it has the binaries:
//
//	demo -bin-dir DIR -controller BIN [-timeout 30s] [-keep]
//
// It needs no kubectl: it prints with its own client, and asks the
// apiserver for the same server-side tables kubectl would print. It never
// prints a secret value, only key names, sizes and data hashes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/rest"

	"github.com/secretsync/secretsync/externalsecret"
	"github.com/secretsync/secretsync/internal/kubeapply"
	"github.com/secretsync/secretsync/internal/testenv"
)

// The controller's identity: the ServiceAccount config/rbac binds, so the
// demo runs with exactly the permissions a deployment would have.
const controllerUser = "system:serviceaccount:secretsync-system:secretsync-controller"

var controllerGroups = []string{"system:serviceaccounts", "system:serviceaccounts:secretsync-system", "system:authenticated"}

// What examples/demo/ declares, and what the demo rotates.
const (
	demoNamespace = "demo"
	demoStore     = "demo-store"
	rotatedKey    = "demo/database"
	rotatedField  = "password"
)

type options struct {
	binDir     string
	controller string
	repo       string
	timeout    time.Duration
	keep       bool
}

// errInterrupted reports that a signal cut the demo short.
var errInterrupted = errors.New("interrupted")

func main() {
	var o options
	flag.StringVar(&o.binDir, "bin-dir", "", "directory holding kube-apiserver and etcd (the output of hack/controlplane.sh)")
	flag.StringVar(&o.controller, "controller", "", "the controller binary (go build ./examples/controller)")
	flag.StringVar(&o.repo, "repo", ".", "root of the secretsync repository, for config/ and examples/demo/")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for each step: the controller's caches, the first sync, the rotation")
	flag.BoolVar(&o.keep, "keep", false, "after the demo, keep the control plane and controller running until interrupted")
	flag.Parse()
	if o.binDir == "" || o.controller == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: demo -bin-dir DIR -controller BIN [-repo DIR] [-timeout D] [-keep]")
		os.Exit(2)
	}

	// The first SIGINT or SIGTERM cancels ctx, and the demo cleans up. Later
	// ones are caught and ignored: cleanup is bounded by the stop grace
	// periods, and a second Ctrl-C that killed the demo would leave its
	// temporary directories behind.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "\n==> Interrupted; cleaning up")
		cancel()
		for range sigs {
		}
	}()

	d := &demo{opts: o, out: os.Stdout, start: time.Now()}
	err := d.run(ctx)
	if ctx.Err() != nil && err != nil {
		err = errInterrupted
	}
	switch {
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(os.Stderr, "demo: interrupted; everything it started is stopped and its temporary files are removed")
		os.Exit(130)
	case err != nil:
		fmt.Fprintf(os.Stderr, "\ndemo: FAILED: %v\n", err)
		os.Exit(1)
	}
	d.step("Done in %s; everything is stopped and the temporary directories are removed", since(d.start))
}

type demo struct {
	opts  options
	out   io.Writer
	start time.Time
}

// step prints a progress line.
func (d *demo) step(format string, args ...any) {
	fmt.Fprintf(d.out, "==> "+format+"\n", args...)
}

// detail prints an indented line under a step.
func (d *demo) detail(format string, args ...any) {
	fmt.Fprintf(d.out, "    "+format+"\n", args...)
}

func since(t time.Time) string {
	d := time.Since(t)
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// run does the demo. Each resource it starts is stopped by a deferred call,
// so a failure or an interrupt at any point leaves nothing behind.
func (d *demo) run(ctx context.Context) (err error) {
	work, err := os.MkdirTemp("", "secretsync-demo-")
	if err != nil {
		return fmt.Errorf("create temp dir: %w", err)
	}
	defer os.RemoveAll(work)

	t := time.Now()
	env, err := testenv.Start(ctx, testenv.Options{BinDir: d.opts.binDir})
	if err != nil {
		return fmt.Errorf("start control plane: %w", err)
	}
	defer func() {
		t := time.Now()
		env.Stop()
		d.step("Stopped the control plane (%s)", since(t))
	}()
	d.step("Control plane (etcd + kube-apiserver) up at %s (%s)", env.Config.Host, since(t))

	t = time.Now()
	// The demo polls every 50ms, to time the controller closely; client-go's
	// default limit of 5 requests a second would throttle it.
	admin := rest.CopyConfig(env.Config)
	admin.QPS, admin.Burst = 200, 400
	applier, err := kubeapply.New(admin)
	if err != nil {
		return err
	}
	config := filepath.Join(d.opts.repo, "config")
	if err := applier.ApplyFiles(ctx,
		filepath.Join(config, "crd", "bases", "*.yaml"),
		filepath.Join(config, "manager", "namespace.yaml"),
		filepath.Join(config, "rbac", "*.yaml"),
	); err != nil {
		return fmt.Errorf("install config/: %w", err)
	}
	if err := applier.WaitForCRDs(ctx, externalsecret.SchemeGroupVersion, resExternalSecrets, resSecretStores, resClusterSecretStores); err != nil {
		return fmt.Errorf("wait for the CRDs to be served: %w", err)
	}
	d.step("Installed the CRDs, namespace secretsync-system and RBAC from config/ (%s)", since(t))

	c, err := newClients(admin)
	if err != nil {
		return err
	}

	t = time.Now()
	kubeconfig := filepath.Join(work, "controller.kubeconfig")
	userCfg, err := env.UserConfig(controllerUser, controllerGroups...)
	if err != nil {
		return err
	}
	if err := env.WriteKubeconfig(kubeconfig, userCfg); err != nil {
		return err
	}
	ctrl, err := startController(d.opts.controller, kubeconfig, filepath.Join(work, "controller.log"))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil && !errors.Is(err, errInterrupted) && ctx.Err() == nil {
			err = fmt.Errorf("%w\nthe controller's log ends:\n%s", err, ctrl.logTail())
		}
		t := time.Now()
		if stopErr := ctrl.stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
			return
		}
		d.step("Stopped the controller with SIGTERM; it exited cleanly (%s)", since(t))
	}()
	if err := ctrl.waitReady(ctx, d.opts.timeout); err != nil {
		return err
	}
	d.step("Controller running as %s, caches synced (%s)", controllerUser, since(t))
	d.detail("pid %d, metrics on http://%s/metrics, log %s", ctrl.cmd.Process.Pid, ctrl.metricsAddr, ctrl.logPath)

	t = time.Now()
	applied, err := applyDir(ctx, applier, filepath.Join(d.opts.repo, "examples", "demo"))
	if err != nil {
		return err
	}
	d.step("Applied examples/demo/ (%s)", since(t))
	for _, line := range applied {
		d.detail("%s", line)
	}

	t = time.Now()
	if err := d.waitSynced(ctx, c, ctrl); err != nil {
		return err
	}
	d.step("Every ExternalSecret synced (%s since applied)", since(t))
	fmt.Fprintln(d.out)
	if err := d.printTables(ctx, c); err != nil {
		return err
	}
	fmt.Fprintln(d.out)
	if err := d.printSecrets(ctx, c); err != nil {
		return err
	}
	fmt.Fprintln(d.out)

	if err := d.rotate(ctx, c, ctrl); err != nil {
		return err
	}

	if d.opts.keep {
		kc := filepath.Join(work, "admin.kubeconfig")
		if err := env.WriteKubeconfig(kc, env.Config); err != nil {
			return err
		}
		d.step("Still running (-keep); press Ctrl-C to stop. With kubectl:")
		d.detail("export KUBECONFIG=%s", kc)
		d.detail("kubectl get externalsecret,secretstore,secret -n %s", demoNamespace)
		select {
		case <-ctx.Done():
		case <-ctrl.done:
			return ctrl.exitedErr()
		}
		return nil
	}
	return nil
}

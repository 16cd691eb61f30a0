// Package testenv runs a real, local Kubernetes control plane — etcd and
// kube-apiserver, listening on 127.0.0.1 only — for integration tests and the
// demo.
//
// It is for exercising code against the real apiserver: RBAC is enforced,
// Secrets are stored in etcd, and an audit log lets tests count writes. It is
// not a cluster. There is no controller-manager, so ownerReference garbage
// collection never runs, namespaces stay Terminating once deleted, and no
// namespace gets a default ServiceAccount. Tests should check owner
// references rather than cascading deletes, and use a fresh namespace each.
//
// The binaries come from hack/controlplane.sh, which caches them outside the
// repository; see [BinDir]. Tests usually call [StartForTest]; programs call
// [Start] and [Env.Stop].
package testenv

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// BinDirEnv names the environment variable that points at a directory holding
// kube-apiserver and etcd, typically set to the output of hack/controlplane.sh.
const BinDirEnv = "SECRETSYNC_CONTROLPLANE_DIR"

// cacheSubdir is where hack/controlplane.sh puts the binaries under the cache
// root; the two must agree.
const cacheSubdir = "controlplane/k8s-v1.34.10-etcd-v3.6.4"

const (
	readyTimeout = 60 * time.Second
	pollInterval = 100 * time.Millisecond
	// stopGrace is how long a process gets to exit after SIGTERM. The data is
	// thrown away, so there is nothing to wait for beyond tidiness; an
	// apiserver with open watches would otherwise hold on for 20s.
	stopGrace = 3 * time.Second
)

// ErrNoBinaries reports that kube-apiserver or etcd was not found.
var ErrNoBinaries = errors.New("control-plane binaries not found")

// Options configures [Start]. The zero value is ready to use.
type Options struct {
	// BinDir is the directory holding kube-apiserver and etcd. If empty,
	// [BinDir] chooses it.
	BinDir string

	// Logf, if set, receives progress messages such as start-up timings.
	Logf func(format string, args ...any)
}

// Env is a running control plane. Stop it with [Env.Stop].
type Env struct {
	// Config authenticates as an administrator (group system:masters), which
	// bypasses RBAC.
	Config *rest.Config

	// Kubeconfig is the path of a kubeconfig file for Config, for scripts
	// and kubectl.
	Kubeconfig string

	// AuditLogPath is the apiserver's audit log: JSON lines at level Metadata
	// for Secrets and external-secrets.io resources. See [Env.CountWrites].
	AuditLogPath string

	// Dir is the temporary directory holding etcd's data, certificates, and
	// each process's stdout and stderr logs. Stop removes it.
	Dir string

	ca       *authority
	etcd     *process
	stopOnce sync.Once

	// apiserverCmd is the apiserver's binary and arguments, to start it
	// again after StopAPIServer or KillAPIServer.
	apiserverCmd []string

	mu        sync.Mutex // guards apiserver
	apiserver *process
}

// BinDir returns the directory to take kube-apiserver and etcd from, and
// whether both are there. It is $SECRETSYNC_CONTROLPLANE_DIR if set, or else
// the cache directory hack/controlplane.sh fills:
// ${SECRETSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/secretsync}/controlplane/k8s-v1.34.10-etcd-v3.6.4.
func BinDir() (string, bool) {
	dir := os.Getenv(BinDirEnv)
	if dir == "" {
		dir = filepath.Join(CacheRoot(), filepath.FromSlash(cacheSubdir))
	}
	return dir, hasBinaries(dir)
}

// CacheRoot is the directory the hack/ scripts cache builds in:
// ${SECRETSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/secretsync}.
func CacheRoot() string {
	if root := os.Getenv("SECRETSYNC_CACHE"); root != "" {
		return root
	}
	// Not os.UserCacheDir: on macOS that is ~/Library/Caches, and the script
	// uses ~/.cache everywhere.
	if xdg := os.Getenv("XDG_CACHE_HOME"); xdg != "" {
		return filepath.Join(xdg, "secretsync")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "secretsync")
}

func hasBinaries(dir string) bool {
	for _, name := range []string{"kube-apiserver", "etcd"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// StartForTest starts an Env for t and stops it when t finishes. If the
// binaries are absent it skips t, except when $CI is set: there it fails t, so
// CI never skips integration tests unnoticed.
func StartForTest(t testing.TB) *Env {
	t.Helper()
	dir, ok := BinDir()
	if !ok {
		msg := fmt.Sprintf("kube-apiserver and etcd not found in %s: run hack/controlplane.sh, or set %s", dir, BinDirEnv)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	env, err := Start(context.Background(), Options{BinDir: dir, Logf: t.Logf})
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	t.Cleanup(func() {
		if p := env.apiserverProcess(); t.Failed() && p != nil {
			t.Logf("kube-apiserver stderr ends:\n%s", p.stderrTail())
		}
		env.Stop()
	})
	return env
}

// Start runs etcd and kube-apiserver in a new temporary directory and returns
// once the apiserver's /readyz reports ok, or after a minute with an error
// that includes the end of the apiserver's log. ctx bounds start-up only; the
// processes run until [Env.Stop].
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	binDir := opts.BinDir
	if binDir == "" {
		binDir, _ = BinDir()
	}
	if !hasBinaries(binDir) {
		return nil, fmt.Errorf("%w in %s: run hack/controlplane.sh, or set %s", ErrNoBinaries, binDir, BinDirEnv)
	}

	dir, err := os.MkdirTemp("", "secretsync-testenv-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	e := &Env{Dir: dir}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()

	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]

	start := time.Now()
	if err := e.startEtcd(ctx, binDir, etcdClient, etcdPeer); err != nil {
		return nil, err
	}
	etcdReady := time.Now()
	logf("testenv: etcd ready in %v", etcdReady.Sub(start).Round(time.Millisecond))

	if err := e.startAPIServer(ctx, binDir, etcdClient, apiPort); err != nil {
		return nil, err
	}
	logf("testenv: kube-apiserver ready in %v (total %v)",
		time.Since(etcdReady).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return e, nil
}

func (e *Env) startEtcd(ctx context.Context, binDir string, clientPort, peerPort int) error {
	client := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	p, err := startProcess(e.Dir, "etcd", filepath.Join(binDir, "etcd"),
		"--data-dir="+filepath.Join(e.Dir, "etcd-data"),
		"--listen-client-urls="+client,
		"--advertise-client-urls="+client,
		"--listen-peer-urls="+peer,
		"--initial-advertise-peer-urls="+peer,
		"--initial-cluster=default="+peer,
		"--unsafe-no-fsync=true",
	)
	if err != nil {
		return err
	}
	e.etcd = p
	return waitReady(ctx, p, http.DefaultClient, client+"/health", func(body []byte) bool {
		var health struct{ Health string }
		return json.Unmarshal(body, &health) == nil && health.Health == "true"
	})
}

func (e *Env) startAPIServer(ctx context.Context, binDir string, etcdPort, port int) error {
	path := func(name string) string { return filepath.Join(e.Dir, name) }

	ca, err := newAuthority()
	if err != nil {
		return err
	}
	e.ca = ca
	servingCert, servingKey, err := ca.issue(pkix.Name{CommonName: "kube-apiserver"}, x509.ExtKeyUsageServerAuth,
		[]net.IP{net.IPv4(127, 0, 0, 1)}, []string{"localhost"})
	if err != nil {
		return err
	}
	adminCert, adminKey, err := ca.clientCert("secretsync-testenv-admin", []string{"system:masters"})
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"ca.crt":            ca.certPEM,
		"apiserver.crt":     servingCert,
		"apiserver.key":     servingKey,
		"audit-policy.yaml": []byte(auditPolicy),
	}
	for name, data := range files {
		if err := os.WriteFile(path(name), data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	if err := writeServiceAccountKeys(path("sa.key"), path("sa.pub")); err != nil {
		return err
	}

	host := "https://127.0.0.1:" + strconv.Itoa(port)
	e.AuditLogPath = path("audit.log")
	e.apiserverCmd = []string{filepath.Join(binDir, "kube-apiserver"),
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(etcdPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + path("certs"),
		"--tls-cert-file=" + path("apiserver.crt"),
		"--tls-private-key-file=" + path("apiserver.key"),
		"--client-ca-file=" + path("ca.crt"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=" + host + "/",
		"--service-account-key-file=" + path("sa.pub"),
		"--service-account-signing-key-file=" + path("sa.key"),
		// Without a controller-manager no namespace has a default
		// ServiceAccount, which this plugin would require of every Pod.
		"--disable-admission-plugins=ServiceAccount",
		"--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--audit-policy-file=" + path("audit-policy.yaml"),
		"--audit-log-path=" + e.AuditLogPath,
		"--audit-log-format=json",
	}
	p, err := startProcess(e.Dir, "kube-apiserver", e.apiserverCmd[0], e.apiserverCmd[1:]...)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.apiserver = p
	e.mu.Unlock()

	e.Config = &rest.Config{
		Host: host,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   ca.certPEM,
			CertData: adminCert,
			KeyData:  adminKey,
		},
	}
	e.Kubeconfig = path("kubeconfig")
	if err := e.WriteKubeconfig(e.Kubeconfig, e.Config); err != nil {
		return err
	}

	return e.waitAPIServer(ctx, p)
}

// waitAPIServer waits until p, the apiserver, reports ready.
func (e *Env) waitAPIServer(ctx context.Context, p *process) error {
	hc, err := rest.HTTPClientFor(e.Config)
	if err != nil {
		return fmt.Errorf("build admin HTTP client: %w", err)
	}
	return waitReady(ctx, p, hc, e.Config.Host+"/readyz", func(body []byte) bool {
		return string(body) == "ok"
	})
}

func (e *Env) apiserverProcess() *process {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.apiserver
}

// StopAPIServer stops kube-apiserver as [Env.Stop] does, with SIGTERM and a
// few seconds' grace, and leaves etcd running, so [Env.StartAPIServer] can
// bring it back on the same port, with the same certificates and data.
// Clients see connections refused meanwhile. It does nothing if the
// apiserver is not running.
func (e *Env) StopAPIServer() {
	if p := e.apiserverProcess(); p != nil {
		p.stop(stopGrace)
	}
}

// KillAPIServer is [Env.StopAPIServer] with SIGKILL: the apiserver ends at
// once, as in a crash, with requests and watches cut off mid-flight.
func (e *Env) KillAPIServer() {
	if p := e.apiserverProcess(); p != nil {
		p.kill()
	}
}

// StartAPIServer starts kube-apiserver again after [Env.StopAPIServer] or
// [Env.KillAPIServer], with the same flags, and returns once it is ready.
// The previous run's logs are kept beside the new ones with a ".1" suffix.
// It is an error to call it while the apiserver runs.
func (e *Env) StartAPIServer(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.apiserver != nil && e.apiserver.exited() == nil {
		return errors.New("kube-apiserver is running")
	}
	for _, name := range []string{"kube-apiserver.stdout.log", "kube-apiserver.stderr.log"} {
		_ = os.Rename(filepath.Join(e.Dir, name), filepath.Join(e.Dir, name+".1"))
	}
	p, err := startProcess(e.Dir, "kube-apiserver", e.apiserverCmd[0], e.apiserverCmd[1:]...)
	if err != nil {
		return err
	}
	e.apiserver = p
	return e.waitAPIServer(ctx, p)
}

// RestartAPIServer stops kube-apiserver with [Env.StopAPIServer] and starts
// it again with [Env.StartAPIServer].
func (e *Env) RestartAPIServer(ctx context.Context) error {
	e.StopAPIServer()
	return e.StartAPIServer(ctx)
}

// waitReady polls url until ok accepts a 200 response's body, p exits, or
// readyTimeout passes.
func waitReady(ctx context.Context, p *process, hc *http.Client, url string, ok func(body []byte) bool) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var last string
	for {
		if err := p.exited(); err != nil {
			return err
		}
		status, body, err := get(ctx, hc, url)
		switch {
		case err != nil:
			last = err.Error()
		case status == http.StatusOK && ok(body):
			return nil
		default:
			last = fmt.Sprintf("HTTP %d: %.500s", status, body)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w (last answer: %s); stderr ends:\n%s",
				p.name, url, ctx.Err(), last, p.stderrTail())
		case <-p.done:
		case <-time.After(pollInterval):
		}
	}
}

func get(ctx context.Context, hc *http.Client, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, err
}

// freePorts returns n distinct free TCP ports on 127.0.0.1. They are free
// when returned; another process could take one before etcd or the apiserver
// binds it, but the kernel hands out ephemeral ports in an order that makes
// this rare.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		// Held open until all are chosen, so the ports differ.
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Stop ends the apiserver, then etcd, and removes [Env.Dir]. Each process gets
// SIGTERM and, a few seconds later, SIGKILL. Stop watches first, or the
// apiserver would spend those seconds waiting for them. Calling Stop more than
// once is safe.
func (e *Env) Stop() {
	e.stopOnce.Do(func() {
		if p := e.apiserverProcess(); p != nil {
			p.stop(stopGrace)
		}
		if e.etcd != nil {
			e.etcd.stop(stopGrace)
		}
		_ = os.RemoveAll(e.Dir)
	})
}

// UserConfig returns a rest.Config that authenticates as user in groups,
// through a client certificate the apiserver trusts. Unlike [Env.Config] it
// is subject to RBAC, so it can run code under the permissions it ships with.
func (e *Env) UserConfig(user string, groups ...string) (*rest.Config, error) {
	certPEM, keyPEM, err := e.ca.clientCert(user, groups)
	if err != nil {
		return nil, fmt.Errorf("issue client certificate for user %q: %w", user, err)
	}
	cfg := rest.AnonymousClientConfig(e.Config)
	cfg.CertData = certPEM
	cfg.KeyData = keyPEM
	return cfg, nil
}

// WriteKubeconfig writes a kubeconfig file for cfg, using its server, CA,
// client certificate, and bearer token, to path.
func (e *Env) WriteKubeconfig(path string, cfg *rest.Config) error {
	const name = "secretsync-testenv"
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
		Token:                 cfg.BearerToken,
	}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	kc.CurrentContext = name
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// Package vaulttest runs a real HashiCorp Vault server, in dev mode, for
// integration tests: in memory, unsealed, with a known root token and a file
// audit device whose log tells which requests reached Vault.
//
// The binary is built by hack/vault.sh into a cache outside the repository
// (Vault is licensed BUSL-1.1 and is never committed); see [Bin]. A dev
// server is healthy in well under a second, so each test starts its own.
//
// It is not a Vault imitation: everything a test does goes over Vault's
// real HTTP API.
package vaulttest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/secretsync/secretsync/internal/testenv"
)

// Version is the Vault release hack/vault.sh builds.
const Version = "v1.21.0"

// BinEnv names the environment variable that points at a vault binary.
const BinEnv = "SECRETSYNC_VAULT_BIN"

// ErrNoBinary is returned by [Start] when the vault binary is missing.
var ErrNoBinary = errors.New("vault binary not found")

// Bin returns the vault binary to run and whether it exists: $SECRETSYNC_VAULT_BIN
// if set, or else where hack/vault.sh caches it,
// ${SECRETSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/secretsync}/vault/v1.21.0/vault.
func Bin() (string, bool) {
	bin := os.Getenv(BinEnv)
	if bin == "" {
		bin = filepath.Join(testenv.CacheRoot(), "vault", Version, "vault")
	}
	return bin, isExecutable(bin)
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// Options configure a server. The zero Options serve plain HTTP.
type Options struct {
	// TLS serves HTTPS with a certificate for 127.0.0.1 signed by a CA
	// Vault generates; [Server.CACert] holds the CA. The listener asks
	// for client certificates, as the cert auth method needs.
	TLS bool
	// Bin is the vault binary; [Bin] chooses it when empty.
	Bin string
}

// Server is a running Vault dev server. Stop it with [Server.Stop].
type Server struct {
	// Addr is the server's URL, such as http://127.0.0.1:41234.
	Addr string
	// RootToken is the dev server's root token.
	RootToken string
	// CACert is the PEM CA that signed the server's certificate, with
	// Options.TLS.
	CACert []byte
	// Client is an API client holding the root token.
	Client *api.Client
	// AuditLogPath is the file audit device's log; see [Server.Audit].
	AuditLogPath string
	// Dir is the temporary directory holding the audit log, the TLS
	// files and the server's output. Stop removes it.
	Dir string

	cmd      *exec.Cmd
	done     chan struct{} // closed once the process has exited
	exitErr  error         // read only after done is closed
	logPath  string
	stopOnce sync.Once
}

// StartForTest starts a Server for t and stops it when t finishes. If the
// binary is absent it skips t, except when $CI is set: there it fails t, so
// CI never skips the Vault tests unnoticed.
func StartForTest(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Bin == "" {
		bin, ok := Bin()
		if !ok {
			msg := fmt.Sprintf("vault binary not found at %s: run hack/vault.sh, or set %s", bin, BinEnv)
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		opts.Bin = bin
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start vault: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("vault output ends:\n%s", s.logTail())
		}
		s.Stop()
	})
	return s
}

// Start runs a dev server in a new temporary directory and returns once it
// is healthy and its audit device is enabled. ctx bounds start-up only.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, ok := opts.Bin, isExecutable(opts.Bin)
	if bin == "" {
		bin, ok = Bin()
	}
	if !ok {
		return nil, fmt.Errorf("%w at %s: run hack/vault.sh, or set %s", ErrNoBinary, bin, BinEnv)
	}
	// A free port can be taken between choosing and binding it: try again.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var s *Server
		if s, err = start(ctx, bin, opts); err == nil {
			return s, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

func start(ctx context.Context, bin string, opts Options) (_ *Server, err error) {
	dir, err := os.MkdirTemp("", "secretsync-vault-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	s := &Server{Dir: dir, done: make(chan struct{}), logPath: filepath.Join(dir, "vault.log")}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()

	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.RootToken = "root-" + randomHex(8)
	listen := "127.0.0.1:" + strconv.Itoa(port)
	args := []string{
		"server", "-dev",
		"-dev-root-token-id=" + s.RootToken,
		"-dev-listen-address=" + listen,
		"-dev-no-store-token",
		"-log-level=warn",
	}
	scheme := "http"
	if opts.TLS {
		scheme = "https"
		args = append(args, "-dev-tls", "-dev-tls-cert-dir="+dir)
	}
	s.Addr = scheme + "://" + listen

	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, fmt.Errorf("create vault log: %w", err)
	}
	defer logFile.Close()
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = dir
	// Only what the server needs: no VAULT_* of the developer's shell, and
	// a HOME of its own in case anything writes a token helper file.
	s.cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	s.cmd.Stdout = logFile
	s.cmd.Stderr = logFile
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		s.exitErr = s.cmd.Wait()
		close(s.done)
	}()

	if opts.TLS {
		if s.CACert, err = s.waitFile(ctx, filepath.Join(dir, "vault-ca.pem")); err != nil {
			return nil, err
		}
	}
	if s.Client, err = s.NewClient(s.RootToken); err != nil {
		return nil, err
	}
	if err := s.waitHealthy(ctx); err != nil {
		return nil, err
	}
	s.AuditLogPath = filepath.Join(dir, "audit.log")
	err = s.Client.Sys().EnableAuditWithOptionsWithContext(ctx, "file", &api.EnableAuditOptions{
		Type:    "file",
		Options: map[string]string{"file_path": s.AuditLogPath},
	})
	if err != nil {
		return nil, fmt.Errorf("enable file audit device: %w", err)
	}
	return s, nil
}

// NewClient returns an API client for the server holding token, or no token
// if it is empty. It ignores VAULT_* environment variables.
func (s *Server) NewClient(token string) (*api.Client, error) {
	cfg := api.DefaultConfig()
	cfg.Error = nil
	cfg.Address = s.Addr
	cfg.MaxRetries = 0
	if s.CACert != nil {
		if err := cfg.ConfigureTLS(&api.TLSConfig{CACertBytes: s.CACert}); err != nil {
			return nil, fmt.Errorf("configure vault CA: %w", err)
		}
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	c.ClearNamespace()
	c.SetToken(token)
	if token == "" {
		c.ClearToken()
	}
	return c, nil
}

func (s *Server) waitFile(ctx context.Context, path string) ([]byte, error) {
	for {
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte("END CERTIFICATE")) {
			return b, nil
		}
		if err := s.pause(ctx); err != nil {
			return nil, fmt.Errorf("wait for %s: %w", filepath.Base(path), err)
		}
	}
}

func (s *Server) waitHealthy(ctx context.Context) error {
	for {
		// 200 is initialized, unsealed and active.
		resp, err := s.Client.Logical().ReadRawWithContext(ctx, "sys/health")
		if resp != nil {
			code := resp.StatusCode
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && code == http.StatusOK {
				return nil
			}
		}
		if err := s.pause(ctx); err != nil {
			return fmt.Errorf("wait for vault health: %w", err)
		}
	}
}

// pause waits a moment, or returns an error if the server exited or ctx
// ended.
func (s *Server) pause(ctx context.Context) error {
	select {
	case <-s.done:
		return fmt.Errorf("vault exited early (%v); output ends:\n%s", s.exitErr, s.logTail())
	case <-ctx.Done():
		return fmt.Errorf("%w; vault output ends:\n%s", ctx.Err(), s.logTail())
	case <-time.After(20 * time.Millisecond):
		return nil
	}
}

// Stop sends SIGTERM to the server's process and, if it has not exited
// within five seconds, SIGKILL; then it removes [Server.Dir]. It is safe to
// call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(5 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.done
			}
		}
		_ = os.RemoveAll(s.Dir)
	})
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	const limit = 4000
	if len(b) > limit {
		b = b[len(b)-limit:]
	}
	return string(b)
}

// AuditEntry is one line of the audit log, reduced to what tests check.
// Vault writes a "request" entry when a request arrives and a "response"
// entry when it answers; values in them are HMACs, never plaintext.
type AuditEntry struct {
	Type string `json:"type"`
	// Error is set when Vault answered with an error.
	Error   string `json:"error"`
	Request struct {
		Operation string `json:"operation"`
		Path      string `json:"path"`
	} `json:"request"`
}

// Audit returns the entries of the audit log so far.
func (s *Server) Audit() ([]AuditEntry, error) {
	f, err := os.Open(s.AuditLogPath)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	defer f.Close()
	var out []AuditEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var e AuditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("parse audit log: %w", err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

// AuditRaw returns the audit log as it is, for checks on fields
// [AuditEntry] leaves out, such as request headers Vault was told to log.
func (s *Server) AuditRaw() (string, error) {
	b, err := os.ReadFile(s.AuditLogPath)
	if err != nil {
		return "", fmt.Errorf("read audit log: %w", err)
	}
	return string(b), nil
}

// Count returns how many requests Vault answered without error whose path
// starts with prefix and whose operation is op, or any operation if op is
// empty.
func (s *Server) Count(op, prefix string) (int, error) {
	entries, err := s.Audit()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if e.Type == "response" && e.Error == "" && strings.HasPrefix(e.Request.Path, prefix) &&
			(op == "" || e.Request.Operation == op) {
			n++
		}
	}
	return n, nil
}

// Logins returns how many logins at the auth method mounted at mount
// succeeded, from the audit log.
func (s *Server) Logins(mount string) (int, error) {
	return s.Count("update", "auth/"+strings.Trim(mount, "/")+"/login")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

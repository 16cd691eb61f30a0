// Package pgtest runs a real PostgreSQL server for integration tests, such
// as those of Vault's database secrets engine: a new cluster in a
// temporary directory, listening on a free port of 127.0.0.1 only, with a
// superuser "postgres" whose password is random and required
// (scram-sha-256).
//
// It runs the server's own binaries, initdb and postgres, and psql for
// [Server.Psql]; it links no PostgreSQL client library. They are found in
// $SECRETSYNC_POSTGRES_BIN_DIR, else next to the initdb on PATH, else in
// the newest /usr/lib/postgresql/*/bin (Debian's postgresql package, which
// hack/postgres.sh installs). See [BinDir].
//
// PostgreSQL refuses to run as root: as root, the server runs as the user
// "postgres", or "nobody" when there is none, and the directory that holds
// the cluster is made traversable by that user.
//
// Each test starts its own server; initdb takes about a second. It is not
// an imitation of PostgreSQL, nor a general launcher: fsync is off and the
// cluster is thrown away when the test ends.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BinDirEnv names the environment variable that points at the directory
// holding initdb and postgres.
const BinDirEnv = "SECRETSYNC_POSTGRES_BIN_DIR"

// Superuser is the name of the cluster's superuser.
const Superuser = "postgres"

// ErrNoBinary is returned by [New] when initdb or postgres is missing.
var ErrNoBinary = errors.New("postgresql binaries not found")

// Options configure [New].
type Options struct {
	// BinDir holds initdb and postgres; [BinDir] when empty.
	BinDir string
	// Dir is where the cluster and its logs are kept; a new temporary
	// directory, removed by Stop, when empty. [Start] passes t.TempDir().
	Dir string
}

// Server is a running PostgreSQL server.
type Server struct {
	// Host is 127.0.0.1, the only address the server listens on.
	Host string
	// Port is the server's TCP port.
	Port int
	// Password is the password of [Superuser].
	Password string
	// DataDir is the cluster's data directory.
	DataDir string

	psql     string // the psql binary, or "" when there is none
	logPath  string
	cmd      *exec.Cmd
	done     chan struct{} // closed once the server has exited
	exitErr  error         // read only after done is closed
	ownDir   string        // removed by Stop: the directory New made
	stopOnce sync.Once
}

// BinDir returns the directory to take initdb and postgres from and
// whether both are there: $SECRETSYNC_POSTGRES_BIN_DIR if set; else the
// directory of the initdb on PATH, symbolic links resolved; else the
// newest /usr/lib/postgresql/<version>/bin.
func BinDir() (string, bool) {
	if dir := os.Getenv(BinDirEnv); dir != "" {
		return dir, hasBinaries(dir)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && hasBinaries(filepath.Dir(real)) {
			return filepath.Dir(real), true
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest first: 15 before 9.6, by the number.
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if hasBinaries(d) {
			return d, true
		}
	}
	return "/usr/lib/postgresql/<version>/bin", false
}

func version(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func hasBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		if !isExecutable(filepath.Join(dir, name)) {
			return false
		}
	}
	return true
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// Start starts a Server for t, its cluster in t.TempDir(), and stops it
// when t finishes. If the binaries are absent it skips t, except when $CI
// is set: there it fails t, so CI never skips the PostgreSQL tests
// unnoticed.
func Start(t testing.TB) *Server {
	t.Helper()
	dir, ok := BinDir()
	if !ok {
		msg := fmt.Sprintf("postgresql binaries (initdb, postgres) not found in %s: run hack/postgres.sh, install Debian's postgresql package, or set %s", dir, BinDirEnv)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := New(ctx, Options{BinDir: dir, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start postgresql: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("postgresql log ends:\n%s", s.logTail())
		}
		s.Stop()
	})
	return s
}

// New creates a cluster in opts.Dir and starts a server on it, returning
// once it accepts connections. ctx bounds start-up only.
func New(ctx context.Context, opts Options) (_ *Server, err error) {
	binDir := opts.BinDir
	if binDir == "" {
		binDir, _ = BinDir()
	}
	if !hasBinaries(binDir) {
		return nil, fmt.Errorf("%w in %s: run hack/postgres.sh, or set %s", ErrNoBinary, binDir, BinDirEnv)
	}
	s := &Server{Host: "127.0.0.1", Password: randomHex(16)}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "secretsync-pg-"); err != nil {
			return nil, fmt.Errorf("create temp dir: %w", err)
		}
		s.ownDir = dir
	}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	s.psql = filepath.Join(binDir, "psql")
	if !isExecutable(s.psql) {
		s.psql, _ = exec.LookPath("psql")
	}

	cred, err := serverUser(dir)
	if err != nil {
		return nil, err
	}
	s.DataDir = filepath.Join(dir, "data")
	pwFile := filepath.Join(dir, "superuser-password")
	if err := os.WriteFile(pwFile, []byte(s.Password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write password file: %w", err)
	}
	defer os.Remove(pwFile)
	if err := os.Mkdir(s.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	for _, p := range []string{s.DataDir, pwFile} {
		if err := chown(p, cred); err != nil {
			return nil, err
		}
	}

	initdb := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
		"-D", s.DataDir, "-U", Superuser, "--pwfile="+pwFile,
		"--auth=scram-sha-256", "--encoding=UTF8", "--locale=C",
		"--no-sync", "--no-instructions")
	initdb.Dir = dir
	initdb.Env = childEnv(dir)
	initdb.SysProcAttr = sysProcAttr(cred)
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w; output:\n%s", err, tail(out))
	}

	// A free port can be taken between choosing and binding it: try again.
	for attempt := 0; attempt < 3; attempt++ {
		if err = s.start(ctx, binDir, dir, cred); err == nil || ctx.Err() != nil {
			break
		}
	}
	return s, err
}

func (s *Server) start(ctx context.Context, binDir, dir string, cred *runAs) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Port = port
	s.logPath = filepath.Join(dir, "postgres-"+strconv.Itoa(port)+".log")
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return fmt.Errorf("create postgres log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(filepath.Join(binDir, "postgres"),
		"-D", s.DataDir,
		"-h", s.Host,
		"-p", strconv.Itoa(port),
		// No Unix socket: nothing outside the test can connect, and no
		// shared directory such as /var/run/postgresql is needed.
		"-k", "",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "log_min_messages=warning",
	)
	cmd.Dir = dir
	cmd.Env = childEnv(dir)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr(cred)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	go func() {
		s.exitErr = cmd.Wait()
		close(done)
	}()
	return s.waitReady(ctx)
}

// waitReady waits until the server accepts connections: the postmaster
// logs so once recovery is done, and a TCP connection before then would
// only be told "the database system is starting up".
func (s *Server) waitReady(ctx context.Context) error {
	for {
		b, _ := os.ReadFile(s.logPath)
		if bytes.Contains(b, []byte("database system is ready to accept connections")) {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("postgres exited early (%v); log ends:\n%s", s.exitErr, s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("wait for postgres: %w; log ends:\n%s", ctx.Err(), s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Addr returns host:port.
func (s *Server) Addr() string {
	return net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}

// Psql runs one SQL statement with psql as user, over TCP with password,
// in database "postgres", and returns its rows, one a line, columns
// separated by "|". It fails when psql is not installed, the login fails
// or the statement does.
func (s *Server) Psql(ctx context.Context, user, password, sql string) (string, error) {
	if s.psql == "" {
		return "", errors.New("psql not found beside postgres nor on PATH")
	}
	cmd := exec.CommandContext(ctx, s.psql,
		"-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
		"-h", s.Host, "-p", strconv.Itoa(s.Port), "-U", user, "-d", "postgres",
		"-c", sql)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"PGPASSWORD=" + password,
		"PGCONNECT_TIMEOUT=10",
		"PGSSLMODE=disable",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("psql as %s: %w: %s", user, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Stop asks the server for a fast shutdown (SIGINT: clients such as
// Vault's connection pool are disconnected, not waited for) and, if it has
// not exited within ten seconds, kills it; then it removes the directory
// New made, if it made one. It is safe to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			select {
			case <-s.done:
			default:
				_ = s.cmd.Process.Signal(syscall.SIGINT)
				select {
				case <-s.done:
				case <-time.After(10 * time.Second):
					_ = s.cmd.Process.Kill()
					<-s.done
				}
			}
		}
		if s.ownDir != "" {
			_ = os.RemoveAll(s.ownDir)
		}
	})
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	return tail(b)
}

func tail(b []byte) string {
	const limit = 4000
	if len(b) > limit {
		b = b[len(b)-limit:]
	}
	return string(b)
}

// serverUser returns the user to run PostgreSQL as: nil, the current
// user, unless that is root, which PostgreSQL refuses. Then it is
// "postgres" or "nobody", and dir and its parent are made traversable by
// it (t.TempDir's parent is private to the test's user).
func serverUser(dir string) (*runAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses root: no user postgres or nobody to run it as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user %s: non-numeric uid %q or gid %q", u.Username, u.Uid, u.Gid)
	}
	for _, d := range []string{filepath.Dir(dir), dir} {
		info, err := os.Stat(d)
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(d, info.Mode().Perm()|0o011); err != nil {
			return nil, fmt.Errorf("make %s traversable for user %s: %w", d, u.Username, err)
		}
	}
	return &runAs{uid: uint32(uid), gid: uint32(gid)}, nil
}

// runAs is a user and group to run a child as.
type runAs struct{ uid, gid uint32 }

func chown(path string, cred *runAs) error {
	if cred == nil {
		return nil
	}
	if err := os.Chown(path, int(cred.uid), int(cred.gid)); err != nil {
		return fmt.Errorf("chown %s: %w", path, err)
	}
	return nil
}

// childEnv is the environment of initdb and postgres: none of the
// developer's PG* variables, and the C locale.
func childEnv(dir string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C", "LC_ALL=C"}
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

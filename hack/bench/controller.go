//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/secretsync/secretsync/internal/testenv"
)

// controller is the reference controller running as a separate process,
// its stdout and stderr in one log file.
type controller struct {
	cmd     *exec.Cmd
	logPath string
	metrics string // URL of /metrics
	done    chan struct{}
	err     error // the exit status; read only after done is closed

	mu      sync.Mutex
	maxHeap float64
}

func startController(bin, kubeconfig, logPath string, extra []string) (*controller, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	args := append([]string{"run", "--kubeconfig=" + kubeconfig, "--leader-elect=false", "--metrics-addr=" + addr}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, so a Ctrl-C reaches only the bench, which
	// stops it; and killed by the kernel if the bench dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start controller: %w", err)
	}
	c := &controller{cmd: cmd, logPath: logPath, metrics: "http://" + addr + "/metrics", done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// saveHeapProfile writes the controller's heap profile, after a GC, to path.
// gc has the controller collect its garbage: a heap profile with gc=1
// runs a GC first.
func (c *controller) gc(ctx context.Context) error {
	return c.saveHeapProfile(ctx, os.DevNull)
}

func (c *controller) saveHeapProfile(ctx context.Context, path string) error {
	return c.saveProfile(ctx, "heap?gc=1", path)
}

// saveProfile saves the controller's profile at /debug/pprof/<name> to
// path.
func (c *controller) saveProfile(ctx context.Context, name, path string) error {
	url := strings.TrimSuffix(c.metrics, "/metrics") + "/debug/pprof/" + name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("heap profile: %s", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitReady waits for /readyz, which answers ok once the informer caches
// are synced, and then samples the Go heap every second until ctx ends.
func (c *controller) waitReady(ctx context.Context, timeout time.Duration) error {
	readyz := strings.TrimSuffix(c.metrics, "/metrics") + "/readyz"
	deadline := time.Now().Add(timeout)
	for {
		if err := c.exited(); err != nil {
			return err
		}
		if resp, err := http.Get(readyz); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("controller not ready after %v; log ends:\n%s", timeout, c.logTail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	go func() {
		for ctx.Err() == nil {
			if m, err := c.scrape(); err == nil {
				c.mu.Lock()
				c.maxHeap = max(c.maxHeap, m.sum("go_memstats_heap_alloc_bytes"))
				c.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return nil
}

func (c *controller) exited() error {
	select {
	case <-c.done:
		return fmt.Errorf("controller exited (%v); log ends:\n%s", c.err, c.logTail())
	default:
		return nil
	}
}

// stop sends SIGTERM and kills the controller if it has not exited 10s
// later.
func (c *controller) stop() { testenv.StopProcess(c.cmd, c.done, 10*time.Second) }

// samples are the lines of one scrape of /metrics.
type samples []sample

type sample struct {
	name, labels string
	value        float64
}

func (c *controller) scrape() (samples, error) {
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(c.metrics)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out samples
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		name, labels, _ := strings.Cut(line[:sp], "{")
		out = append(out, sample{name: name, labels: labels, value: v})
	}
	return out, sc.Err()
}

// sum adds the samples of the metric name whose labels contain each of
// the label pairs, written as `key="value"`.
func (s samples) sum(name string, labels ...string) float64 {
	var total float64
next:
	for _, x := range s {
		if x.name != name {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(x.labels, l) {
				continue next
			}
		}
		total += x.value
	}
	return total
}

// maxHeapAlloc is the largest Go heap seen since the controller was ready.
func (c *controller) maxHeapAlloc() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxHeap
}

// peakRSS is the controller's VmHWM, the most resident memory it ever had.
func (c *controller) peakRSS() (int64, error) { return peakRSS(c.cmd.Process.Pid) }

func (c *controller) logTail() string {
	f, err := os.Open(c.logPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > 4<<10 {
		_, _ = f.Seek(-4<<10, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return string(bytes.TrimSpace(b))
}

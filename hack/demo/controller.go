package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long the controller gets to finish its workers after
// SIGTERM before it is killed.
const stopGrace = 10 * time.Second

// controller is the reference controller running as a subprocess, its
// stdout and stderr in one log file.
type controller struct {
	cmd         *exec.Cmd
	logPath     string
	metricsAddr string        // set by waitReady
	done        chan struct{} // closed once the process has exited
	err         error         // the exit status; read only after done is closed
}

func startController(bin, kubeconfig, logPath string) (*controller, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create controller log: %w", err)
	}
	defer log.Close()
	cmd := exec.Command(bin, "run",
		"--kubeconfig="+kubeconfig,
		"--leader-elect=false",
		"--metrics-addr=127.0.0.1:0",
	)
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start controller %s: %w", bin, err)
	}
	c := &controller{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// exitedErr returns a non-nil error if the controller has exited.
func (c *controller) exitedErr() error {
	select {
	case <-c.done:
		status := "exited"
		if c.err != nil {
			status = c.err.Error()
		}
		return fmt.Errorf("the controller stopped unexpectedly (%s)", status)
	default:
		return nil
	}
}

// stop sends SIGTERM and waits for the controller to exit, killing it if it
// takes longer than stopGrace. It returns an error unless the controller
// exited by itself with status 0.
func (c *controller) stop() error {
	select {
	case <-c.done:
	default:
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(stopGrace)
		defer timer.Stop()
		select {
		case <-c.done:
		case <-timer.C:
			_ = c.cmd.Process.Kill()
			<-c.done
			return fmt.Errorf("the controller did not exit within %v of SIGTERM and was killed; its log ends:\n%s", stopGrace, c.logTail())
		}
	}
	if c.err != nil {
		return fmt.Errorf("the controller exited with %v after SIGTERM; its log ends:\n%s", c.err, c.logTail())
	}
	return nil
}

// metricsAddrRE finds the address the controller logs when it has bound
// --metrics-addr=127.0.0.1:0.
var metricsAddrRE = regexp.MustCompile(`"Serving metrics and probes" addr="([^"]+)"`)

// waitReady waits until the controller has logged its metrics address and
// its /readyz answers ok, which it does once its informer caches are
// synced.
func (c *controller) waitReady(ctx context.Context, timeout time.Duration) error {
	return poll(ctx, c, timeout, "the controller to become ready", func(ctx context.Context) (bool, string, error) {
		if c.metricsAddr == "" {
			data, err := os.ReadFile(c.logPath)
			if err != nil {
				return false, "", err
			}
			m := metricsAddrRE.FindSubmatch(data)
			if m == nil {
				return false, "no metrics address in its log yet", nil
			}
			c.metricsAddr = string(m[1])
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.metricsAddr+"/readyz", nil)
		if err != nil {
			return false, "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error(), nil
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return true, "", nil
		}
		return false, fmt.Sprintf("/readyz: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body)), nil
	})
}

// logTail returns about the last 25 lines of the controller's log.
func (c *controller) logTail() string {
	const maxBytes, maxLines = 16 << 10, 25
	data, err := os.ReadFile(c.logPath)
	if err != nil {
		return fmt.Sprintf("    (cannot read %s: %v)", c.logPath, err)
	}
	if len(data) > maxBytes {
		data = data[len(data)-maxBytes:]
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return "    (empty)"
	}
	return "    " + strings.Join(lines, "\n    ")
}

// poll calls cond every 50ms until it reports done, returns an error, the
// controller exits, ctx ends or timeout passes. On a timeout the error
// says what was awaited and cond's last reason for not being done.
func poll(ctx context.Context, ctrl *controller, timeout time.Duration, what string, cond func(context.Context) (done bool, why string, err error)) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if ctx.Err() != nil {
			return errInterrupted
		}
		if err := ctrl.exitedErr(); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		done, why, err := cond(ctx)
		if ctx.Err() != nil {
			return errInterrupted
		}
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s: %s", timeout, what, why)
		}
		select {
		case <-ctx.Done():
		case <-ctrl.done:
		case <-tick.C:
		}
	}
}

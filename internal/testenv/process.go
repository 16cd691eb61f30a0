package testenv

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// process is one running control-plane binary whose stdout and stderr go to
// files in the Env's directory.
type process struct {
	name       string
	cmd        *exec.Cmd
	stderrPath string
	done       chan struct{} // closed once the process has exited
	err        error         // the exit status; read only after done is closed
}

// startProcess runs bin with args, writing its output to dir/name.stdout.log
// and dir/name.stderr.log.
func startProcess(dir, name, bin string, args ...string) (*process, error) {
	stdout, err := os.Create(filepath.Join(dir, name+".stdout.log"))
	if err != nil {
		return nil, fmt.Errorf("create %s stdout log: %w", name, err)
	}
	defer stdout.Close()
	stderrPath := filepath.Join(dir, name+".stderr.log")
	stderr, err := os.Create(stderrPath)
	if err != nil {
		return nil, fmt.Errorf("create %s stderr log: %w", name, err)
	}
	defer stderr.Close()

	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, stderrPath: stderrPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited returns a non-nil error, including the tail of the process's stderr,
// if the process has already exited.
func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited early (%v); stderr ends:\n%s", p.name, p.err, p.stderrTail())
	default:
		return nil
	}
}

// stop sends SIGTERM and, if the process has not exited within grace, SIGKILL.
// It is safe to call more than once.
func (p *process) stop(grace time.Duration) { StopProcess(p.cmd, p.done, grace) }

// StopProcess stops the started cmd: SIGTERM and, if it has not exited
// within grace, SIGKILL. done is closed once cmd has exited (by whoever
// waits for it); StopProcess returns after that, at once if it already is,
// so it is safe to call more than once.
func StopProcess(cmd *exec.Cmd, done <-chan struct{}, grace time.Duration) {
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-done
	}
}

// kill sends SIGKILL and waits for the process to exit. It is safe to call
// more than once.
func (p *process) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stderrTail returns about the last 20 lines of the process's stderr.
func (p *process) stderrTail() string {
	const maxBytes, maxLines = 8 << 10, 20
	f, err := os.Open(p.stderrPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.stderrPath, err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > maxBytes {
		_, _ = f.Seek(-maxBytes, io.SeekEnd)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.stderrPath, err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one controller binary running against one cluster, with its
// output in a log file that outlives it.
type process struct {
	name    string // e.g. "bootstrap/kube-controller-manager"
	bin     string
	args    []string
	env     []string
	dir     string // working folder (TMPDIR of the process too)
	logPath string
	// group runs the process in a process group of its own, and stop
	// signals the whole group: a forking service's workers go with it.
	group bool

	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	mu   sync.Mutex
	err  error // set when the process exited
}

// start runs the process. It dies with the test process (Pdeathsig), so an
// interrupted `go test` or demo never leaves a controller behind.
func (p *process) start() error {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return fmt.Errorf("%s: creating its folder: %w", p.name, err)
	}
	f, err := os.Create(p.logPath)
	if err != nil {
		return fmt.Errorf("%s: creating its log file: %w", p.name, err)
	}
	p.log = f
	fmt.Fprintf(f, "# %s %s\n", p.bin, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir = p.dir
	cmd.Env = append(append(os.Environ(), "TMPDIR="+p.dir), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: p.group}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("%s: starting %s: %w (log: %s)", p.name, p.bin, err, p.logPath)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	register(p)
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		if err == nil {
			err = errors.New("exited")
		}
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return nil
}

// exited returns why the process ended, nil while it runs.
func (p *process) exited() error {
	if p.done == nil {
		return nil
	}
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	default:
		return nil
	}
}

// stop asks the process to end (SIGTERM, as the kubelet would) and kills it
// after grace.
func (p *process) stop(grace time.Duration) {
	if p.cmd == nil {
		return
	}
	signal := func(sig syscall.Signal) {
		if p.group {
			_ = syscall.Kill(-p.cmd.Process.Pid, sig)
		} else {
			_ = p.cmd.Process.Signal(sig)
		}
	}
	select {
	case <-p.done:
	default:
		signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			signal(syscall.SIGKILL)
			<-p.done
		}
	}
	if p.group {
		// Whatever of the group outlived its leader.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	p.mu.Lock()
	if p.log != nil {
		_ = p.log.Close()
		p.log = nil
	}
	p.mu.Unlock()
}

// failure names the process and its log, with the log's last lines.
func (p *process) failure(what string, err error) error {
	return fmt.Errorf("lab: %s %s: %w (log: %s)\n%s", p.name, what, err, p.logPath, indent(tail(p.logPath, 15)))
}

// waitReady polls ready until it succeeds, the process exits, ctx ends or
// timeout passes; the error says which and shows the log's tail.
func (p *process) waitReady(ctx context.Context, timeout time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if err := p.exited(); err != nil {
			return p.failure("stopped before it was ready", err)
		}
		if last = ready(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return p.failure(fmt.Sprintf("was not ready within %s", timeout), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// tail returns the last n lines of a file ("" when unreadable).
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// logName turns "bootstrap/kube-scheduler" into a file name.
func logName(name string) string {
	return filepath.Clean(strings.ReplaceAll(name, "/", "-")) + ".log"
}

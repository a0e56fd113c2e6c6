package mover

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Binary runs the clusterctl executable at Path (another Cluster API
// version than the linked one) and reads its progress from its output.
type Binary struct {
	Path string
}

// args is the command line for opts, the flags clusterctl move maps to the
// MoveOptions Library passes. -v 1 makes it print the per-object lines.
func (b Binary) args(o Options) []string {
	args := []string{"move", "--namespace", o.Namespace, "-v", "1"}
	if o.From.Kubeconfig != "" {
		args = append(args, "--kubeconfig", o.From.Kubeconfig)
	}
	if o.From.Context != "" {
		args = append(args, "--kubeconfig-context", o.From.Context)
	}
	if o.DryRun {
		args = append(args, "--dry-run")
	}
	if o.ToDirectory != "" {
		args = append(args, "--to-directory", o.ToDirectory)
	}
	if o.FromDirectory != "" {
		args = append(args, "--from-directory", o.FromDirectory)
	}
	if o.ToDirectory == "" && !o.DryRun {
		args = append(args, "--to-kubeconfig", o.To.Kubeconfig)
		if o.To.Context != "" {
			args = append(args, "--to-kubeconfig-context", o.To.Context)
		}
	}
	return args
}

// maxLine is how much of one output line is kept: clusterctl's object
// lines are short; a longer line is cut, the rest read and dropped, so a
// line of any length never stops the reader (and with it clusterctl,
// blocked writing to a full pipe).
const maxLine = 64 << 10

// stopGrace is how long clusterctl gets to exit after SIGTERM when the run
// is cancelled, before it is killed.
const stopGrace = 3 * time.Second

// Move runs the binary and turns its output into progress events.
// clusterctl runs in its own process group: a cancelled run sends the group
// SIGTERM, then SIGKILL after stopGrace, so nothing it started keeps the
// output pipe open. On Linux the kernel also sends it SIGTERM when
// pivotcheck itself dies (childAttr).
func (b Binary) Move(ctx context.Context, o Options) error {
	args := b.args(o)
	cmd := exec.CommandContext(ctx, b.Path, args...)
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("output pipe for %s: %w", b.Path, err)
	}
	defer r.Close()
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = childAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("starting %s: %w", b.Path, err)
	}
	w.Close()
	log := clusterctlLog(o.Log)
	tail := &tailBuffer{max: 4096}
	readErr := make(chan error, 1)
	go func() {
		err := readLines(r, func(line string) {
			// The text carries no level: per-object lines are clusterctl's
			// V(1), the rest are taken as its V(0), as Library logs them.
			level := ClusterctlLogLevel
			if e, ok := ParseLine(line); ok {
				if e.Action != "" {
					level++
				}
				if o.Progress != nil {
					o.Progress(e)
				}
			}
			if log.GetSink() != nil {
				log.V(level).Info(line)
			}
			tail.add(line)
		})
		if err != nil {
			// Keep draining: a reader that stops would block clusterctl.
			_, _ = io.Copy(io.Discard, r)
		}
		readErr <- err
	}()
	err = cmd.Wait()
	// Whatever clusterctl started goes with it, so the pipe closes.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	var rerr error
	select {
	case rerr = <-readErr:
	case <-time.After(stopGrace):
		r.Close()
		rerr = <-readErr
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w; last output:\n%s", b.Path, strings.Join(args, " "), err, tail)
	}
	if rerr != nil {
		return fmt.Errorf("reading the output of %s: %w", b.Path, rerr)
	}
	return nil
}

// readLines calls f for every line of r, each cut to maxLine bytes, until
// EOF (nil) or a read error.
func readLines(r io.Reader, f func(string)) error {
	br := bufio.NewReaderSize(r, maxLine)
	var line []byte
	cut := false
	for {
		chunk, isPrefix, err := br.ReadLine()
		if len(chunk) > 0 && !cut {
			room := maxLine - len(line)
			if len(chunk) > room {
				chunk, cut = chunk[:room], true
			}
			line = append(line, chunk...)
		}
		if err != nil {
			if len(line) > 0 {
				f(string(line))
			}
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
		if !isPrefix {
			if cut {
				line = append(line, " [line cut]"...)
			}
			f(string(line))
			line, cut = line[:0], false
		}
	}
}

// tailBuffer keeps the last max bytes of output for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(line) > t.max {
		line = line[:t.max]
	}
	t.b = append(t.b, line...)
	t.b = append(t.b, '\n')
	if n := len(t.b) - t.max; n > 0 {
		t.b = append(t.b[:0], t.b[n:]...)
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

package move

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// clusterctlArgs is the command line of a user-supplied clusterctl for this move.
func clusterctlArgs(o Options) []string {
	args := []string{"move", "--namespace", o.Namespace, "-v", "1"}
	if o.Source.Kubeconfig != "" {
		args = append(args, "--kubeconfig", o.Source.Kubeconfig)
	}
	if o.Source.Context != "" {
		args = append(args, "--kubeconfig-context", o.Source.Context)
	}
	args = append(args, "--to-kubeconfig", o.Target.Kubeconfig)
	if o.Target.Context != "" {
		args = append(args, "--to-kubeconfig-context", o.Target.Context)
	}
	return args
}

// objectLine matches clusterctl's per-object log lines, e.g.
// `Creating BareMetalHost="h-0" Namespace="metal3"`.
var objectLine = regexp.MustCompile(`(Creating|Deleting|Saving|Restoring) ([A-Za-z0-9]+)="([^"]*)"(?: Namespace="([^"]*)")?`)

// ParseClusterctlLine turns one line of clusterctl's output into an event.
func ParseClusterctlLine(line string) (mover.Event, bool) {
	if m := objectLine.FindStringSubmatch(line); m != nil {
		return mover.Event{Time: time.Now(), Action: mover.Action(m[1]), Object: mover.Object{Kind: m[2], Name: m[3], Namespace: m[4]}}, true
	}
	for _, p := range []string{"Pausing the source cluster", "Creating objects in the target cluster", "Deleting objects from the source cluster", "Resuming the target cluster"} {
		if strings.Contains(line, p) {
			return mover.Event{Time: time.Now(), Phase: p}, true
		}
	}
	return mover.Event{}, false
}

// maxLine is how much of one output line is kept: clusterctl's object
// lines are short; a longer line is cut, the rest read and dropped, so a
// line of any length never stops the reader (and with it clusterctl,
// blocked writing to a full pipe).
const maxLine = 64 << 10

// clusterctlStopGrace is how long clusterctl gets to exit after SIGTERM
// when the run is cancelled, before it is killed.
const clusterctlStopGrace = 3 * time.Second

// runClusterctl runs the user's clusterctl binary (another CAPI version)
// and turns its output into progress events. clusterctl runs in its own
// process group: a cancelled run sends the group SIGTERM, then SIGKILL after
// clusterctlStopGrace, so nothing it started keeps the output pipe open.
func runClusterctl(ctx context.Context, o Options, on func(mover.Event)) error {
	cmd := exec.CommandContext(ctx, o.Clusterctl, clusterctlArgs(o)...)
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("output pipe for %s: %w", o.Clusterctl, err)
	}
	defer r.Close()
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = clusterctlStopGrace
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("starting %s: %w", o.Clusterctl, err)
	}
	w.Close()
	tail := &tailBuffer{max: 4096}
	readErr := make(chan error, 1)
	go func() {
		err := readLines(r, func(line string) {
			if e, ok := ParseClusterctlLine(line); ok {
				on(e)
			} else {
				o.Log.V(1).Info(line, "source", "clusterctl")
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
	case <-time.After(clusterctlStopGrace):
		r.Close()
		rerr = <-readErr
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w; last output:\n%s", o.Clusterctl, strings.Join(clusterctlArgs(o), " "), err, tail)
	}
	if rerr != nil {
		return fmt.Errorf("reading the output of %s: %w", o.Clusterctl, rerr)
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

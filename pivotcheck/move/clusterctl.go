package move

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
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

// runClusterctl runs the user's clusterctl binary (another CAPI version)
// and turns its output into progress events.
func runClusterctl(ctx context.Context, o Options, on func(mover.Event)) error {
	cmd := exec.CommandContext(ctx, o.Clusterctl, clusterctlArgs(o)...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var tail bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			if e, ok := ParseClusterctlLine(line); ok {
				on(e)
			} else {
				o.Log.V(1).Info(line, "source", "clusterctl")
			}
			tail.WriteString(line + "\n")
			if tail.Len() > 4096 {
				tail.Next(tail.Len() - 4096)
			}
		}
	}()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("%s %s: %w; last output:\n%s", o.Clusterctl, strings.Join(clusterctlArgs(o), " "), err, tail.String())
	}
	return nil
}

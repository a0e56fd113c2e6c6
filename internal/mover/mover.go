// Package mover drives the clusterctl v1.13 library's Move and turns its log
// lines into typed progress events. clusterctl has no progress callback: it
// logs one V(1) line per object through a process-wide logger, so a logr sink
// on that logger is the hook (pivot-facts.md section 3). Because the logger
// and clusterctl's config are global, moves in one process are serialised.
package mover

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/go-logr/logr"
	clusterctl "sigs.k8s.io/cluster-api/cmd/clusterctl/client"
	clusterctllog "sigs.k8s.io/cluster-api/cmd/clusterctl/log"

	"github.com/pivotcheck/pivotcheck/internal/kube"
)

// Object identifies one object clusterctl handles (its log lines carry no
// API group).
type Object struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Action is what clusterctl did to an object.
type Action string

// Actions clusterctl logs per object.
const (
	Creating  Action = "Creating"
	Deleting  Action = "Deleting"
	Saving    Action = "Saving"
	Restoring Action = "Restoring"
)

// Event is one progress event: a per-object action, or a phase message
// ("Pausing the source cluster", "Creating objects in the target cluster"...).
type Event struct {
	Time   time.Time
	Action Action // empty for phase messages
	Object Object
	Phase  string
}

// Options for one move.
type Options struct {
	From, To  kube.Target
	Namespace string
	DryRun    bool
	// ToDirectory / FromDirectory use clusterctl's backup and restore.
	ToDirectory, FromDirectory string
	// Progress receives every event, synchronously, from clusterctl's goroutine.
	Progress func(Event)
	// Log receives clusterctl's own log lines (at their V levels).
	Log logr.Logger
}

var moveMu sync.Mutex

// Move runs clusterctl's Move with opts. Only one runs at a time per process.
func Move(ctx context.Context, opts Options) error {
	moveMu.Lock()
	defer moveMu.Unlock()

	cfgDir, err := os.MkdirTemp("", "pivotcheck-clusterctl-")
	if err != nil {
		return fmt.Errorf("clusterctl config folder: %w", err)
	}
	defer os.RemoveAll(cfgDir)
	// An empty config file: move needs no provider repositories, and the
	// user's ~/.cluster-api/clusterctl.yaml must not change what moves.
	cfgFile := filepath.Join(cfgDir, "clusterctl.yaml")
	if err := os.WriteFile(cfgFile, []byte("{}\n"), 0o600); err != nil {
		return fmt.Errorf("clusterctl config file: %w", err)
	}

	prev := clusterctllog.Log
	clusterctllog.SetLogger(logr.New(&sink{delegate: opts.Log, on: opts.Progress}))
	defer clusterctllog.SetLogger(prev)

	c, err := clusterctl.New(ctx, cfgFile)
	if err != nil {
		return fmt.Errorf("clusterctl client: %w", err)
	}
	mo := clusterctl.MoveOptions{
		FromKubeconfig: clusterctl.Kubeconfig{Path: opts.From.Kubeconfig, Context: opts.From.Context},
		Namespace:      opts.Namespace,
		DryRun:         opts.DryRun,
		ToDirectory:    opts.ToDirectory,
		FromDirectory:  opts.FromDirectory,
	}
	if opts.ToDirectory == "" && !opts.DryRun {
		mo.ToKubeconfig = clusterctl.Kubeconfig{Path: opts.To.Kubeconfig, Context: opts.To.Context}
	}
	if err := c.Move(ctx, mo); err != nil {
		return fmt.Errorf("clusterctl move of namespace %s: %w", opts.Namespace, err)
	}
	return nil
}

// Plan runs clusterctl's dry-run move and returns the objects it would move,
// sorted by kind, namespace and name. Namespaces themselves are left out.
// This is clusterctl's own discovery and owner graph, not a re-implementation.
func Plan(ctx context.Context, from kube.Target, namespace string, log logr.Logger) ([]Object, error) {
	seen := map[Object]bool{}
	var out []Object
	err := Move(ctx, Options{From: from, Namespace: namespace, DryRun: true, Log: log, Progress: func(e Event) {
		if e.Action == Creating && e.Object.Kind != "Namespace" && !seen[e.Object] {
			seen[e.Object] = true
			out = append(out, e.Object)
		}
	}})
	if err != nil {
		return nil, err
	}
	SortObjects(out)
	return out, nil
}

// SortObjects sorts by kind, namespace, name.
func SortObjects(objs []Object) {
	sort.Slice(objs, func(i, j int) bool {
		a, b := objs[i], objs[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

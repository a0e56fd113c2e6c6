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
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	clusterctl "sigs.k8s.io/cluster-api/cmd/clusterctl/client"
	clusterctllog "sigs.k8s.io/cluster-api/cmd/clusterctl/log"

	"github.com/pivotcheck/pivotcheck/internal/kube"
)

// Object identifies one object clusterctl handles. clusterctl's log lines
// carry no API group, so objects read from them have an empty Group until
// Qualify gives them one; "" is also the group of core kinds (Secret,
// ConfigMap). IPAddress, for one, exists in both ipam.cluster.x-k8s.io and
// ipam.metal3.io, so Kind and Name alone do not name an object.
type Object struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// GroupKind is "Kind.group" (kubectl's spelling), or "Kind" for core kinds.
func (o Object) GroupKind() string {
	if o.Group == "" {
		return o.Kind
	}
	return o.Kind + "." + o.Group
}

// Unqualified drops the group: the key clusterctl's log lines give.
func (o Object) Unqualified() Object {
	o.Group = ""
	return o
}

func (o Object) String() string {
	if o.Namespace == "" {
		return o.GroupKind() + " " + o.Name
	}
	return o.GroupKind() + " " + o.Namespace + "/" + o.Name
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
// sorted by kind, namespace and name, without their group (Qualify adds
// it). A dry run logs each object of clusterctl's graph exactly once, so two
// entries with the same kind and name are two objects in different groups.
// Namespaces themselves are left out. This is clusterctl's own discovery
// and owner graph, not a re-implementation.
func Plan(ctx context.Context, from kube.Target, namespace string, log logr.Logger) ([]Object, error) {
	var out []Object
	err := Move(ctx, Options{From: from, Namespace: namespace, DryRun: true, Log: log, Progress: func(e Event) {
		if e.Action == Creating && e.Object.Kind != "Namespace" {
			out = append(out, e.Object)
		}
	}})
	if err != nil {
		return nil, err
	}
	SortObjects(out)
	return out, nil
}

// SortObjects sorts by kind, namespace, name, group.
func SortObjects(objs []Object) {
	sort.Slice(objs, func(i, j int) bool {
		a, b := objs[i], objs[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Group < b.Group
	})
}

// Qualify gives each object of clusterctl's plan (no groups) its API group,
// from existing: every object of a movable kind in the namespace, with
// groups (pure). A key planned as often as it exists maps to all of those
// objects; a key planned less often than it exists is refused, because the
// plan does not say which group's object moves and guessing would back up,
// verify and count the wrong one.
func Qualify(planned, existing []Object) ([]Object, error) {
	want := map[Object]int{}
	for _, o := range planned {
		want[o.Unqualified()]++
	}
	have := map[Object][]Object{}
	for _, o := range existing {
		k := o.Unqualified()
		have[k] = append(have[k], o)
	}
	out := make([]Object, 0, len(planned))
	keys := make([]Object, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	SortObjects(keys)
	for _, k := range keys {
		n, c := want[k], have[k]
		switch {
		case len(c) == n:
			out = append(out, c...)
		case len(c) == 0:
			return nil, fmt.Errorf("clusterctl plans to move %s but no such object exists in the namespace any more: re-run", k)
		case len(c) < n:
			return nil, fmt.Errorf("clusterctl plans to move %d objects named %s but only %d exist: re-run", n, k, len(c))
		default:
			groups := make([]string, 0, len(c))
			for _, o := range c {
				groups = append(groups, o.Group)
			}
			sort.Strings(groups)
			return nil, fmt.Errorf("%s exists in API groups %s but clusterctl moves only %d of them and its plan does not say which: give the one that stays an owner or the label clusterctl.cluster.x-k8s.io/move so both move, or rename one", k, strings.Join(groups, " and "), n)
		}
	}
	SortObjects(out)
	return out, nil
}

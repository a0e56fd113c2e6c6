package mover

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"

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
	From, To  kube.Cluster
	Namespace string
	DryRun    bool
	// ToDirectory / FromDirectory use clusterctl's backup and restore.
	ToDirectory, FromDirectory string
	// Progress receives every event, synchronously, from the goroutine that
	// reads clusterctl's log.
	Progress func(Event)
	// Log receives clusterctl's own log lines, ClusterctlLogLevel levels
	// below their clusterctl level.
	Log logr.Logger
}

// ClusterctlLogLevel is how many V levels below pivotcheck's own lines
// clusterctl's lines are logged: its info lines at V(2), its per-object
// lines at V(3). pivotcheck reports clusterctl's progress itself, so the
// raw lines are hidden at the default -v 0 and at -v 1, and shown from -v 2.
const ClusterctlLogLevel = 2

// Runner runs clusterctl move, as cluster-api's ObjectMover does inside
// clusterctl. Move moves opts.Namespace's objects from opts.From to opts.To
// (or to/from a directory, or only logs them with DryRun), sends each step
// and object to opts.Progress and clusterctl's own lines to opts.Log.
type Runner interface {
	Move(ctx context.Context, opts Options) error
}

var (
	_ Runner = Library{}
	_ Runner = Binary{}
)

// For returns the runner for a --clusterctl path: the clusterctl binary at
// path, or the linked library when path is empty.
func For(path string) Runner {
	if path == "" {
		return Library{}
	}
	return Binary{Path: path}
}

// Move runs the linked clusterctl library's move.
func Move(ctx context.Context, opts Options) error {
	return Library{}.Move(ctx, opts)
}

// Plan runs clusterctl's dry-run move and returns the objects it would move,
// sorted by kind, namespace and name, without their group (Qualify adds
// it). A dry run logs each object of clusterctl's graph exactly once, so two
// entries with the same kind and name are two objects in different groups.
// Namespaces themselves are left out. This is clusterctl's own discovery
// and owner graph, not a re-implementation.
func Plan(ctx context.Context, from kube.Cluster, namespace string, log logr.Logger) ([]Object, error) {
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
	slices.SortFunc(objs, func(a, b Object) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.Group, b.Group))
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
	keys := slices.Collect(maps.Keys(want))
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
			slices.Sort(groups)
			return nil, fmt.Errorf("%s exists in API groups %s but clusterctl moves only %d of them and its plan does not say which: give the one that stays an owner or the label clusterctl.cluster.x-k8s.io/move so both move, or rename one", k, strings.Join(groups, " and "), n)
		}
	}
	SortObjects(out)
	return out, nil
}

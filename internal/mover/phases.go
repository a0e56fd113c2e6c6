package mover

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// PhaseDeleting is the step message clusterctl logs right before its first
// delete from the source.
const PhaseDeleting = "Deleting objects from the source cluster"

// PhaseResumingClasses and PhaseResumingClusters are the step messages
// clusterctl logs right before it unpauses the ClusterClasses and Clusters
// it moved or restored.
const (
	PhaseResumingClasses  = "Resuming the target ClusterClasses"
	PhaseResumingClusters = "Resuming the target cluster"
)

// phases are the step messages of clusterctl v1.13's move
// (cmd/clusterctl/client/cluster/mover.go) worth showing an operator. Both
// runners use this one table.
var phases = []string{
	"Performing move...",
	"Pausing the source cluster",
	"Pausing the source ClusterClasses",
	"Waiting for all resources to be ready to move",
	"Creating objects in the target cluster",
	PhaseDeleting,
	PhaseResumingClasses,
	PhaseResumingClusters,
	"Moving Cluster API objects",
	"Starting move of Cluster API objects",
	"Restoring objects into the target cluster",
	"Resuming the source cluster",
}

// eventFromCall reads one log call of the linked clusterctl. It logs
// objects as Info("Creating", <Kind>, <Name>, "Namespace", <ns>): the kind
// is the first key and the name its value.
func eventFromCall(msg string, kv []any) (Event, bool) {
	now := time.Now()
	switch Action(msg) {
	case Creating, Deleting, Saving, Restoring:
		if len(kv) < 2 {
			return Event{}, false
		}
		kind, ok := kv[0].(string)
		if !ok {
			return Event{}, false
		}
		o := Object{Kind: kind, Name: fmt.Sprint(kv[1])}
		for i := 2; i+1 < len(kv); i += 2 {
			if k, _ := kv[i].(string); k == "Namespace" {
				o.Namespace = fmt.Sprint(kv[i+1])
			}
		}
		return Event{Time: now, Action: Action(msg), Object: o}, true
	}
	if slices.Contains(phases, msg) {
		return Event{Time: now, Phase: msg}, true
	}
	return Event{}, false
}

// objectLine matches the per-object lines a clusterctl binary prints, e.g.
// `Creating BareMetalHost="h-0" Namespace="metal3"` (its logger writes the
// message, then each key=JSON value).
var objectLine = regexp.MustCompile(`(Creating|Deleting|Saving|Restoring) ([A-Za-z0-9]+)="([^"]*)"(?: Namespace="([^"]*)")?`)

// ParseLine reads one line of a clusterctl binary's output: the same log
// calls eventFromCall reads, printed as text.
func ParseLine(line string) (Event, bool) {
	if m := objectLine.FindStringSubmatch(line); m != nil {
		return Event{Time: time.Now(), Action: Action(m[1]), Object: Object{Kind: m[2], Name: m[3], Namespace: m[4]}}, true
	}
	// A named logger prefixes "[name] "; the message comes next, then
	// " key=value" pairs.
	if strings.HasPrefix(line, "[") {
		if _, rest, ok := strings.Cut(line, "] "); ok {
			line = rest
		}
	}
	for _, p := range phases {
		if line == p || strings.HasPrefix(line, p+" ") {
			return Event{Time: time.Now(), Phase: p}, true
		}
	}
	return Event{}, false
}

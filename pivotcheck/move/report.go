package move

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// WriteTable renders the report for people.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE\tSTATUS\tTIME\tDETAIL")
	for _, p := range r.Phases {
		t := "-"
		if p.Status == statusOK || p.Status == statusFailed {
			t = (time.Duration(p.Seconds * float64(time.Second))).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, p.Status, t, oneLine(p.Detail, 160))
	}
	_ = tw.Flush()
	if len(r.CountsByKind) > 0 {
		fmt.Fprintf(w, "\nObjects (%d):\n", len(r.Objects))
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, k := range slices.Sorted(maps.Keys(r.CountsByKind)) {
			fmt.Fprintf(tw, "  %s\t%d\n", k, r.CountsByKind[k])
		}
		_ = tw.Flush()
	}
	if r.DryRun {
		fmt.Fprintln(w, "\nObjects that would move:")
		for _, o := range r.Objects {
			fmt.Fprintf(w, "  %s\n", o)
		}
	}
	if len(r.LeftBehind) > 0 {
		fmt.Fprintln(w, "\nLeft in the source (not moved by clusterctl):")
		for _, o := range r.LeftBehind {
			fmt.Fprintf(w, "  %s\n", o)
		}
	}
	if len(r.Hosts) > 0 {
		fmt.Fprintln(w, "\nHosts (--wait-for-hosts):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  HOST\tADOPTED\tEVIDENCE\tIRONIC NODE\tSTATES SEEN")
		for _, h := range r.Hosts {
			node, seen := "-", "-"
			if h.Ironic != nil {
				node = h.Ironic.Node + " " + orDash(h.Ironic.ProvisionState)
				if len(h.Ironic.StatesSeen) > 0 {
					seen = strings.Join(h.Ironic.StatesSeen, " → ")
				}
			}
			fmt.Fprintf(tw, "  %s\t%v\t%s\t%s\t%s\n", h.Name, h.Adopted, h.Evidence, node, seen)
		}
		_ = tw.Flush()
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintln(w, "\nWarnings:")
		for _, x := range r.Warnings {
			fmt.Fprintf(w, "  - %s\n", x)
		}
	}
	if r.FailedPhase != "" {
		fmt.Fprintf(w, "\nFAILED in phase %s: %s\n", r.FailedPhase, r.Error)
		fmt.Fprintf(w, "  source: %s\n  target: %s\n", r.SourceState, r.TargetState)
		if r.ResumeCommand != "" {
			fmt.Fprintf(w, "  resume with:\n    %s\n", r.ResumeCommand)
		}
	}
	status := "completed and verified"
	switch {
	case r.DryRun:
		status = "dry run: nothing changed"
	case r.FailedPhase != "":
		status = "FAILED"
	case !r.Verified:
		status = "not verified"
	}
	fmt.Fprintf(w, "\nMove of namespace %s: %s in %s.\n", r.Namespace, status, (time.Duration(r.TotalSeconds * float64(time.Second))).Round(time.Millisecond))
}

func oneLine(s string, max int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > max {
		return s[:max-3] + "..."
	}
	return s
}

// PhaseResult is one phase of the report.
type PhaseResult struct {
	Name     string        `json:"name"`
	Status   string        `json:"status"`
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"seconds"`
	Detail   string        `json:"detail,omitempty"`
}

// Report is what Run returns, complete or not.
type Report struct {
	Namespace string `json:"namespace"`
	Source    string `json:"source"`
	Target    string `json:"target"`
	// SourceCluster and TargetCluster are the clusters' identities (nil
	// when they could not be read).
	SourceCluster *kube.Identity `json:"sourceCluster,omitempty"`
	TargetCluster *kube.Identity `json:"targetCluster,omitempty"`
	DryRun        bool           `json:"dryRun,omitempty"`
	Resume        bool           `json:"resume,omitempty"`
	Completed     bool           `json:"completed"`
	Verified      bool           `json:"verified"`
	Phases        []PhaseResult  `json:"phases"`
	// Objects is clusterctl's list of objects to move (the plan), each with
	// its API group.
	Objects []mover.Object `json:"objects,omitempty"`
	// CountsByKind counts the plan by "Kind.group".
	CountsByKind map[string]int `json:"countsByKind"`
	// Created and Deleted count distinct planned objects clusterctl
	// created in the target / deleted from the source in this run (not its
	// log lines, which repeat on retries).
	Created   int      `json:"created"`
	Deleted   int      `json:"deleted"`
	BackupDir string   `json:"backupDir,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	// Hosts is the outcome of --wait-for-hosts per host: adopted or not,
	// on whose evidence, and what the target's Ironic showed of its node.
	Hosts []HostEvidence `json:"hosts,omitempty"`
	// NotBackedUp are objects clusterctl moved that its plan, and so the
	// backup, did not hold (group-less, as clusterctl logs them).
	NotBackedUp []mover.Object `json:"notBackedUp,omitempty"`
	// LeftBehind are objects of movable kinds still in the source namespace.
	LeftBehind []mover.Object `json:"leftBehind,omitempty"`
	// FailedPhase, SourceState, TargetState and ResumeCommand are set on
	// failure; MoveStep is clusterctl's last step when the move phase failed.
	FailedPhase   string  `json:"failedPhase,omitempty"`
	MoveStep      string  `json:"moveStep,omitempty"`
	Error         string  `json:"error,omitempty"`
	SourceState   string  `json:"sourceState,omitempty"`
	TargetState   string  `json:"targetState,omitempty"`
	ResumeCommand string  `json:"resumeCommand,omitempty"`
	TotalSeconds  float64 `json:"totalSeconds"`
}

// Phase returns the named phase result (zero value when absent).
func (r *Report) Phase(name string) PhaseResult {
	for _, p := range r.Phases {
		if p.Name == name {
			return p
		}
	}
	return PhaseResult{}
}

// A phase's status in the report.
const (
	statusOK      = "ok"
	statusSkipped = "skipped"
	statusFailed  = "failed"
	statusPlanned = "would run"
)

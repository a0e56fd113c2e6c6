package move

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
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

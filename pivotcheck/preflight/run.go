package preflight

import (
	"context"
	"fmt"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

// Run collects both clusters and runs every check. An error means the
// clusters could not be checked at all (unreachable, missing permission):
// exit code 2. Not-ready is a Report with Ready false, not an error.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Namespace == "" {
		return nil, fmt.Errorf("preflight needs a namespace to check")
	}
	if len(opts.IronicWorkloads) == 0 {
		opts.IronicWorkloads = ironic.DefaultWorkloads
	}
	snap, err := Collect(ctx, opts)
	if err != nil {
		return nil, err
	}
	// A pattern that names a non-Ironic workload is a bad flag: the move's
	// hand-over would stop that workload.
	if err := ironic.CheckPatterns(snap.Source.ironicObjects(), opts.IronicWorkloads); err != nil {
		return nil, err
	}
	r := Build(snap, opts.Skip)
	r.Source, r.Target = opts.Source.String(), opts.Target.String()
	return r, nil
}

// Build turns a snapshot into a report, dropping skipped checks.
func Build(snap *Snapshot, skip []string) *Report {
	skipped := map[string]bool{}
	for _, id := range skip {
		skipped[id] = true
	}
	r := &Report{Namespace: snap.Namespace, Findings: []Finding{}, Plan: snap.Plan}
	for _, c := range Catalog {
		if !skipped[c.ID] {
			r.Checks = append(r.Checks, c.ID)
		}
	}
	for _, f := range Evaluate(snap) {
		if !skipped[f.Check] {
			r.Findings = append(r.Findings, f)
		}
	}
	r.Ready = r.Errors() == 0
	return r
}

// KnownCheck reports whether id is a check ID (for --skip-check validation).
func KnownCheck(id string) bool {
	for _, c := range Catalog {
		if c.ID == id {
			return true
		}
	}
	return false
}

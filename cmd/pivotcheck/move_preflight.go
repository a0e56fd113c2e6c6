package main

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pivotcheck/pivotcheck/pivotcheck/move"
	"github.com/pivotcheck/pivotcheck/pivotcheck/preflight"
)

func init() {
	movePreflight = preflightForMove
	moveRecheckOwners = recheckOwnersForMove
}

// preflightForMove is step 1 of `pivotcheck move`: the full preflight, with
// two findings read in the light of what the driver does next.
//   - A source Ironic is an error for a plain clusterctl move, but the
//     driver's Ironic hand-over removes it (delete / scale-to-zero).
//   - With --fix-owners, owner-chain findings are what step "owner-repair"
//     fixes; it re-checks them afterwards and stops if any remain.
func preflightForMove(o move.Options) move.PreflightFunc {
	return func(ctx context.Context, skip []string) ([]string, []string, error) {
		if err := validateSkip(skip); err != nil {
			return nil, nil, err
		}
		rep, err := preflight.Run(ctx, preflightOptions(o, skip))
		if err != nil {
			return nil, nil, err
		}
		// clusterctl's dry run is the costliest read: the backup reuses it
		// when nothing written in between can change it.
		move.OfferPlan(ctx, rep.Plan)
		byCheck := map[string]string{}
		if o.IronicHandover != move.HandoverExternal {
			byCheck[preflight.IronicSource] = "the Ironic hand-over removes it next"
		}
		if o.FixOwners {
			byCheck[preflight.OwnerChain] = "--fix-owners repairs it and checks again before anything moves"
		}
		in := move.InterruptedFrom(ctx)
		return split(rep, func(f preflight.Finding) string {
			if why := byCheck[f.Check]; why != "" {
				return why
			}
			return explainedByInterruptedMove(f, in)
		})
	}
}

// recheckOwnersForMove runs only the owner-chain check, after --fix-owners.
func recheckOwnersForMove(o move.Options) move.PreflightFunc {
	return func(ctx context.Context, _ []string) ([]string, []string, error) {
		var skip []string
		for _, c := range preflight.Catalog {
			if c.ID != preflight.OwnerChain {
				skip = append(skip, c.ID)
			}
		}
		rep, err := preflight.Run(ctx, preflightOptions(o, skip))
		if err != nil {
			return nil, nil, err
		}
		return split(rep, func(preflight.Finding) string { return "" })
	}
}

func preflightOptions(o move.Options, skip []string) preflight.Options {
	return preflight.Options{
		Source: o.Source, Target: o.Target, Namespace: o.Namespace,
		IronicWorkloads: o.IronicWorkloads, Skip: skip, Log: o.Log.WithName("preflight"),
	}
}

// explainedByInterruptedMove says why the earlier attempt of a --resume
// explains an error finding ("" when it does not, and the finding blocks).
// Only what that attempt's own steps leave is explained: a Cluster of its
// plan paused by spec.paused once its clusterctl had started (clusterctl
// pauses every Cluster it moves; the resume unpauses them right before
// clusterctl runs again), and an owner chain cut by its clusterctl's
// partial delete (the object is in its plan, which verify checks).
// Hosts paused by pivotcheck with their status annotation raise no finding
// at all; a host that is mid-operation (provisioning...), paused by
// someone else, or any other error still blocks.
func explainedByInterruptedMove(f preflight.Finding, in *move.Interrupted) string {
	if in == nil || f.Severity != preflight.SeverityError || !in.State.MoveStarted {
		return ""
	}
	inPlan := false
	gv, _ := schema.ParseGroupVersion(f.Object.APIVersion)
	for _, o := range in.Plan {
		if o.Kind == f.Object.Kind && o.Namespace == f.Object.Namespace && o.Name == f.Object.Name && (f.Object.APIVersion == "" || o.Group == gv.Group) {
			inPlan = true
			break
		}
	}
	if !inPlan {
		return ""
	}
	switch {
	case f.Check == preflight.ClusterPaused && f.Object.Kind == "Cluster" && strings.Contains(f.Message, "spec.paused"):
		return "paused by the interrupted move's clusterctl; the resume unpauses it right before clusterctl runs again"
	case f.Check == preflight.OwnerChain:
		return "the interrupted move's clusterctl already moved part of its owner chain; it is in the first attempt's plan, which verify checks"
	}
	return ""
}

// split turns findings into the driver's blocking and warning lines;
// errors demote explains become warnings saying why.
func split(rep *preflight.Report, demote func(preflight.Finding) string) (blocking, warnings []string, err error) {
	for _, f := range rep.Findings {
		line := fmt.Sprintf("[%s] %s", f.Check, f.Message)
		why := ""
		if f.Severity == preflight.SeverityError {
			why = demote(f)
		}
		switch {
		case why != "":
			warnings = append(warnings, line+" ("+why+")")
		case f.Severity == preflight.SeverityError:
			if f.Hint != "" {
				line += " — " + f.Hint
			}
			blocking = append(blocking, line)
		case f.Severity == preflight.SeverityWarning:
			warnings = append(warnings, line)
		}
	}
	return blocking, warnings, nil
}

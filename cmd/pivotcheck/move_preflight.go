package main

import (
	"context"
	"fmt"

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
		for _, id := range skip {
			if !preflight.KnownCheck(id) {
				return nil, nil, fmt.Errorf("unknown check ID %q in --skip-check: `pivotcheck preflight --help` lists them", id)
			}
		}
		rep, err := preflight.Run(ctx, preflightOptions(o, skip))
		if err != nil {
			return nil, nil, err
		}
		demote := map[string]string{}
		if o.IronicHandover != move.HandoverExternal {
			demote[preflight.IronicSource] = "the Ironic hand-over removes it next"
		}
		if o.FixOwners {
			demote[preflight.OwnerChain] = "--fix-owners repairs it and checks again before anything moves"
		}
		return split(rep, demote)
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
		return split(rep, nil)
	}
}

func preflightOptions(o move.Options, skip []string) preflight.Options {
	return preflight.Options{
		Source: o.Source, Target: o.Target, Namespace: o.Namespace,
		IronicWorkloads: o.IronicWorkloads, Skip: skip, Log: o.Log.WithName("preflight"),
	}
}

// split turns findings into the driver's blocking and warning lines;
// errors of a demoted check become warnings saying why.
func split(rep *preflight.Report, demote map[string]string) (blocking, warnings []string, err error) {
	for _, f := range rep.Findings {
		line := fmt.Sprintf("[%s] %s", f.Check, f.Message)
		switch {
		case f.Severity == preflight.SeverityError && demote[f.Check] != "":
			warnings = append(warnings, line+" ("+demote[f.Check]+")")
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

// The plan: clusterctl's own dry-run object list, each object given its API group.

package move

import (
	"context"
	"fmt"

	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// qualifiedPlan is clusterctl's dry-run plan with each object's API group,
// read from the objects of movable kinds in the source namespace. The
// dry run is the preflight's when ReusePreflightPlan allows (clusterctl's
// discovery is quadratic: at 5,000 objects it costs seconds), else
// clusterctl's discovery runs again.
func (d *driver) qualifiedPlan(ctx context.Context) ([]mover.Object, error) {
	raw, offered := d.preflightPlan.get()
	reuse, why := ReusePreflightPlan(PlanReuse{Offered: offered, Resume: d.opts.Resume, OwnersWrote: d.ownersWrote})
	d.planNote = why
	d.log.V(1).Info("backup plan", "source", why)
	if !reuse {
		var err error
		if raw, err = mover.Plan(ctx, d.opts.Source, d.opts.Namespace, d.log); err != nil {
			return nil, fmt.Errorf("computing clusterctl's plan: %w", err)
		}
	}
	kinds, err := movableKinds(ctx, d.src)
	if err != nil {
		return nil, err
	}
	only := map[string]bool{}
	for _, o := range raw {
		only[o.Kind] = true
	}
	inv, err := inventory(ctx, d.src, d.opts.Namespace, kinds, only)
	if err != nil {
		return nil, err
	}
	existing := make([]mover.Object, 0, len(inv))
	for o := range inv {
		existing = append(existing, o)
	}
	return mover.Qualify(raw, existing)
}

func (d *driver) setPlan(plan []mover.Object) {
	d.plan = plan
	d.report.Objects = plan
	d.report.CountsByKind = map[string]int{}
	for _, o := range plan {
		d.report.CountsByKind[o.GroupKind()]++
	}
}

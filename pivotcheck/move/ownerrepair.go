// Phase owner-repair: the writes that make clusterctl take orphaned objects along.

package move

import (
	"context"
	"fmt"
	"strings"
)

func (d *driver) fixOwners(ctx context.Context) (string, error) {
	if err := d.ensureRecorded(); err != nil {
		return "", err
	}
	hosts, secrets, clusters, tmpl, pools, err := listOwnerInputs(ctx, d.src, d.opts.Namespace)
	if err != nil {
		return "", err
	}
	fixes := PlanOwnerFixes(hosts, secrets, clusters, tmpl, pools)
	// Set before the first patch: a half-applied repair changed the graph too.
	d.ownersWrote = d.ownersWrote || len(fixes) > 0
	if err := applyOwnerFixes(ctx, d.src, d.opts.Namespace, fixes); err != nil {
		return "", err
	}
	var s []string
	for _, f := range fixes {
		s = append(s, f.String())
	}
	if d.opts.RecheckOwners != nil {
		// Only owner chains the repair understands are fixed; anything else
		// clusterctl would still leave behind must stop the move here.
		blocking, _, err := d.opts.RecheckOwners(ctx, nil)
		if err != nil {
			return "", fmt.Errorf("re-checking owner chains after the repair: %w", err)
		}
		if len(blocking) > 0 {
			return "", fmt.Errorf("%d object(s) repaired%s, but %d would still be left behind, nothing was moved: %s", len(fixes), listSuffix(s), len(blocking), strings.Join(blocking, "; "))
		}
	}
	return fmt.Sprintf("%d object(s) repaired%s", len(fixes), listSuffix(s)), nil
}

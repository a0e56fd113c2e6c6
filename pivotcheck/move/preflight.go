// Phase preflight: the preflight engine over both clusters.

package move

import (
	"context"
	"fmt"
	"strings"
)

func (d *driver) preflight(ctx context.Context) (string, error) {
	blocking, warnings, err := d.opts.Preflight(ctx, d.opts.SkipChecks)
	for _, w := range warnings {
		d.warn("preflight: " + w)
	}
	if err != nil {
		return "", fmt.Errorf("preflight could not check the clusters: %w", err)
	}
	if len(blocking) > 0 {
		return "", fmt.Errorf("%d blocking finding(s), nothing was changed: %s (fix them, or skip a check explicitly with --skip-check ID)", len(blocking), strings.Join(blocking, "; "))
	}
	return fmt.Sprintf("no blocking findings, %d warning(s)", len(warnings)), nil
}

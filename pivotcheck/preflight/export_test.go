package preflight

import (
	"context"

	"github.com/go-logr/logr"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// SetPlanFunc replaces clusterctl's dry run (tests only) and returns a restore function.
func SetPlanFunc(f func(context.Context, kube.Cluster, string, logr.Logger) ([]mover.Object, error)) func() {
	prev := planFunc
	planFunc = f
	return func() { planFunc = prev }
}

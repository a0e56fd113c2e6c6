// The preflight's clusterctl plan, reused by the backup when nothing in
// between can have changed clusterctl's object graph.

package move

import (
	"context"
	"slices"
	"sync"

	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// planSink receives the clusterctl dry-run plan a preflight engine computed.
type planSink struct {
	mu      sync.Mutex
	plan    []mover.Object
	offered bool
}

type planSinkKey struct{}

// OfferPlan hands the driver clusterctl's dry-run plan (mover.Plan, not yet
// qualified) that a preflight engine computed for the move's source and
// namespace; the backup reuses it instead of running clusterctl's
// discovery a second time when ReusePreflightPlan allows. A nil plan (the
// dry run refused) offers nothing. Outside a move's preflight it is a no-op.
func OfferPlan(ctx context.Context, plan []mover.Object) {
	s, _ := ctx.Value(planSinkKey{}).(*planSink)
	if s == nil || plan == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plan, s.offered = slices.Clone(plan), true
}

func withPlanSink(ctx context.Context, s *planSink) context.Context {
	return context.WithValue(ctx, planSinkKey{}, s)
}

// get returns the offered plan (ok false when none was offered).
func (s *planSink) get() ([]mover.Object, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.plan), s.offered
}

// PlanReuse is what decides whether the preflight's plan still is the
// plan clusterctl would compute at the backup.
type PlanReuse struct {
	// Offered: the preflight engine computed clusterctl's dry run and
	// offered its plan (a stubbed or skipped preflight offers none).
	Offered bool
	// Resume: a --resume, whose source may hold a partly moved namespace
	// and Clusters paused by the interrupted clusterctl.
	Resume bool
	// OwnersWrote: the owner repair patched ownerReferences or labels.
	OwnersWrote bool
}

// ReusePreflightPlan decides (pure) whether the backup takes the plan
// the preflight computed instead of running clusterctl's discovery again,
// and says why.
//
// Between the preflight and the backup pivotcheck writes only in the
// owner repair and the host hand-over. clusterctl's graph is built from the
// objects of its kinds, their ownerReferences, their move labels (and
// their CRDs'), Secret names, a Cluster's topology class and a
// ClusterResourceSetBinding's cluster name; of all annotations it reads
// only block-move, which makes the move wait but never changes what moves
// (objectGraph.objMetaToNode, docs/facts.md "What changes clusterctl's
// plan"). The host hand-over writes only the status and paused
// annotations of BareMetalHosts, so it cannot change the plan; the owner
// repair writes ownerReferences and labels, so when it wrote the plan is
// computed again. A resume computes it again too (backupPlan decides what
// a partly moved source saves).
//
// Objects created or deleted by controllers meanwhile are handled as
// before: the plan is qualified against the source as the backup lists it
// (a planned object gone fails there), and the move phase reports any
// object clusterctl moved that the backup does not hold (NotBackedUp).
func ReusePreflightPlan(in PlanReuse) (bool, string) {
	switch {
	case !in.Offered:
		return false, "clusterctl's plan computed (the preflight offered none)"
	case in.Resume:
		return false, "clusterctl's plan computed again (a resume)"
	case in.OwnersWrote:
		return false, "clusterctl's plan computed again (the owner repair changed ownerReferences)"
	}
	return true, "clusterctl's plan from the preflight reused (only host annotations written since)"
}

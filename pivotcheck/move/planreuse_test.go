package move

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/pivotcheck/preflight"
)

func TestReusePreflightPlan(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    PlanReuse
		reuse bool
		why   string
	}{
		{"fresh move, nothing written but host annotations", PlanReuse{Offered: true}, true, "reused"},
		{"preflight stubbed or skipped", PlanReuse{}, false, "offered none"},
		{"preflight's dry run refused", PlanReuse{Offered: false, OwnersWrote: false}, false, "offered none"},
		{"owner repair wrote", PlanReuse{Offered: true, OwnersWrote: true}, false, "owner repair"},
		{"resume", PlanReuse{Offered: true, Resume: true}, false, "resume"},
		{"resume after owner repair", PlanReuse{Offered: true, Resume: true, OwnersWrote: true}, false, "resume"},
		{"nothing offered and owners wrote", PlanReuse{OwnersWrote: true}, false, "offered none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reuse, why := ReusePreflightPlan(tc.in)
			require.Equal(t, tc.reuse, reuse)
			require.Contains(t, why, tc.why)
		})
	}
}

func TestOfferPlan(t *testing.T) {
	plan := []mover.Object{{Kind: "Secret", Namespace: "ns", Name: "a"}}
	// Outside a move's preflight: nothing to receive it, no panic.
	OfferPlan(context.Background(), plan)

	var s planSink
	ctx := withPlanSink(context.Background(), &s)
	OfferPlan(ctx, nil) // a refused dry run offers nothing
	_, ok := s.get()
	require.False(t, ok)
	OfferPlan(ctx, plan)
	plan[0].Name = "changed by the engine afterwards"
	got, ok := s.get()
	require.True(t, ok)
	require.Equal(t, []mover.Object{{Kind: "Secret", Namespace: "ns", Name: "a"}}, got, "the driver keeps its own copy")
}

func TestNotInPlan(t *testing.T) {
	plan := []mover.Object{
		{Group: "ipam.metal3.io", Kind: "IPAddress", Namespace: "ns", Name: "a"},
		{Group: "metal3.io", Kind: "BareMetalHost", Namespace: "ns", Name: "h"},
	}
	logged := map[mover.Object]bool{
		{Kind: "IPAddress", Namespace: "ns", Name: "a"}:     true,
		{Kind: "BareMetalHost", Namespace: "ns", Name: "h"}: true,
		{Kind: "Secret", Namespace: "ns", Name: "late"}:     true,
	}
	require.Equal(t, []mover.Object{{Kind: "Secret", Namespace: "ns", Name: "late"}}, NotInPlan(plan, logged))
	delete(logged, mover.Object{Kind: "Secret", Namespace: "ns", Name: "late"})
	require.Empty(t, NotInPlan(plan, logged))
}

// offeringPreflight runs the real preflight engine (findings logged, not
// enforced: the fixture has no provider inventory) and offers the driver
// its plan, passed through edit first when edit is set.
func offeringPreflight(t *testing.T, ns string, edit func([]mover.Object) []mover.Object) PreflightFunc {
	return func(ctx context.Context, skip []string) ([]string, []string, error) {
		rep, err := preflight.Run(ctx, preflight.Options{Source: target(pair.Bootstrap), Target: target(pair.Target), Namespace: ns, Skip: skip, Log: testLog(t)})
		if err != nil {
			return nil, nil, err
		}
		require.NotNil(t, rep.Plan, "the preflight's dry run must have planned")
		plan := rep.Plan
		if edit != nil {
			plan = edit(plan)
		}
		OfferPlan(ctx, plan)
		return nil, nil, nil
	}
}

// movedNotInBackup lists what clusterctl logged creating in the target
// that no file of the backup holds.
func movedNotInBackup(t *testing.T, dir string, created map[mover.Object]bool) []mover.Object {
	t.Helper()
	b, err := ReadBackup(dir)
	require.NoError(t, err)
	var saved []mover.Object
	for _, o := range b.Objects {
		saved = append(saved, o.Object)
	}
	return NotInPlan(saved, created)
}

// runRecordingCreates runs a move and returns its report and every object
// clusterctl logged creating in the target.
func runRecordingCreates(t *testing.T, opts Options) (*Report, map[mover.Object]bool) {
	t.Helper()
	var mu sync.Mutex
	created := map[mover.Object]bool{}
	opts.OnEvent = func(e mover.Event) {
		if e.Action == mover.Creating {
			mu.Lock()
			created[e.Object] = true
			mu.Unlock()
		}
	}
	rep, err := Run(t.Context(), opts)
	require.NoError(t, err, "report: %+v", rep)
	require.True(t, rep.Verified)
	return rep, created
}

func movePair(t *testing.T, ns string, fo fixture.Options) []mover.Object {
	t.Helper()
	ctx := t.Context()
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	fo.Namespace = ns
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fo)
	require.NoError(t, err)
	bmoStandIn(ctx, t, pair.Bootstrap.Client, ns)
	bmoStandIn(ctx, t, pair.Target.Client, ns)
	return toObjects(res.Objects)
}

// TestMoveReusesThePreflightPlan: with the real preflight engine, the
// backup takes the preflight's clusterctl plan (no second discovery), and
// the backup still holds every object clusterctl then moved, and nothing
// else.
func TestMoveReusesThePreflightPlan(t *testing.T) {
	needEnv(t)
	const ns = "reuse"
	all := movePair(t, ns, fixture.Options{ControlPlane: 1, Workers: 2, SpareHosts: 1})
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.Preflight = offeringPreflight(t, ns, nil)
	rep, created := runRecordingCreates(t, opts)
	require.Contains(t, rep.Phase(PhaseBackup).Detail, "plan from the preflight reused")
	require.Equal(t, all, rep.Objects)
	require.Len(t, created, len(all))
	require.Empty(t, movedNotInBackup(t, opts.BackupDir, created), "clusterctl moved objects the backup does not hold")
	require.Empty(t, rep.NotBackedUp)
	b, err := ReadBackup(opts.BackupDir)
	require.NoError(t, err)
	require.Len(t, b.Objects, len(all))
}

// TestMoveAfterOwnerRepairPlansAgain: the owner repair gives orphaned
// objects an owner, so the preflight's plan (taken before it) lacks them;
// the backup must plan again and hold every object clusterctl moved. A
// reuse here would leave those objects out of the backup and fail.
func TestMoveAfterOwnerRepairPlansAgain(t *testing.T) {
	needEnv(t)
	const ns = "reuse-owners"
	all := movePair(t, ns, fixture.Options{ControlPlane: 1, Workers: 1, SpareHosts: 1,
		Faults: fixture.Faults{OrphanUserDataSecret: true, BMCSecretWithoutOwner: true, DataTemplateWithoutOwner: true, IPPoolWithoutClusterName: true}})
	var offered int
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.FixOwners = true
	opts.Preflight = offeringPreflight(t, ns, func(p []mover.Object) []mover.Object { offered = len(p); return p })
	rep, created := runRecordingCreates(t, opts)
	require.Less(t, offered, len(all), "the faults must make the preflight's plan miss objects")
	require.Contains(t, rep.Phase(PhaseBackup).Detail, "computed again (the owner repair")
	require.Equal(t, all, rep.Objects)
	require.Empty(t, movedNotInBackup(t, opts.BackupDir, created))
	require.Empty(t, rep.NotBackedUp)
}

// TestWrongReuseIsCaught: a preflight plan that misses an object clusterctl
// then moves (what a wrong reuse gives) is reported by the move
// (NotBackedUp, a warning) and by the backup check the tests above use.
func TestWrongReuseIsCaught(t *testing.T) {
	needEnv(t)
	const ns = "reuse-wrong"
	movePair(t, ns, fixture.Options{ControlPlane: 1, Workers: 1})
	var dropped mover.Object
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.Preflight = offeringPreflight(t, ns, func(p []mover.Object) []mover.Object {
		i := slices.IndexFunc(p, func(o mover.Object) bool { return o.Kind == "Secret" })
		require.GreaterOrEqual(t, i, 0)
		dropped = p[i]
		return slices.Delete(slices.Clone(p), i, i+1)
	})
	rep, created := runRecordingCreates(t, opts)
	require.Contains(t, rep.Phase(PhaseBackup).Detail, "reused")
	require.Equal(t, []mover.Object{dropped.Unqualified()}, movedNotInBackup(t, opts.BackupDir, created))
	require.Equal(t, []mover.Object{dropped.Unqualified()}, rep.NotBackedUp)
	require.True(t, slices.ContainsFunc(rep.Warnings, func(w string) bool { return strings.Contains(w, "the backup does not hold") }))
}

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/fixture"
	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/scenario"
)

// TestLabNoHostDisturbed is the project's reason to exist, observed: two
// identical workload clusters; the real BMO and CAPM3 run on both sides.
// A plain `clusterctl move` of the first disturbs hosts in the target (BMO
// registers, inspects or provisions them again); `pivotcheck move` of the
// second leaves every host in its pre-move state, from the first create in
// the target until --wait-for-hosts returns. On the way it checks the real
// Ironic hand-over: the source Ironic's pods, run by kwok, are removed by
// the garbage collector before the move.
func TestLabNoHostDisturbed(t *testing.T) {
	ctx := labTest(t)
	opts := func(ns string) fixture.Options {
		return fixture.Options{Namespace: ns, ClusterName: "lab1", ControlPlane: 2, Workers: 1, SpareHosts: 1}
	}
	_, beforePlain := build(ctx, t, opts("plain"))
	_, before := build(ctx, t, opts("guarded"))

	// 1. clusterctl move alone.
	rec, err := scenario.Record(ctx, pair.Target.Config, "plain")
	require.NoError(t, err)
	out, code := run(ctx, t, clusterctl, append([]string{"move"}, clusterctlArgs("plain")...)...)
	require.Zero(t, code, out)
	require.NoError(t, scenario.WaitSettled(ctx, rec, beforePlain, 3*time.Minute), "journeys: %v", scenario.Journeys(rec.States()))
	require.NoError(t, rec.Stop())
	plain := scenario.Disturbed(beforePlain, rec.States())
	t.Logf("clusterctl move alone: %d of %d hosts disturbed: %s", len(plain), len(beforePlain), strings.Join(scenario.Journeys(rec.States()), "; "))
	require.NotEmpty(t, plain, "the harness must see the harm of a plain clusterctl move")

	// 2. pivotcheck move.
	ironicPods := &corev1.PodList{}
	require.NoError(t, pair.Bootstrap.Client.List(ctx, ironicPods, client.InNamespace(fixture.BMONamespace), client.MatchingLabels{"name": "ironic"}))
	require.NotEmpty(t, ironicPods.Items, "the source's Ironic runs as real pods before the move")
	pods, err := scenario.WatchPods(ctx, pair.Bootstrap.Config, fixture.BMONamespace, map[string]string{"name": "ironic"})
	require.NoError(t, err)
	srcRec, err := scenario.Record(ctx, pair.Bootstrap.Config, "guarded")
	require.NoError(t, err)
	rec, err = scenario.Record(ctx, pair.Target.Config, "guarded")
	require.NoError(t, err)
	args := append([]string{"move"}, pivotcheckArgs("guarded")...)
	args = append(args, "--wait-for-hosts", "--host-timeout", "3m", "--backup-dir", filepath.Join(t.TempDir(), "backup"))
	out, code = run(ctx, t, pivotcheck, args...)
	states := rec.States()
	require.NoError(t, rec.Stop())
	require.NoError(t, srcRec.Stop())
	pods.Stop()
	t.Logf("pivotcheck move:\n%s\nhost journeys: %s", out, strings.Join(scenario.Journeys(states), "; "))
	require.Zero(t, code, out)
	require.Empty(t, scenario.Disturbed(before, states), "pivotcheck move disturbed hosts")
	ok, pending := scenario.Settled(before, rec.Last())
	require.True(t, ok, "every host is back in its pre-move state, unpaused: %s", pending)

	// Hosts are handed over first (while the source Ironic can still be
	// kept if anything refuses); the Ironic hand-over then waits for the
	// source Ironic's pods, which the garbage collector and kwok really
	// remove, before clusterctl copies anything to the target.
	gone, seen := pods.Gone()
	firstPause := srcRec.FirstPaused(hostsafety.PivotcheckPauseValue)
	firstCopy := rec.FirstSeen()
	require.Positive(t, seen, "the source Ironic's pods were watched")
	require.False(t, gone.IsZero(), "every Ironic pod of the source is gone")
	require.False(t, firstPause.IsZero(), "pivotcheck paused the source hosts")
	require.True(t, firstPause.Before(gone), "hosts handed over (%s) before Ironic was stopped (%s)", firstPause.Format(time.RFC3339Nano), gone.Format(time.RFC3339Nano))
	require.True(t, gone.Before(firstCopy), "the last Ironic pod went (%s) before the first host was copied to the target (%s)", gone.Format(time.RFC3339Nano), firstCopy.Format(time.RFC3339Nano))

	// The source Ironic is gone, pods included: the garbage collector and
	// kwok removed them, and the hand-over waited for that.
	dep := &appsv1.Deployment{}
	require.Error(t, pair.Bootstrap.Client.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, dep))
	require.NoError(t, pair.Bootstrap.Client.List(ctx, ironicPods, client.InNamespace(fixture.BMONamespace), client.MatchingLabels{"name": "ironic"}))
	require.Empty(t, ironicPods.Items)
	require.Contains(t, out, "ironic-handover")
}

package e2e

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/scenario"
)

// TestLabNoHostDisturbed is the project's reason to exist, observed at the
// BMCs: two identical workload clusters; BMO runs without test mode on
// both sides, each against its cluster's own real Ironic (the bootstrap's
// deployed the hosts), with CAPM3 on both sides. A plain `clusterctl move`
// of the first disturbs a host in the target: the spare, which CAPM3 does
// not annotate, arrives without its status and the target's BMO registers
// and inspects it again, so the target's Ironic writes to its BMC; the
// writes each Ironic makes to each host's BMC are counted (the source
// Ironic keeps running: nothing hands it over). `pivotcheck
// move` of the second leaves every host in its pre-move state, from the
// first create in the target until --wait-for-hosts returns, the target's
// Ironic adopts every node, and neither Ironic writes to any BMC. On the
// way it checks the real Ironic hand-over: the source Ironic's pods, run
// by kwok, are removed by the garbage collector, and the Ironic process
// they stand for stops, before the first host is copied.
func TestLabNoHostDisturbed(t *testing.T) {
	ctx, ip := ironicTest(t)
	opts := func(ns string) fixture.Options {
		return fixture.Options{Namespace: ns, ClusterName: "lab1", ControlPlane: 2, Workers: 1, SpareHosts: 1, Hardware: ip.Hardware()}
	}
	b := buildAll(ctx, t, opts("plain"), opts("guarded"))
	plainRes, beforePlain := b[0].res, b[0].before
	res, before := b[1].res, b[1].before
	waitPoweredOn(ctx, t, pair.Bootstrap, "plain", plainRes.Hosts[:opts("plain").Machines()])
	waitPoweredOn(ctx, t, pair.Bootstrap, "guarded", res.Hosts[:opts("guarded").Machines()])
	source, target := pair.Bootstrap.Lab.IronicName(), pair.Target.Lab.IronicName()
	// The lab disables inspection to build the hosts (nothing here answers
	// an inspection); the spare hosts then get the inspection a user's
	// hosts have: a BMO that registers one again inspects it.
	spare := map[string]string{"plain": plainRes.Hosts[len(plainRes.Hosts)-1], "guarded": res.Hosts[len(res.Hosts)-1]}
	for ns, host := range spare {
		h := &bmov1alpha1.BareMetalHost{}
		h.Namespace, h.Name = ns, host
		patch := []byte(`{"metadata":{"annotations":{"` + bmov1alpha1.InspectAnnotationPrefix + `":null}}}`)
		require.NoError(t, pair.Bootstrap.Client.Patch(ctx, h, client.RawPatch(types.MergePatchType, patch)))
	}

	// 1. clusterctl move alone.
	rec, err := scenario.Record(ctx, pair.Target.Config, "plain")
	require.NoError(t, err)
	w, err := ip.Watch(ctx, "plain")
	require.NoError(t, err)
	start := time.Now()
	out, code := run(ctx, t, clusterctl, append([]string{"move"}, clusterctlArgs("plain")...)...)
	require.Zero(t, code, out)
	consumed := maps.Clone(beforePlain)
	delete(consumed, spare["plain"])
	require.NoError(t, scenario.WaitSettled(ctx, rec, consumed, 3*time.Minute), "journeys: %v", scenario.Journeys(rec.States()))
	require.NoError(t, rec.Stop())
	// Watch on until the target's Ironic wrote to a BMC, for longer than
	// Ironic's 60 s power-state sync, until no BMC write came for 20 s
	// (3 min at most).
	for {
		if plain := w.Report(); plain.WritesBy(target) == 0 && time.Since(start) < 3*time.Minute {
			time.Sleep(time.Second)
			continue
		}
		last := start
		for _, wr := range ip.BMC.Recorder.Writes(func(wr lab.BMCWrite) bool { return wr.Kind != lab.BMCSession }) {
			last = wr.Time
		}
		if (time.Since(start) > 70*time.Second && time.Since(last) > 20*time.Second) || time.Since(start) > 3*time.Minute {
			break
		}
		time.Sleep(time.Second)
	}
	require.NoError(t, w.Stop())
	plain := w.Report()
	logReports(t, "clusterctl move alone", plain)
	t.Logf("clusterctl move alone: %d of %d hosts disturbed (%s); BMC writes after the move began: %d by the target's Ironic, %d by the source's (still running), watched %s",
		len(plain.Disturbed()), len(plain), strings.Join(plain.Disturbed(), ", "), plain.WritesBy(target), plain.WritesBy(source), time.Since(start).Round(time.Second))
	require.Contains(t, plain.Disturbed(), spare["plain"], "the harness must see the harm of a plain clusterctl move")
	require.Positive(t, len(reportOf(t, plain, spare["plain"]).Writes[target]), "the target's Ironic wrote to the BMC of the spare host its BMO took for new")

	// 2. pivotcheck move.
	ironicPods := &corev1.PodList{}
	require.NoError(t, pair.Bootstrap.Client.List(ctx, ironicPods, client.InNamespace(fixture.BMONamespace), client.MatchingLabels{"name": "ironic"}))
	require.NotEmpty(t, ironicPods.Items, "the source's Ironic runs as real pods before the move")
	require.True(t, pair.Bootstrap.Lab.IronicRuns(), "the source's Ironic process runs before the move")
	pods, err := scenario.WatchPods(ctx, pair.Bootstrap.Config, fixture.BMONamespace, map[string]string{"name": "ironic"})
	require.NoError(t, err)
	srcRec, err := scenario.Record(ctx, pair.Bootstrap.Config, "guarded")
	require.NoError(t, err)
	rec, err = scenario.Record(ctx, pair.Target.Config, "guarded")
	require.NoError(t, err)
	w, err = ip.Watch(ctx, "guarded")
	require.NoError(t, err)
	start = time.Now()
	args := append([]string{"move"}, pivotcheckArgs("guarded")...)
	backup := filepath.Join(t.TempDir(), "backup")
	// --ironic-url: the wait takes the target Ironic's nodes as its evidence.
	args = append(args, "--wait-for-hosts", "--host-timeout", "4m", "--backup-dir", backup, "--ironic-url", ip.Target.Lab.IronicURL())
	out, code = run(ctx, t, pivotcheck, args...)
	states := rec.States()
	require.NoError(t, rec.Stop())
	require.NoError(t, srcRec.Stop())
	pods.Stop()
	t.Logf("pivotcheck move (%s):\n%s\nhost journeys: %s", time.Since(start).Round(time.Millisecond), out, strings.Join(scenario.Journeys(states), "; "))
	require.Zero(t, code, out)
	require.Empty(t, scenario.Disturbed(before, states), "pivotcheck move disturbed hosts")
	ok, pending := scenario.Settled(before, rec.Last())
	require.True(t, ok, "every host is back in its pre-move state, unpaused: %s", pending)
	guarded := waitNodesSettled(t, w, "pivotcheck move", 3*time.Minute)
	requireAdopted(t, guarded)
	requireCountedAdopted(t, out, guarded)
	requireIronicEvidence(t, backup, guarded)

	// Hosts are handed over first (while the source Ironic can still be
	// kept if anything refuses); the Ironic hand-over then waits for the
	// source Ironic's pods, which the garbage collector and kwok really
	// remove (and with them the Ironic process), before clusterctl copies
	// anything to the target.
	gone, seen := pods.Gone()
	firstPause := srcRec.FirstPaused(hostsafety.PivotcheckPauseValue)
	firstCopy := rec.FirstSeen()
	require.Positive(t, seen, "the source Ironic's pods were watched")
	require.False(t, gone.IsZero(), "every Ironic pod of the source is gone")
	require.False(t, firstPause.IsZero(), "pivotcheck paused the source hosts")
	require.True(t, firstPause.Before(gone), "hosts handed over (%s) before Ironic was stopped (%s)", firstPause.Format(time.RFC3339Nano), gone.Format(time.RFC3339Nano))
	require.True(t, gone.Before(firstCopy), "the last Ironic pod went (%s) before the first host was copied to the target (%s)", gone.Format(time.RFC3339Nano), firstCopy.Format(time.RFC3339Nano))
	var stopped time.Time
	for _, e := range pair.Bootstrap.Lab.IronicEvents() {
		if !e.Started && e.Time.After(start) {
			stopped = e.Time
			break
		}
	}
	// The lab stops the process once kwok removed its pod, seconds later
	// (a kubelet removes a pod only once its containers have exited): the
	// ordering that matters is the pods' above, and no BMC write by the
	// source's Ironic after the move began (requireAdopted).
	require.False(t, stopped.IsZero(), "the source's Ironic process stopped during the move")
	require.False(t, pair.Bootstrap.Lab.IronicRuns())
	t.Logf("source Ironic: pods gone %s after the move began, process stopped %s after, first host copied %s after",
		gone.Sub(start).Round(time.Millisecond), stopped.Sub(start).Round(time.Millisecond), firstCopy.Sub(start).Round(time.Millisecond))

	// The source Ironic is gone, pods included: the garbage collector and
	// kwok removed them, and the hand-over waited for that.
	dep := &appsv1.Deployment{}
	require.Error(t, pair.Bootstrap.Client.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, dep))
	require.NoError(t, pair.Bootstrap.Client.List(ctx, ironicPods, client.InNamespace(fixture.BMONamespace), client.MatchingLabels{"name": "ironic"}))
	require.Empty(t, ironicPods.Items)
	require.Contains(t, out, "ironic-handover")
}

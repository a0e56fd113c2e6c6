package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/scenario"
)

// TestLabMoveBack: a workload cluster goes to the target with pivotcheck
// move and comes back with pivotcheck move-back (same flags: --kubeconfig
// stays the bootstrap). BMO runs without test mode on both sides, against
// each cluster's own real Ironic; the bootstrap's Ironic deployed the
// hosts. Each way, the Ironic of the side the hosts leave is handed over
// (its process stops with its pods), the Ironic of the side they arrive in
// adopts every node (enroll → manageable → adopting → active; a spare host's
// node rests manageable), and neither Ironic writes to any BMC.
func TestLabMoveBack(t *testing.T) {
	ctx, ip := ironicTest(t)
	opts := fixture.Options{Namespace: "roundtrip", ClusterName: "lab5", ControlPlane: 1, Workers: 1, SpareHosts: 1, Hardware: ip.Hardware()}
	res, _ := build(ctx, t, opts)
	waitPoweredOn(ctx, t, pair.Bootstrap, opts.Namespace, res.Hosts[:opts.Machines()])

	there, err := ip.Watch(ctx, opts.Namespace)
	require.NoError(t, err)
	args := append(pivotcheckArgs(opts.Namespace), "--wait-for-hosts", "--host-timeout", "4m")
	start := time.Now()
	out, code := run(ctx, t, pivotcheck, append([]string{"move", "--backup-dir", filepath.Join(t.TempDir(), "there")}, args...)...)
	t.Logf("move (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	require.Zero(t, code, out)
	rep := waitNodesSettled(t, there, "move", 3*time.Minute)
	requireAdopted(t, rep)
	requireCountedAdopted(t, out, rep)
	require.False(t, pair.Bootstrap.Lab.IronicRuns(), "the bootstrap's Ironic was handed over")

	// The operator brings the bootstrap's Ironic back (a fresh database, as
	// a new pod's) before moving back.
	require.NoError(t, scenario.InstallManagement(ctx, pair.Bootstrap))
	require.NoError(t, pair.Bootstrap.Lab.WaitIronic(ctx, true, scenario.IronicReadyTimeout))
	back, err := ip.WatchIn(ctx, opts.Namespace, pair.Bootstrap)
	require.NoError(t, err)
	start = time.Now()
	out, code = run(ctx, t, pivotcheck, append([]string{"move-back", "--backup-dir", filepath.Join(t.TempDir(), "back")}, args...)...)
	t.Logf("move-back (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	require.Zero(t, code, out)
	require.Contains(t, out, "ironic-handover")
	rep = waitNodesSettled(t, back, "move-back", 3*time.Minute)
	requireAdopted(t, rep)
	requireCountedAdopted(t, out, rep)
	require.False(t, pair.Target.Lab.IronicRuns(), "the target's Ironic was handed over")

	// Nothing of the namespace is left in the target.
	hosts, err := scenario.HostStates(ctx, pair.Target.Client, opts.Namespace)
	require.NoError(t, err)
	require.Empty(t, hosts)
}

package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/fixture"
	"github.com/pivotcheck/pivotcheck/internal/scenario"
)

// TestLabMoveBack: a workload cluster goes to the target with pivotcheck
// move and comes back with pivotcheck move-back (same flags: --kubeconfig
// stays the bootstrap). Each way, with the real BMO and CAPM3 on both
// sides, no host leaves its state in the cluster it arrives in, and the
// Ironic of the side it leaves is handed over.
func TestLabMoveBack(t *testing.T) {
	ctx := labTest(t)
	opts := fixture.Options{Namespace: "roundtrip", ClusterName: "lab5", ControlPlane: 1, Workers: 1, SpareHosts: 1}
	_, before := build(ctx, t, opts)

	there, err := scenario.Record(ctx, pair.Target.Config, opts.Namespace)
	require.NoError(t, err)
	args := append(pivotcheckArgs(opts.Namespace), "--wait-for-hosts", "--host-timeout", "3m")
	out, code := run(ctx, t, pivotcheck, append([]string{"move", "--backup-dir", filepath.Join(t.TempDir(), "there")}, args...)...)
	require.NoError(t, there.Stop())
	require.Zero(t, code, out)
	require.Empty(t, scenario.Disturbed(before, there.States()), "move: %s", strings.Join(scenario.Journeys(there.States()), "; "))

	// The operator brings the bootstrap's Ironic back before moving back.
	require.NoError(t, scenario.InstallManagement(ctx, pair.Bootstrap))
	back, err := scenario.Record(ctx, pair.Bootstrap.Config, opts.Namespace)
	require.NoError(t, err)
	out, code = run(ctx, t, pivotcheck, append([]string{"move-back", "--backup-dir", filepath.Join(t.TempDir(), "back")}, args...)...)
	states := back.States()
	require.NoError(t, back.Stop())
	t.Logf("move-back:\n%s\nhost journeys in the bootstrap: %s", out, strings.Join(scenario.Journeys(states), "; "))
	require.Zero(t, code, out)
	require.Empty(t, scenario.Disturbed(before, states))
	ok, pending := scenario.Settled(before, back.Last())
	require.True(t, ok, pending)
	require.Contains(t, out, "ironic-handover")

	// Nothing of the namespace is left in the target.
	hosts, err := scenario.HostStates(ctx, pair.Target.Client, opts.Namespace)
	require.NoError(t, err)
	require.Empty(t, hosts)
}

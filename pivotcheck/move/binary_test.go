package move

import (
	"context"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

// TestMoveWithClusterctlBinary: --clusterctl runs the user's clusterctl
// (here the v1.14.2 CLI `make tools` builds, on PATH under `make test`)
// and its output still drives the progress counts.
func TestMoveWithClusterctlBinary(t *testing.T) {
	needEnv(t)
	bin, err := exec.LookPath("clusterctl")
	if err != nil {
		t.Skip("clusterctl not on PATH (make test puts the one from make tools there)")
	}
	ctx := context.Background()
	const ns = "binary"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 1})
	require.NoError(t, err)
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.Clusterctl = bin
	opts.WaitForHosts = false
	rep, err := Run(ctx, opts)
	require.NoError(t, err, "report: %+v", rep)
	require.True(t, rep.Verified)
	require.Equal(t, len(res.Objects), rep.Created)
	require.Equal(t, len(res.Objects), rep.Deleted)
	requireMoved(t, res, pair.Bootstrap, pair.Target)
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/fixture"
	"github.com/pivotcheck/pivotcheck/internal/scenario"
)

// labTest prepares a lab test: the source's management components are
// (re)installed, and on failure the controllers' logs are printed.
func labTest(t *testing.T) context.Context {
	t.Helper()
	usePair(t, false)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("bootstrap controllers:\n" + pair.Bootstrap.Lab.Logs(30))
			t.Log("target controllers:\n" + pair.Target.Lab.Logs(30))
		}
	})
	ctx := context.Background()
	require.NoError(t, scenario.InstallManagement(ctx, pair.Bootstrap))
	require.NoError(t, scenario.InstallManagement(ctx, pair.Target))
	return ctx
}

// build builds a workload cluster in the bootstrap with the lab's
// controllers, and returns its hosts' states before any move.
func build(ctx context.Context, t *testing.T, opts fixture.Options) (*fixture.Result, map[string]bmov1alpha1.ProvisioningState) {
	t.Helper()
	start := time.Now()
	timeout := 3 * time.Minute
	if opts.Hardware != nil {
		// The bootstrap's Ironic deploys each consumed host for real.
		timeout = 8 * time.Minute
	}
	res, err := fixture.LabBuild(ctx, pair.Bootstrap.Client, opts, timeout)
	require.NoError(t, err, "controllers: %v", errors.Join(pair.Bootstrap.Lab.Check(), pair.Target.Lab.Check()))
	t.Logf("workload cluster %s/%s built by the controllers in %s", opts.Namespace, opts.ClusterName, time.Since(start).Round(time.Millisecond))
	before, err := scenario.HostStates(ctx, pair.Bootstrap.Client, opts.Namespace)
	require.NoError(t, err)
	return res, before
}

// run runs a command as an operator would and returns its combined output
// and exit code.
func run(ctx context.Context, t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "running %s: %v", bin, err)
		code = ee.ExitCode()
	}
	return out.String(), code
}

// kubeconfigArgs are the source and target flags, pivotcheck's and clusterctl's.
func pivotcheckArgs(ns string) []string {
	return []string{"--kubeconfig", pair.Bootstrap.Kubeconfig, "--kubeconfig-context", pair.Bootstrap.Context,
		"--to-kubeconfig", pair.Target.Kubeconfig, "--to-kubeconfig-context", pair.Target.Context, "-n", ns}
}

func clusterctlArgs(ns string) []string {
	return []string{"--kubeconfig", pair.Bootstrap.Kubeconfig, "--kubeconfig-context", pair.Bootstrap.Context,
		"--to-kubeconfig", pair.Target.Kubeconfig, "--to-kubeconfig-context", pair.Target.Context, "-n", ns}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return string(raw)
}

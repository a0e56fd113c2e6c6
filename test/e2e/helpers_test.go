package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/scenario"
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
	built := buildAll(ctx, t, opts)
	return built[0].res, built[0].before
}

// built is one workload cluster buildAll built.
type built struct {
	res    *fixture.Result
	before map[string]bmov1alpha1.ProvisioningState
}

// buildAll builds workload clusters side by side (with Hardware, the
// bootstrap's Ironic deploys their hosts at once), and returns each one's
// hosts' states before any move, in the order of opts.
func buildAll(ctx context.Context, t *testing.T, opts ...fixture.Options) []built {
	t.Helper()
	out := make([]built, len(opts))
	errs := make([]error, len(opts))
	var wg sync.WaitGroup
	for i, o := range opts {
		wg.Go(func() {
			start := time.Now()
			timeout := 3 * time.Minute
			if o.Hardware != nil {
				// The bootstrap's Ironic deploys each consumed host for real.
				timeout = 10 * time.Minute
			}
			res, err := fixture.LabBuild(ctx, pair.Bootstrap.Client, o, timeout)
			if err != nil {
				errs[i] = fmt.Errorf("building %s/%s: %w", o.Namespace, o.ClusterName, err)
				return
			}
			t.Logf("workload cluster %s/%s built by the controllers in %s", o.Namespace, o.ClusterName, time.Since(start).Round(time.Millisecond))
			before, err := scenario.HostStates(ctx, pair.Bootstrap.Client, o.Namespace)
			errs[i] = err
			out[i] = built{res: res, before: before}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...), "controllers: %v", errors.Join(pair.Bootstrap.Lab.Check(), pair.Target.Lab.Check()))
	return out
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

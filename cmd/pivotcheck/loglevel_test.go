package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

func TestZapLevel(t *testing.T) {
	require.Equal(t, "info", zapLevel(0).String())
	require.Equal(t, "info", zapLevel(-1).String())
	require.Equal(t, "Level(-2)", zapLevel(2).String())
}

// clusterctlLines are the lines of stderr (zap JSON) logged by clusterctl
// itself: its logger is named clusterctl under pivotcheck's.
func clusterctlLines(stderr string) []string {
	var out []string
	for l := range strings.SplitSeq(stderr, "\n") {
		if strings.Contains(l, `.clusterctl","msg"`) {
			out = append(out, l)
		}
	}
	return out
}

// TestClusterctlLogsOnlyFromV2 runs the built binary (the logger is
// process-wide, set once per process) against two envtest clusters:
// preflight and move print none of clusterctl's own log lines at the
// default -v 0, and print them at -v 2.
func TestClusterctlLogsOnlyFromV2(t *testing.T) {
	if testing.Short() {
		t.Skip("needs envtest")
	}
	// Built before HOME moves, so the build uses the user's Go cache.
	bin := filepath.Join(t.TempDir(), "pivotcheck")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	ctx := context.Background()
	pair := startMovePair(ctx, t, 0)
	src := pair.Bootstrap.Client

	run := func(args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "pivotcheck %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), &stdout, &stderr)
		return stdout.String(), stderr.String()
	}
	clusters := func(cmd, ns string, extra ...string) []string {
		return append([]string{cmd, "--kubeconfig", pair.Bootstrap.Kubeconfig, "--context", pair.Bootstrap.Context,
			"--to-kubeconfig", pair.Target.Kubeconfig, "--to-context", pair.Target.Context, "-n", ns}, extra...)
	}
	moveFlags := func() []string {
		return []string{"--backup-dir", filepath.Join(t.TempDir(), "backup"), "--target-ironic-timeout", "20s",
			"--ironic-handover", "already-removed"}
	}

	for _, ns := range []string{"quiet", "loud"} {
		_, err := fixture.Build(ctx, src, fixture.Options{Namespace: ns})
		require.NoError(t, err)
	}

	// preflight runs clusterctl's dry-run move for its object list.
	_, stderr := run(clusters("preflight", "quiet")...)
	require.Empty(t, clusterctlLines(stderr), "preflight -v 0 printed clusterctl's logs:\n%s", stderr)
	require.NotContains(t, stderr, `"msg":"Performing move..."`)
	_, stderr = run(clusters("preflight", "quiet", "-v", "2")...)
	require.NotEmpty(t, clusterctlLines(stderr), "preflight -v 2 printed no clusterctl logs:\n%s", stderr)
	require.Contains(t, stderr, `"logger":"preflight.clusterctl","msg":"Performing move..."`)

	// move: the dry run for the plan, then the move itself.
	_, stderr = run(append(clusters("move", "quiet"), moveFlags()...)...)
	require.Empty(t, clusterctlLines(stderr), "move -v 0 printed clusterctl's logs:\n%s", stderr)
	require.NotContains(t, stderr, `"msg":"Performing move..."`)
	require.Contains(t, stderr, "Creating objects in the target cluster:", "pivotcheck's own progress still shows")
	_, stderr = run(append(clusters("move", "loud", "-v", "2"), moveFlags()...)...)
	require.NotEmpty(t, clusterctlLines(stderr), "move -v 2 printed no clusterctl logs:\n%s", stderr)
	require.Contains(t, stderr, `"logger":"move.clusterctl","msg":"Creating objects in the target cluster"`)
}

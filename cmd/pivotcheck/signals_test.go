package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSIGHUPCancelsTheRun: a real SIGHUP (what a dropped SSH session
// sends) to this process cancels the context every long command runs
// under, as SIGTERM and Ctrl-C do, instead of killing the process
// (SIGHUP's default action, which would end this test binary).
func TestSIGHUPCancelsTheRun(t *testing.T) {
	ctx, stop := signalContext(context.Background())
	defer stop()
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGHUP did not cancel the run's context")
	}
	require.Contains(t, stopSignals, os.Signal(syscall.SIGTERM))
	require.Contains(t, stopSignals, os.Interrupt)
}

// TestStaleResolvedKubeconfigsAreSwept: the resolved-kubeconfig folder of
// a run that died (its pid is gone) is removed by the next run; that of a
// live run and anything not pivotcheck's are kept; a run's own folder is
// named with its pid and removed by its cleanup.
func TestStaleResolvedKubeconfigsAreSwept(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	deadDir := filepath.Join(tmp, fmt.Sprintf("%s%d-123", resolvedPrefix, dead.Process.Pid))
	liveDir := filepath.Join(tmp, fmt.Sprintf("%s%d-456", resolvedPrefix, os.Getppid()))
	otherDir := filepath.Join(tmp, "pivotcheck-kubeconfig-notapid-1")
	for _, d := range []string{deadDir, liveDir, otherDir} {
		require.NoError(t, os.MkdirAll(d, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(d, "cluster-0.kubeconfig"), []byte("token: secret"), 0o600))
	}

	kc := twoContextKubeconfig(t)
	f := parsePivotFlags(t, "--kubeconfig", kc, "--to-kubeconfig", kc, "--to-as", "bob")
	src, dst := f.source, f.target
	cleanup, err := standalone(&src, &dst)
	require.NoError(t, err)
	_, err = os.Stat(deadDir)
	require.True(t, os.IsNotExist(err), "the folder of dead pid %d is left: %v", dead.Process.Pid, err)
	require.DirExists(t, liveDir)
	require.DirExists(t, otherDir)
	own := filepath.Dir(dst.Kubeconfig)
	require.True(t, strings.HasPrefix(filepath.Base(own), fmt.Sprintf("%s%d-", resolvedPrefix, os.Getpid())), own)
	require.Equal(t, tmp, filepath.Dir(own))
	cleanup()
	require.NoDirExists(t, own)
}

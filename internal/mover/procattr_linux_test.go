//go:build linux

package mover

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/kube"
)

// parentEnv, when set in this test binary's environment, makes
// TestClusterctlParentHelper act as pivotcheck: it runs Binary.Move with
// the clusterctl at that path and never returns on its own.
const parentEnv = "PIVOTCHECK_TEST_CLUSTERCTL_PARENT"

func TestClusterctlParentHelper(t *testing.T) {
	path := os.Getenv(parentEnv)
	if path == "" {
		t.Skip("helper process of TestClusterctlDiesWithKilledParent")
	}
	_ = Binary{Path: path}.Move(context.Background(), Options{Namespace: "ns", To: kube.Cluster{Kubeconfig: "k"}})
	os.Exit(0)
}

// TestClusterctlDiesWithKilledParent: a pivotcheck killed with SIGKILL (no
// chance to cancel anything) takes its clusterctl child with it. The
// stand-in execs into a long sleep, as the real clusterctl is one process.
func TestClusterctlDiesWithKilledParent(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "clusterctl.pid")
	fake := filepath.Join(dir, "clusterctl")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\necho $$ > "+pidfile+".tmp && mv "+pidfile+".tmp "+pidfile+"\nexec sleep 600\n"), 0o755))
	parent := exec.Command(os.Args[0], "-test.run=^TestClusterctlParentHelper$", "-test.short")
	parent.Env = append(os.Environ(), parentEnv+"="+fake)
	require.NoError(t, parent.Start())
	waited := make(chan struct{})
	go func() { _ = parent.Wait(); close(waited) }()
	t.Cleanup(func() { _ = parent.Process.Kill(); <-waited })

	var child int
	require.Eventually(t, func() bool {
		raw, err := os.ReadFile(pidfile)
		if err != nil {
			return false
		}
		child, err = strconv.Atoi(strings.TrimSpace(string(raw)))
		return err == nil
	}, 30*time.Second, 20*time.Millisecond, "the clusterctl stand-in never started")
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })
	require.False(t, processGone(child), "the stand-in must run before the parent is killed")

	require.NoError(t, parent.Process.Signal(syscall.SIGKILL))
	<-waited
	require.Eventually(t, func() bool { return processGone(child) }, 5*time.Second, 20*time.Millisecond,
		"clusterctl (pid %d) outlived the pivotcheck that started it", child)
}

// processGone: no such process, or a zombie (its parent is gone and init
// has not reaped it yet).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] == "Z"
}

// TestCancelSendsSIGTERMThenKills: a cancelled run asks clusterctl to stop
// (SIGTERM, which it may handle) and kills it after stopGrace when it does
// not exit.
func TestCancelSendsSIGTERMThenKills(t *testing.T) {
	for _, tc := range []struct {
		name            string
		trap            string
		atLeast, atMost time.Duration
	}{
		{"exits on SIGTERM", `trap 'echo term > MARK; exit 143' TERM`, 0, stopGrace},
		{"ignores SIGTERM", `trap 'echo term > MARK' TERM`, stopGrace, stopGrace + 3*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mark := filepath.Join(dir, "mark")
			started := filepath.Join(dir, "started")
			fake := filepath.Join(dir, "clusterctl")
			// sleep in the background and wait: the shell runs its trap at once.
			script := "#!/bin/sh\n" + strings.ReplaceAll(tc.trap, "MARK", mark) + "\ntouch " + started + "\nwhile true; do sleep 1 & wait $!; done\n"
			require.NoError(t, os.WriteFile(fake, []byte(script), 0o755))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- Binary{Path: fake}.Move(ctx, Options{Namespace: "ns", To: kube.Cluster{Kubeconfig: "k"}})
			}()
			require.Eventually(t, func() bool { _, err := os.Stat(started); return err == nil }, 10*time.Second, 10*time.Millisecond)
			start := time.Now()
			cancel()
			select {
			case err := <-done:
				require.Error(t, err)
				took := time.Since(start)
				t.Logf("returned %s after the cancel", took)
				require.Less(t, took, tc.atMost)
				require.GreaterOrEqual(t, took, tc.atLeast, "killed before its grace period")
			case <-time.After(tc.atMost + 5*time.Second):
				t.Fatal("the cancelled run did not return")
			}
			raw, err := os.ReadFile(mark)
			require.NoError(t, err, "clusterctl never got SIGTERM")
			require.Equal(t, "term\n", string(raw))
		})
	}
}

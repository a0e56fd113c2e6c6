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
	_ = Binary{Path: path}.Move(context.Background(), Options{Namespace: "ns", To: kube.Target{Kubeconfig: "k"}})
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

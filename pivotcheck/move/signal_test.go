package move

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSIGTERMWithClusterctlPrintingOneMiBLine: a clusterctl stand-in (a
// shell script: the point is its output, not a move) prints one 1 MiB
// line, then clusterctl's "Creating objects" step line, then waits with a
// child process. `pivotcheck move --clusterctl` (a real subprocess) reads
// past the long line (the step line reaches its progress output), and a
// real SIGTERM ends it within 10 s with the failure report; the stand-in's
// child is gone too (clusterctl runs in its own process group). The
// printed resume command, run with the built-in library, completes.
func TestSIGTERMWithClusterctlPrintingOneMiBLine(t *testing.T) {
	needEnv(t)
	env := newMatrixEnv(t)
	const ns = "sigterm"
	refs := fixtureFor(t, ns)
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "child.pid")
	fake := filepath.Join(dir, "clusterctl")
	script := "#!/bin/sh\nhead -c 1048576 /dev/zero | tr '\\0' x\necho\necho 'Creating objects in the target cluster'\nsleep 600 &\necho $! > " + pidfile + "\nwait\n"
	require.NoError(t, os.WriteFile(fake, []byte(script), 0o755))
	args := []string{"move", "--kubeconfig", pair.Bootstrap.Kubeconfig, "--context", pair.Bootstrap.Context,
		"--to-kubeconfig", pair.Target.Kubeconfig, "--to-context", pair.Target.Context, "-n", ns,
		"--backup-dir", filepath.Join(dir, "backup"), "--fix-owners", "-o", "json", "--target-ironic-timeout", "20s",
		"--clusterctl", fake}
	m := startMove(t, env.bin, args)
	require.Eventually(t, func() bool {
		return strings.Contains(m.stderrText(), "Creating objects in the target cluster:")
	}, 2*time.Minute, 50*time.Millisecond, "the step line after the 1 MiB line never reached the progress output:\n%s", m.stderrText())
	require.Eventually(t, func() bool { _, err := os.Stat(pidfile); return err == nil }, 10*time.Second, 20*time.Millisecond)
	raw, err := os.ReadFile(pidfile)
	require.NoError(t, err)
	child, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(t, err)

	sent := time.Now()
	require.NoError(t, m.cmd.Process.Signal(syscall.SIGTERM))
	m.wait(t, 30*time.Second)
	took := time.Since(sent)
	t.Logf("SIGTERM to exit: %s", took)
	require.Less(t, took, 10*time.Second)
	require.Equal(t, 1, exitCode(m.err))
	rep := m.report(t)
	require.Equal(t, PhaseMove, rep.FailedPhase)
	require.Equal(t, "Creating objects in the target cluster", rep.MoveStep)
	require.Contains(t, rep.SourceState, "planned objects present")
	require.Contains(t, rep.TargetState, "planned objects present")
	require.NotEmpty(t, rep.ResumeCommand)
	require.Eventually(t, func() bool { return gone(child) }, 5*time.Second, 20*time.Millisecond, "the stand-in's child %d outlived the run", child)
	require.Zero(t, lostObjects(t, refs))

	// Resume with the library: drop --clusterctl from the printed command.
	var again []string
	for _, w := range splitShell(rep.ResumeCommand)[1:] {
		if !strings.HasPrefix(w, "--clusterctl=") {
			again = append(again, w)
		}
	}
	r := startMove(t, env.bin, again)
	r.wait(t, 3*time.Minute)
	require.NoError(t, r.err, r.stderrText())
	require.True(t, r.report(t).Verified)
}

// gone: no such process, or a zombie nobody reaped yet.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(f) > 0 && f[0] == "Z"
}

// TestSIGHUPDuringClusterctl: SIGHUP, what a dropped SSH session sends,
// ends `pivotcheck move` like SIGTERM: exit 1 with the failure report, the
// clusterctl child gone, and the backup folder holding the report and
// RESUME.txt with the resume command (a session that vanished may never
// show what was printed).
func TestSIGHUPDuringClusterctl(t *testing.T) {
	needEnv(t)
	env := newMatrixEnv(t)
	const ns = "sighup"
	refs := fixtureFor(t, ns)
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "child.pid")
	fake := filepath.Join(dir, "clusterctl")
	script := "#!/bin/sh\necho 'Creating objects in the target cluster'\necho $$ > " + pidfile + ".tmp && mv " + pidfile + ".tmp " + pidfile + "\nexec sleep 600\n"
	require.NoError(t, os.WriteFile(fake, []byte(script), 0o755))
	backup := filepath.Join(dir, "backup")
	args := []string{"move", "--kubeconfig", pair.Bootstrap.Kubeconfig, "--context", pair.Bootstrap.Context,
		"--to-kubeconfig", pair.Target.Kubeconfig, "--to-context", pair.Target.Context, "-n", ns,
		"--backup-dir", backup, "--fix-owners", "-o", "json", "--target-ironic-timeout", "20s",
		"--clusterctl", fake}
	m := startMove(t, env.bin, args)
	require.Eventually(t, func() bool { _, err := os.Stat(pidfile); return err == nil }, 2*time.Minute, 20*time.Millisecond, "clusterctl never started:\n%s", m.stderrText())
	raw, err := os.ReadFile(pidfile)
	require.NoError(t, err)
	child, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(t, err)

	sent := time.Now()
	require.NoError(t, m.cmd.Process.Signal(syscall.SIGHUP))
	m.wait(t, 30*time.Second)
	t.Logf("SIGHUP to exit: %s", time.Since(sent))
	require.Less(t, time.Since(sent), 10*time.Second)
	require.Equal(t, 1, exitCode(m.err), "SIGHUP must end the run through its failure path, not kill it:\n%s", m.stderrText())
	rep := m.report(t)
	require.Equal(t, PhaseMove, rep.FailedPhase)
	require.NotEmpty(t, rep.ResumeCommand)
	require.Eventually(t, func() bool { return gone(child) }, 5*time.Second, 20*time.Millisecond, "clusterctl %d outlived the run", child)
	require.Zero(t, lostObjects(t, refs))

	txt, err := os.ReadFile(filepath.Join(backup, ResumeFile))
	require.NoError(t, err)
	require.Contains(t, string(txt), "FAILED in phase move")
	require.Contains(t, string(txt), rep.ResumeCommand)
	onDisk, err := os.ReadFile(filepath.Join(backup, ReportFile))
	require.NoError(t, err)
	require.Contains(t, string(onDisk), `"failedPhase": "move"`)
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMoveCommandsExist(t *testing.T) {
	names := map[string]bool{}
	for _, c := range newRootCommand().Commands() {
		names[c.Name()] = true
	}
	for _, want := range []string{"move", "move-back", "restore", "rollback"} {
		require.True(t, names[want], want)
	}
}

func TestMoveFlagValidation(t *testing.T) {
	_, err := run(t, "move", "-n", "ns")
	require.ErrorContains(t, err, "--to-kubeconfig is required")
	_, err = run(t, "move", "-n", "ns", "--to-kubeconfig", "/nonexistent", "--ironic-handover", "external")
	require.ErrorContains(t, err, "--confirm-external-ironic-stopped")
	_, err = run(t, "move", "-n", "ns", "--to-kubeconfig", "/nonexistent", "--ironic-handover", "bogus")
	require.ErrorContains(t, err, `unknown --ironic-handover "bogus"`)
	_, err = run(t, "restore", "--to-kubeconfig", "x")
	require.ErrorContains(t, err, "--from is required")
	_, err = run(t, "move", "-n", "ns", "--to-kubeconfig", "/nonexistent", "--ironic-handover", "already-removed", "--ironic-workload", "no-slash")
	require.ErrorContains(t, err, `ironic workload "no-slash" must be namespace/name`)
}

// TestRestoreRefusesADamagedBackup: one sentence naming the file and the
// field, exit 1, before any cluster is contacted (the kubeconfig does not
// even exist).
func TestRestoreRefusesADamagedBackup(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "objects"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "objects", "Secret_ns_s.yaml"),
		[]byte(`{"apiVersion":"v1","metadata":{"name":"s","namespace":"ns"},"data":{"password":"c2VjcmV0"}}`), 0o600))
	_, err := run(t, "restore", "--from", dir, "--to-kubeconfig", "/nonexistent")
	require.EqualError(t, err, "backup file Secret_ns_s.yaml: document 1 has no kind (a string is required)")
	require.Equal(t, 1, exitCode(err))
}

func TestResumeCommand(t *testing.T) {
	cmd := newMoveCommand()
	require.NoError(t, cmd.ParseFlags([]string{"--kubeconfig", "/a b/src", "-n", "metal3", "--to-kubeconfig", "/dst",
		"--skip-check", "x", "--skip-check", "y", "--fix-owners", "--backup-dir", "old", "--dry-run"}))
	got := resumeCommand(cmd, "move", "/abs/backup")
	require.True(t, strings.HasPrefix(got, "pivotcheck move "), got)
	for _, want := range []string{"--kubeconfig='/a b/src'", "--namespace=metal3", "--to-kubeconfig=/dst", "--skip-check=x", "--skip-check=y",
		"--fix-owners=true", "--backup-dir=/abs/backup", "--resume"} {
		require.Contains(t, got, want)
	}
	require.NotContains(t, got, "dry-run")
	require.NotContains(t, got, "=old")
}

// TestRollbackRefusesWithoutRecordOrAfterCommit: rollback needs the
// record a move keeps, and refuses after the commit point with one sentence
// naming --resume, exit 1, before any cluster is contacted (the
// kubeconfigs do not even exist).
func TestRollbackRefusesWithoutRecordOrAfterCommit(t *testing.T) {
	_, err := run(t, "rollback", "-n", "ns", "--to-kubeconfig", "/nonexistent")
	require.EqualError(t, err, "--backup-dir is required: the backup folder of the move to roll back")
	dir := t.TempDir()
	_, err = run(t, "rollback", "-n", "ns", "--kubeconfig", "/nonexistent", "--to-kubeconfig", "/nonexistent", "--backup-dir", dir)
	require.ErrorContains(t, err, "holds no pivotcheck-state.json")
	require.Equal(t, 1, exitCode(err))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pivotcheck-state.json"), []byte(`{"namespace":"ns","sourceDeleteStarted":"2026-01-01T12:00:00Z"}`), 0o600))
	out, err := run(t, "rollback", "-n", "ns", "--kubeconfig", "/nonexistent", "--to-kubeconfig", "/nonexistent", "--backup-dir", dir, "-o", "json")
	require.EqualError(t, err, "rollback: the move recorded in "+dir+" passed its commit point at 2026-01-01T12:00:00Z (clusterctl began deleting from the source), so it cannot be rolled back: finish it with pivotcheck move --resume --backup-dir "+dir)
	require.Equal(t, 1, exitCode(err))
	require.Contains(t, out, `"done": false`)
	_, err = run(t, "rollback", "-n", "other", "--kubeconfig", "/nonexistent", "--to-kubeconfig", "/nonexistent", "--backup-dir", dir)
	require.ErrorContains(t, err, "records a move of namespace ns, not other")
}

func TestRestoreUnpauseFlag(t *testing.T) {
	cmd := newRestoreCommand()
	f := cmd.Flags().Lookup("unpause")
	require.NotNil(t, f)
	require.Equal(t, "false", f.DefValue, "restored Clusters stay paused by default")
}

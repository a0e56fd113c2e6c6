package move

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

func TestResumeText(t *testing.T) {
	r := &Report{Namespace: "ns", Phases: []PhaseResult{{Name: PhaseBackup, Status: statusOK}}}
	got := resumeText(r, "pivotcheck move -n ns --resume")
	require.Contains(t, got, "last phase: backup (ok)")
	require.Contains(t, got, "killed after that phase")
	require.Contains(t, got, "Resume with:\n  pivotcheck move -n ns --resume\n")

	r.Phases = append(r.Phases, PhaseResult{Name: PhaseMove, Status: statusFailed})
	r.FailedPhase, r.Error = PhaseMove, "context canceled"
	require.Contains(t, resumeText(r, "pivotcheck move --resume"), "FAILED in phase move: context canceled")

	r.Phases, r.FailedPhase = []PhaseResult{{Name: PhaseVerify, Status: statusOK}}, ""
	require.Contains(t, resumeText(r, "pivotcheck move --resume"), "nothing to resume")
	require.NotContains(t, resumeText(r, "pivotcheck move --resume"), "Resume with")
}

// TestRunLeavesItsStateOnDisk: from the moment the backup folder exists,
// the report and the resume command are on disk after every phase, so a
// run killed at the start of the next phase leaves them behind. Read when
// the Ironic hand-over and the move start (where a SIGKILL would hurt most),
// then at the end.
func TestRunLeavesItsStateOnDisk(t *testing.T) {
	needEnv(t)
	ctx := t.Context()
	const ns = "persist"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 1})
	require.NoError(t, err)
	bmoStandIn(ctx, t, pair.Bootstrap.Client, ns)
	bmoStandIn(ctx, t, pair.Target.Client, ns)

	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	read := func() (*Report, string) {
		raw, err := os.ReadFile(filepath.Join(opts.BackupDir, ReportFile))
		require.NoError(t, err)
		r := &Report{}
		require.NoError(t, json.Unmarshal(raw, r))
		txt, err := os.ReadFile(filepath.Join(opts.BackupDir, ResumeFile))
		require.NoError(t, err)
		return r, string(txt)
	}
	seen := map[string][]string{}
	resume := map[string]string{}
	opts.OnPhase = func(name string) {
		if name != PhaseIronic && name != PhaseMove {
			return
		}
		r, txt := read()
		for _, p := range r.Phases {
			seen[name] = append(seen[name], p.Name+"="+p.Status)
		}
		resume[name] = txt
	}
	rep, err := Run(ctx, opts)
	require.NoError(t, err, "report: %+v", rep)
	got := seen[PhaseIronic]
	require.GreaterOrEqual(t, len(got), 4, "%v", got)
	require.Contains(t, got, PhaseChecks+"=ok")
	require.Equal(t, []string{PhaseOwners + "=skipped", PhaseHosts + "=ok", PhaseBackup + "=ok"}, got[len(got)-3:])
	require.Contains(t, seen[PhaseMove], PhaseIronic+"=ok")
	require.Contains(t, resume[PhaseIronic], "last phase: backup (ok)")
	require.Contains(t, resume[PhaseIronic], "Resume with:\n  pivotcheck move --resume\n")
	require.Contains(t, resume[PhaseMove], "last phase: ironic-handover (ok)")

	final, txt := read()
	require.Equal(t, PhaseVerify, final.Phases[len(final.Phases)-1].Name)
	require.Contains(t, txt, "nothing to resume")
	fi, err := os.Stat(filepath.Join(opts.BackupDir, ReportFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

// TestPersistAfterEveryPhase: once the folder exists, each phase leaves
// the report and RESUME.txt; the read-only phases of a fresh run do not
// (its folder must stay empty for a plain re-run).
func TestPersistAfterEveryPhase(t *testing.T) {
	dir := t.TempDir()
	d := &driver{opts: Options{Out: io.Discard, ResumeCommand: "pivotcheck move -n ns --resume"}, log: testLog(t),
		report: &Report{Namespace: "ns", BackupDir: dir}, started: time.Now()}
	ok := func(context.Context) (string, error) { return "fine", nil }
	require.NoError(t, d.phase(t.Context(), PhaseLock, ok))
	require.NoError(t, d.phase(t.Context(), PhaseChecks, ok))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "a fresh run's checks write nothing")

	require.NoError(t, d.phase(t.Context(), PhaseHosts, ok))
	raw, err := os.ReadFile(filepath.Join(dir, ReportFile))
	require.NoError(t, err)
	var r Report
	require.NoError(t, json.Unmarshal(raw, &r))
	require.Len(t, r.Phases, 3)
	require.Equal(t, PhaseHosts, r.Phases[2].Name)
	txt, err := os.ReadFile(filepath.Join(dir, ResumeFile))
	require.NoError(t, err)
	require.Contains(t, string(txt), "last phase: host-handover (ok)")
	require.Contains(t, string(txt), "pivotcheck move -n ns --resume")
	leftovers, err := filepath.Glob(filepath.Join(dir, ".pivotcheck-tmp-*"))
	require.NoError(t, err)
	require.Empty(t, leftovers)

	require.NoError(t, d.phase(t.Context(), PhaseBackup, ok))
	raw, err = os.ReadFile(filepath.Join(dir, ReportFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &r))
	require.Len(t, r.Phases, 4)
}

// The run's last state on disk: report and resume command in the backup folder.

package move

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Files pivotcheck keeps up to date in the backup folder after every
// phase, so a run killed without a chance to print (SIGKILL, a closed
// terminal, a rebooted jump host) leaves its last known state behind.
const (
	ReportFile = "pivotcheck-report.json"
	ResumeFile = "RESUME.txt"
)

// readOnlyPhase: the phases before a run's first write to a cluster.
var readOnlyPhase = map[string]bool{PhaseLock: true, PhasePreflight: true, PhaseChecks: true}

// persist rewrites ReportFile and ResumeFile (atomically) once the backup
// folder exists; a failure to write them is logged, never fatal: the run
// itself is what matters.
func (d *driver) persist() {
	dir := d.report.BackupDir
	if dir == "" || d.opts.DryRun {
		return
	}
	if n := len(d.report.Phases); !d.opts.Resume && n > 0 && readOnlyPhase[d.report.Phases[n-1].Name] {
		// Nothing written yet: a failed fresh run is re-run, not resumed,
		// and must find its (empty) folder as it left it.
		return
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return
	}
	r := *d.report
	if r.TotalSeconds == 0 {
		r.TotalSeconds = time.Since(d.started).Seconds()
	}
	raw, err := jsonIndent(&r)
	if err == nil {
		err = writeFileAtomic(filepath.Join(dir, ReportFile), raw)
	}
	if err == nil {
		err = writeFileAtomic(filepath.Join(dir, ResumeFile), []byte(resumeText(&r, d.opts.ResumeCommand)))
	}
	if err != nil {
		d.log.V(1).Info("could not record the run's state in the backup folder", "dir", dir, "error", err.Error())
	}
}

// resumeText says where the run stands and what to run next.
func resumeText(r *Report, resume string) string {
	last, verified := "none yet", r.Verified
	if n := len(r.Phases); n > 0 {
		p := r.Phases[n-1]
		last = p.Name + " (" + p.Status + ")"
		// Written as the verify phase ends, before the run marks the report.
		verified = verified || (p.Name == PhaseVerify && p.Status == statusOK)
	}
	head := fmt.Sprintf("pivotcheck move of namespace %s from %s to %s\nlast phase: %s, recorded %s\n",
		r.Namespace, r.Source, r.Target, last, time.Now().UTC().Format(time.RFC3339))
	switch {
	case verified && r.FailedPhase == "":
		return head + "The move completed and was verified: nothing to resume.\n"
	case r.FailedPhase != "":
		head += fmt.Sprintf("FAILED in phase %s: %s\n", r.FailedPhase, r.Error)
	default:
		head += "If no pivotcheck runs any more, this run was killed after that phase.\n"
	}
	if resume == "" {
		return head + "No resume command was recorded; see " + ReportFile + ".\n"
	}
	return head + "Resume with:\n  " + resume + "\n"
}

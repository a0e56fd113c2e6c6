// Phase checks: prove, writing nothing, that every later step that can refuse will pass.

package move

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/pivotcheck/pivotcheck/internal/movelock"
)

// checks proves, without writing anything, that every later step that can
// refuse will pass: the backup folder is usable, the Ironic hand-over
// knows what it stops (or the operator said the Ironic is already
// stopped), the target BMO is not older than the source's, and every
// host's hand-over patch is accepted by the source API server in a
// server-side dry run, which runs its admission webhooks (BMO's, when
// installed, rejects for example a status annotation carrying a detach
// error).
func (d *driver) checks(ctx context.Context) (string, error) {
	if err := d.openBackupDir(); err != nil {
		return "", err
	}
	ironicNote, err := d.decideIronic(ctx)
	if err != nil {
		return "", err
	}
	actions, ttag, warnings, err := d.planHosts(ctx)
	if err != nil {
		return "", err
	}
	for _, w := range warnings {
		d.warn(w)
	}
	n, err := d.patchHosts(ctx, actions, true)
	if err != nil {
		return "", err
	}
	// The move writes from here on: its record exists before the first
	// write, so a rollback after a kill finds it.
	if !d.opts.DryRun {
		if err := d.writeState(); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("Ironic: %s; %d host hand-over patch(es) accepted in a server-side dry run (target BMO %s)", ironicNote, n, orUnknown(ttag)), nil
}

// openBackupDir resolves the backup folder and, when it exists, reads what
// an earlier attempt recorded there. A fresh move refuses a folder that is
// not empty (another move's backup must not be mixed in).
func (d *driver) openBackupDir() error {
	abs, err := filepath.Abs(d.opts.BackupDir)
	if err != nil {
		return fmt.Errorf("backup folder %s: %w", d.opts.BackupDir, err)
	}
	d.report.BackupDir = abs
	entries, err := os.ReadDir(abs)
	// The lock file is this run's own (the lock phase created it).
	entries = slices.DeleteFunc(entries, func(e os.DirEntry) bool { return movelock.IsLockFile(e.Name()) })
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("backup folder %s: %w", abs, err)
	case !d.opts.Resume && len(entries) > 0:
		return fmt.Errorf("backup folder %s is not empty: choose a new --backup-dir (or add --resume to continue the move that wrote it)", abs)
	}
	return d.loadPrevious()
}

// loadPrevious reads the plan and state an earlier attempt recorded in
// the backup folder (both optional, both read strictly).
func (d *driver) loadPrevious() error {
	abs := d.report.BackupDir
	raw, err := os.ReadFile(filepath.Join(abs, backupPlanFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("reading %s in %s: %w", backupPlanFile, abs, err)
	default:
		if d.previous, err = ParsePlan(raw); err != nil {
			return fmt.Errorf("%s in %s (the plan of the first attempt): %w", backupPlanFile, abs, err)
		}
	}
	if d.state, err = readState(abs); err != nil {
		return err
	}
	if d.state.Namespace != "" && d.state.Namespace != d.opts.Namespace {
		return fmt.Errorf("backup folder %s belongs to a move of namespace %s, not %s", abs, d.state.Namespace, d.opts.Namespace)
	}
	switch {
	case d.state.RolledBack != nil:
		return fmt.Errorf("the move recorded in backup folder %s was rolled back at %s: start a new move with a new --backup-dir", abs, d.state.RolledBack.Format(time.RFC3339))
	case d.state.RollbackStarted != nil:
		return fmt.Errorf("a rollback of the move recorded in backup folder %s started at %s and did not finish: finish it with pivotcheck rollback --backup-dir %s", abs, d.state.RollbackStarted.Format(time.RFC3339), abs)
	}
	return nil
}

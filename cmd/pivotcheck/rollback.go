package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/pivotcheck/pivotcheck/pivotcheck/move"
)

func newRollbackCommand() *cobra.Command {
	var (
		f            pivotFlags
		backupDir    string
		takeOverLock bool
	)
	cmd := &cobra.Command{
		Use:   "rollback --backup-dir DIR --to-kubeconfig FILE",
		Short: "Return the source to where it was before a move that stopped before clusterctl's first delete",
		Long: `rollback undoes a pivotcheck move that failed or was killed before its
commit point (clusterctl's first delete from the source), from the record the
move keeps in its backup folder: it deletes from the target only the objects
this move created (by UID), unpauses the source Clusters and ClusterClasses
that ran before the move, brings the source Ironic back from its saved
manifests (or scales it back), and removes from each BareMetalHost only the
pause and status annotation pivotcheck added. Everything is read and decided
before the first write; a run killed midway is finished by running it again.
After the commit point it refuses: finish the move with --resume.`,
		Example: `  pivotcheck rollback --kubeconfig bootstrap.kubeconfig --to-kubeconfig target.kubeconfig -n metal3 --backup-dir ./pivotcheck-backup-20260101T120000Z`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if backupDir == "" {
				return errors.New("--backup-dir is required: the backup folder of the move to roll back")
			}
			if err := f.validate(); err != nil {
				return err
			}
			abs, err := filepath.Abs(backupDir)
			if err != nil {
				return fmt.Errorf("backup folder %s: %w", backupDir, err)
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			res, runErr := move.Rollback(ctx, move.RollbackOptions{
				Source: f.source, Target: f.target, Namespace: f.namespace, BackupDir: abs,
				Out: cmd.ErrOrStderr(), Log: ctrl.Log.WithName("rollback"), TakeOverLock: takeOverLock,
			})
			if runErr != nil {
				res.Error = runErr.Error()
			}
			if err := writeRollbackResult(cmd.OutOrStdout(), f.output, res); err != nil {
				return err
			}
			if runErr != nil {
				return &exitError{code: 1, err: fmt.Errorf("rollback: %w", runErr)}
			}
			return nil
		},
	}
	fl := newFlags(cmd)
	f.register(cmd)
	fl.StringVar(&backupDir, "backup-dir", "", "backup folder of the move to roll back (required)")
	fl.BoolVar(&takeOverLock, "take-over-lock", false, "take over the pivotcheck-move Lease of the killed move (expired, or its process gone); a live one is never taken")
	return cmd
}

func writeRollbackResult(w io.Writer, format string, r *move.RollbackResult) error {
	if format != "table" {
		return writeStructured(w, format, r)
	}
	if len(r.Actions) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACTION\tOBJECT\tDETAIL")
		for _, a := range r.Actions {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Action, a.Object, a.Detail)
		}
		_ = tw.Flush()
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", x)
	}
	switch {
	case r.Error != "":
		fmt.Fprintf(w, "\nRollback of namespace %s: FAILED: %s\n", r.Namespace, r.Error)
	case len(r.Actions) == 0:
		fmt.Fprintf(w, "Rollback of namespace %s: nothing left to undo; the source is as it was before the move.\n", r.Namespace)
	default:
		fmt.Fprintf(w, "\nRollback of namespace %s: done (%d writes); the source is as it was before the move.\n", r.Namespace, len(r.Actions))
	}
	return nil
}

package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/pivotcheck/move"
)

func newRestoreCommand() *cobra.Command {
	var (
		from      string
		to        kube.Target
		namespace string
	)
	cmd := &cobra.Command{
		Use:   "restore --from DIR --to-kubeconfig FILE",
		Short: "Put a pivotcheck move backup back into a cluster (clusterctl --from-directory)",
		Long: `restore puts a backup written by pivotcheck move (or a clusterctl move
--to-directory folder) back into a cluster with clusterctl's --from-directory.
Every file is read and checked first: a damaged backup is refused, naming the
file and the field, before anything is created. -n restores only that
namespace's objects (clusterctl itself would restore every file).`,
		Example: `  pivotcheck restore --from ./pivotcheck-backup-20260101T120000Z --to-kubeconfig bootstrap.kubeconfig
  pivotcheck restore --from ./backup --to-kubeconfig bootstrap.kubeconfig --to-context kind-bootstrap -n metal3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return errors.New("--from is required: the backup folder a move wrote")
			}
			if to.Kubeconfig == "" {
				return errors.New("--to-kubeconfig is required: the cluster to restore into")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			n, err := move.Restore(ctx, from, to, namespace, nil, ctrl.Log.WithName("restore"))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Restored %d objects from %s into %s. BareMetalHosts keep pivotcheck's pause: remove baremetalhost.metal3.io/paused when Ironic runs, and BMO restores their status.\n", n, from, to)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&from, "from", "", "backup folder written by pivotcheck move (or clusterctl move --to-directory)")
	fl.StringVar(&to.Kubeconfig, "to-kubeconfig", "", "kubeconfig of the cluster to restore into")
	fl.StringVar(&to.Context, "to-context", "", "context in --to-kubeconfig")
	fl.StringVarP(&namespace, "namespace", "n", "", "restore only this namespace's objects (default: every object in the backup)")
	return cmd
}

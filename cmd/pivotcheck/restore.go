package main

import (
	"errors"
	"fmt"

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
		output    string
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
  pivotcheck restore --from ./backup --to-kubeconfig bootstrap.kubeconfig --to-kubeconfig-context kind-bootstrap -n metal3 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return errors.New("--from is required: the backup folder a move wrote")
			}
			if to.Kubeconfig == "" {
				return errors.New("--to-kubeconfig is required: the cluster to restore into")
			}
			if err := checkOutput(output, "text", "json", "yaml"); err != nil {
				return err
			}
			cleanup, err := standalone(&to)
			if err != nil {
				return err
			}
			defer cleanup()
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			n, err := move.Restore(ctx, from, to, namespace, nil, ctrl.Log.WithName("restore"))
			if err != nil {
				return err
			}
			if output != "text" {
				return writeStructured(cmd.OutOrStdout(), output, restoreResult{Restored: n, From: from, Into: to.String(), Namespace: namespace})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Restored %d objects from %s into %s. BareMetalHosts keep pivotcheck's pause: remove baremetalhost.metal3.io/paused when Ironic runs, and BMO restores their status.\n", n, from, to)
			return nil
		},
	}
	fl := newFlags(cmd)
	fl.StringVar(&from, "from", "", "backup folder written by pivotcheck move (or clusterctl move --to-directory)")
	bindTarget(cmd, &to, "to-", "the cluster to restore into")
	fl.StringVarP(&namespace, "namespace", "n", "", "restore only this namespace's objects (default: every object in the backup)")
	bindOutput(cmd, &output, "text", "text", "json", "yaml")
	return cmd
}

// restoreResult is restore's -o json|yaml output.
type restoreResult struct {
	// Restored counts distinct objects.
	Restored  int    `json:"restored"`
	From      string `json:"from"`
	Into      string `json:"into"`
	Namespace string `json:"namespace,omitempty"`
}

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
		output    string
		unpause   bool
	)
	cmd := &cobra.Command{
		Use:   "restore --from DIR --to-kubeconfig FILE",
		Short: "Put a pivotcheck move backup back into a cluster (clusterctl --from-directory)",
		Long: `restore puts a backup written by pivotcheck move (or a clusterctl move
--to-directory folder) back into a cluster with clusterctl's --from-directory.
Every file is read and checked first: a damaged backup is refused, naming the
file and the field, before anything is created. -n restores only that
namespace's objects (clusterctl itself would restore every file). Restored
Clusters and ClusterClasses stay paused (the cluster the backup came from may
still manage them) unless --unpause is given.`,
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
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			n, err := move.Restore(ctx, from, to, namespace, unpause, nil, ctrl.Log.WithName("restore"))
			if err != nil {
				return err
			}
			if output != "text" {
				return writeStructured(cmd.OutOrStdout(), output, restoreResult{Restored: n, From: from, Into: to.String(), Namespace: namespace, Unpaused: unpause})
			}
			paused := "Clusters stay paused: unpause them (spec.paused) once no other cluster manages them, or restore with --unpause. "
			if unpause {
				paused = "Clusters unpaused. "
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Restored %d objects from %s into %s. %sBareMetalHosts keep pivotcheck's pause: remove baremetalhost.metal3.io/paused when Ironic runs, and BMO restores their status.\n", n, from, to, paused)
			return nil
		},
	}
	fl := newFlags(cmd)
	fl.StringVar(&from, "from", "", "backup folder written by pivotcheck move (or clusterctl move --to-directory)")
	bindTarget(cmd, &to, "to-", "the cluster to restore into")
	fl.StringVarP(&namespace, "namespace", "n", "", "restore only this namespace's objects (default: every object in the backup)")
	fl.BoolVar(&unpause, "unpause", false, "unpause the restored Clusters and ClusterClasses (default: they stay paused)")
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
	// Unpaused: the restored Clusters were unpaused (--unpause).
	Unpaused bool `json:"unpaused"`
}

package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/movelock"
	"github.com/pivotcheck/pivotcheck/pivotcheck/move"
)

func newRestoreCommand() *cobra.Command {
	var (
		from      string
		to        kube.Cluster
		namespace string
		output    string
		takeOver  bool
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
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			release, err := lockRestore(ctx, from, to, namespace, takeOver)
			if err != nil {
				return err
			}
			defer release()
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
	fl.BoolVar(&takeOver, "take-over-lock", false, "take over the pivotcheck-move Lease of a run that stopped renewing it (expired); a live one is never taken")
	return cmd
}

// lockRestore keeps a restore from running while a move, move-back or
// resume of the same namespace(s) runs, and from sharing its backup folder
// with one: the pivotcheck-move Lease in the cluster restored into (in
// each namespace restored; clusterctl creates a missing one anyway) and
// the folder's lock (a plain clusterctl folder is not locked: pivotcheck
// never writes there). It reads the backup first, so a damaged one is
// refused before anything is written.
func lockRestore(ctx context.Context, from string, to kube.Cluster, namespace string, takeOver bool) (func(), error) {
	b, err := move.ReadBackup(from)
	if err != nil {
		return nil, err
	}
	holder := movelock.NewHolder()
	var folder *movelock.FolderLock
	if b.ObjectsDir != b.Dir {
		if folder, err = movelock.LockFolder(b.Dir, holder); err != nil {
			return nil, err
		}
	}
	c, _, err := to.Client(kube.Rate{})
	if err != nil {
		_ = folder.Unlock()
		return nil, err
	}
	nss := map[string]bool{}
	for _, o := range b.Objects {
		if namespace == "" || o.Object.Namespace == namespace {
			nss[o.Object.Namespace] = true
		}
	}
	var sides []movelock.Side
	for _, ns := range slices.Sorted(maps.Keys(nss)) {
		sides = append(sides, movelock.Side{Name: to.String(), Client: c, Namespace: ns, CreateNamespace: true})
	}
	lock, err := movelock.Acquire(ctx, movelock.Options{Holder: holder, TakeOver: takeOver, Log: ctrl.Log.WithName("restore")}, sides...)
	if err != nil {
		_ = folder.Unlock()
		return nil, err
	}
	return func() {
		_ = lock.Release(ctx)
		_ = folder.Unlock()
	}, nil
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

package main

import (
	"flag"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func newRootCommand() *cobra.Command {
	var verbosity int
	root := &cobra.Command{
		Use:   "pivotcheck",
		Short: "Make the Metal3 pivot (clusterctl move) safe",
		Long: `pivotcheck makes the Metal3 pivot safe: moving Cluster API and Metal3 objects
from a bootstrap cluster to a bare-metal target cluster with clusterctl move.

  fn         KRM function: clusterctl labels on CRDs, Ironic keepalived, owner repair
  webhook    admission guard that blocks an unsafe move in the bootstrap cluster
  preflight  check every pivot prerequisite in both clusters
  move       perform the pivot end to end (and move-back, restore, rollback)`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			// Logs go to stderr so stdout stays clean for -o json and KRM output.
			opts := zap.Options{Development: false, Level: zapLevel(verbosity), DestWriter: cmd.ErrOrStderr()}
			logger := zap.New(zap.UseFlagOptions(&opts))
			ctrl.SetLogger(logger)
			klog.SetLogger(logger)
		},
	}
	root.PersistentFlags().IntVarP(&verbosity, "v", "v", 0, "log verbosity (klog style: 0 quiet, 1 progress, 2 adds clusterctl's own log lines, 5 debug)")
	// Hide klog's own flags; -v above covers them.
	klog.InitFlags(flag.NewFlagSet("klog", flag.ContinueOnError))

	root.AddCommand(newVersionCommand())
	root.AddCommand(newFnCommand())
	root.AddCommand(newWebhookCommand())
	root.AddCommand(newPreflightCommand())
	root.AddCommand(newMoveCommand())
	root.AddCommand(newMoveBackCommand())
	root.AddCommand(newRestoreCommand())
	root.AddCommand(newRollbackCommand())
	setDisplayName(root, displayName(os.Args[0]))
	return root
}

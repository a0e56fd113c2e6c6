package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pivotcheck/pivotcheck/fn"
)

func newFnCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "fn [CONFIG.yaml [FILE...]]",
		Short: "Run the pivot-prep KRM function (ResourceList on stdin, or CONFIG.yaml FILE...)",
		Long: `Run the pivot-prep KRM function: clusterctl labels on the Metal3 CRDs, the
ironic-endpoint-keepalived container in the Ironic workload, and build-time
owner-reference repair.

Without arguments it reads a KRM ResourceList on stdin and writes it, with
results, to stdout (kpt fn eval/render --exec, kustomize exec transformers);
warnings also go to stderr unless kpt is the caller (kustomize never shows
results).
With arguments the first is the function config (fn.pivotcheck.dev/v1alpha1
PivotPrep, or a ConfigMap) and the rest are manifest files ("-" or none:
stdin); the objects go to stdout and the results to stderr.
Error results make the command exit 1.`,
		Example: `  # kustomize exec transformer (see config/samples/fn/kustomize)
  kustomize build --enable-alpha-plugins --enable-exec config/samples/fn/kustomize
  # kpt, as an exec function
  kpt fn render config/samples/fn/kpt --allow-exec
  # standalone: config first, then manifest files (or - for stdin)
  pivotcheck fn config/samples/fn/kustomize/pivot-prep.yaml crds.yaml ironic.yaml > fixed.yaml`,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			// Bad input must never crash a pipeline with a stack trace.
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("pivotcheck fn cannot process this input: %v", r)
				}
			}()
			if len(args) == 0 {
				return fn.RunResourceListLog(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
			return fn.RunStandalone(args[0], args[1:], cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}

package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/kyaml/fn/framework/command"

	"github.com/pivotcheck/pivotcheck/fn"
)

func newFnCommand() *cobra.Command {
	// kyaml's command gives both forms: a ResourceList on stdin (kpt,
	// kustomize) and the standalone `fn CONFIG.yaml [FILE...]`. Errors are
	// printed once, by main.
	cmd := command.Build(fn.Processor{}, command.StandaloneEnabled, true)
	cmd.Use = "fn [CONFIG.yaml [FILE...]]"
	cmd.Short = "Run the pivot-prep KRM function (ResourceList on stdin, or CONFIG.yaml FILE...)"
	cmd.Long = `Run the pivot-prep KRM function: clusterctl labels on the Metal3 CRDs, the
ironic-endpoint-keepalived container in the Ironic workload, and build-time
owner-reference repair.

With no arguments it reads a KRM ResourceList on stdin and writes it to stdout
(kpt fn eval/render --exec, kustomize exec transformers). With arguments the
first is the function config (fn.pivotcheck.dev/v1alpha1 PivotPrep, or a
ConfigMap) and the rest are manifest files ("-" for stdin); the transformed
objects go to stdout. Error results make the command exit 1.`
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) (err error) {
		// Bad input must never crash the pipeline with a stack trace.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("pivotcheck fn: cannot process this input: %v", r)
			}
		}()
		return run(c, args)
	}
	return cmd
}

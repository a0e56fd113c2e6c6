package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pivotcheck/pivotcheck/internal/version"
)

func newVersionCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version and the upstream versions pivotcheck was built against",
		Example: `  pivotcheck version
  pivotcheck version -o json
  pivotcheck version -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := version.Get()
			if err := checkOutput(output, "text", "json", "yaml"); err != nil {
				return err
			}
			if output == "text" {
				fmt.Fprintln(cmd.OutOrStdout(), info.String())
				return nil
			}
			return writeStructured(cmd.OutOrStdout(), output, info)
		},
	}
	bindOutput(cmd, &output, "text", "text", "json", "yaml")
	return cmd
}

package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newFnCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "fn",
		Short: "Run the pivot-prep KRM function (ResourceList on stdin, or CONFIG.yaml FILE...)",
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("pivotcheck fn is not implemented yet (tracked in issue 3)")
		},
	}
}

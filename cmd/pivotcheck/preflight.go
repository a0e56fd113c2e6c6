package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newPreflightCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "preflight",
		Short: "Check every pivot prerequisite in the bootstrap and target clusters",
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("pivotcheck preflight is not implemented yet (tracked in issue 5)")
		},
	}
}

package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newMoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "move",
		Short: "Move Cluster API and Metal3 objects to the target cluster, safely",
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("pivotcheck move is not implemented yet (tracked in issue 6)")
		},
	}
}

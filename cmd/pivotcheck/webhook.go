package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newWebhookCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "webhook",
		Short: "Serve the admission webhook that blocks an unsafe move",
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("pivotcheck webhook is not implemented yet (tracked in issue 4)")
		},
	}
}

package main

import "github.com/spf13/cobra"

func newMoveBackCommand() *cobra.Command {
	return newMoveLikeCommand("move-back", true)
}

package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// --ironic-url exists on move and move-back, and a resume keeps it.
func TestMoveIronicURLFlag(t *testing.T) {
	cmd := newMoveCommand()
	require.NotNil(t, cmd.Flags().Lookup("ironic-url"))
	require.NoError(t, cmd.ParseFlags([]string{"-n", "metal3", "--to-kubeconfig", "/dst", "--ironic-url", "https://172.22.0.2:6385"}))
	require.Contains(t, resumeCommand(cmd, "move", "/abs/backup"), "--ironic-url=https://172.22.0.2:6385")
	require.NotNil(t, newMoveLikeCommand("move-back", true).Flags().Lookup("ironic-url"))
}

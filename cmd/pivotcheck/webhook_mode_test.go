package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWebhookMode(t *testing.T) {
	cmd := newWebhookCommand()
	require.Equal(t, "bootstrap", cmd.Flags().Lookup("mode").DefValue)

	cmd = newWebhookCommand()
	cmd.SetArgs([]string{"--mode", "sideways"})
	err := cmd.Execute()
	require.ErrorContains(t, err, `--mode "sideways": use bootstrap`)
}

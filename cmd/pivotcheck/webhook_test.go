package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWebhookFlags(t *testing.T) {
	cmd := newWebhookCommand()
	for _, name := range []string{"port", "cert-dir", "metrics-bind-address", "health-probe-bind-address", "kubeconfig", "ironic", "read-timeout", "tls-min-version"} {
		require.NotNil(t, cmd.Flags().Lookup(name), name)
	}
	require.Equal(t, "9443", cmd.Flags().Lookup("port").DefValue)
	// Metrics as kubebuilder v4 serves them: HTTPS on 8443 with authn/authz.
	require.Equal(t, ":8443", cmd.Flags().Lookup("metrics-bind-address").DefValue)
	require.Equal(t, "true", cmd.Flags().Lookup("metrics-secure").DefValue)

	for args, want := range map[string][]string{
		"bad ironic": {"--ironic", "no-slash"},
		"old TLS":    {"--tls-min-version", "1.1"},
		"slow reads": {"--read-timeout", "5s"},
	} {
		cmd := newWebhookCommand()
		cmd.SetArgs(want)
		err := cmd.Execute()
		require.Error(t, err, args)
	}
}

package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

// TestCompletion keeps cobra's built-in completion command reachable (the
// README tells users to source it).
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "__start_pivotcheck", "zsh": "#compdef pivotcheck"} {
		out, err := run(t, "completion", shell)
		require.NoError(t, err, shell)
		require.Contains(t, out, want, shell)
	}
}

// TestEveryCommandHasExamples: each subcommand's --help shows how to call it.
func TestEveryCommandHasExamples(t *testing.T) {
	for _, c := range newRootCommand().Commands() {
		switch c.Name() {
		case "help", "completion":
			continue
		}
		require.NotEmpty(t, c.Example, "pivotcheck %s has no Example", c.Name())
	}
}

// TestFlagCompletion asks cobra's completion engine (what the generated
// bash/zsh scripts call) for the new flags and their values.
func TestFlagCompletion(t *testing.T) {
	kc := twoContextKubeconfig(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
		not  []string
	}{
		{name: "clusterctl's context flags", args: []string{"move", "--to-kube"}, want: []string{"--to-kubeconfig", "--to-kubeconfig-context"}},
		{name: "override flags", args: []string{"preflight", "--a"}, want: []string{"--as", "--as-group", "--as-uid"}},
		{name: "target override flags", args: []string{"move-back", "--to-re"}, want: []string{"--to-request-timeout"}},
		{name: "restore", args: []string{"restore", "--to-"}, want: []string{"--to-kubeconfig-context", "--to-server", "--to-token"}},
		{name: "one name per option", args: []string{"webhook", "--iro"}, want: []string{"--ironic-workload"}, not: []string{"--ironic\n"}},
		{name: "contexts of --kubeconfig", args: []string{"preflight", "--kubeconfig", kc, "--kubeconfig-context", ""}, want: []string{"ctx-a", "ctx-b"}},
		{name: "contexts of --to-kubeconfig", args: []string{"move", "--to-kubeconfig", kc, "--to-kubeconfig-context", "ctx-"}, want: []string{"ctx-a", "ctx-b"}},
		{name: "output formats", args: []string{"version", "-o", ""}, want: []string{"text", "json", "yaml"}},
		{name: "move output formats", args: []string{"move", "-o", ""}, want: []string{"table", "json", "yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, append([]string{cobra.ShellCompRequestCmd}, tc.args...)...)
			require.NoError(t, err)
			lines := strings.Split(out, "\n")
			for _, w := range tc.want {
				require.True(t, slices.ContainsFunc(lines, func(l string) bool { return l == w || strings.HasPrefix(l, w+"\t") }), "%q not offered:\n%s", w, out)
			}
			for _, n := range tc.not {
				require.NotContains(t, out, n)
			}
		})
	}
}

package main

import (
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// pluginHosts are the CLIs that run pivotcheck as a plugin. Both look up
// "<host>-pivotcheck" on PATH and exec it with that path as argv[0] and the
// arguments after "pivotcheck" (cluster-api cmd/clusterctl/cmd/root.go
// handlePlugins, inlined from kubectl's plugin handler).
var pluginHosts = []string{"clusterctl", "kubectl"}

// displayName is the command as the user typed it: "clusterctl pivotcheck"
// when argv[0] is a clusterctl-pivotcheck link, "pivotcheck" otherwise.
func displayName(argv0 string) string {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	for _, host := range pluginHosts {
		if base == host+"-pivotcheck" {
			return host + " pivotcheck"
		}
	}
	return "pivotcheck"
}

// setDisplayName makes usage lines, help and examples name the command the
// way it was invoked, so a plugin's help can be pasted back as is.
func setDisplayName(root *cobra.Command, name string) {
	if name == root.Name() {
		return
	}
	if root.Annotations == nil {
		root.Annotations = map[string]string{}
	}
	root.Annotations[cobra.CommandDisplayNameAnnotation] = name
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Example = strings.ReplaceAll(c.Example, "  pivotcheck ", "  "+name+" ")
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

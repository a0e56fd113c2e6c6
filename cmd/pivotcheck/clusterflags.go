package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pivotcheck/pivotcheck/internal/kube"
)

// pivotFlags are the connection flags preflight, move and move-back share:
// kubectl's names for the source, and clusterctl move's --to-* for the target.
type pivotFlags struct {
	source    kube.Target
	target    kube.Target
	namespace string
	output    string
}

func (f *pivotFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.source.Kubeconfig, "kubeconfig", "", "kubeconfig of the source (bootstrap) cluster; default $KUBECONFIG or ~/.kube/config")
	fl.StringVar(&f.source.Context, "context", "", "context in --kubeconfig to use")
	fl.StringVar(&f.target.Kubeconfig, "to-kubeconfig", "", "kubeconfig of the target cluster (required)")
	fl.StringVar(&f.target.Context, "to-context", "", "context in --to-kubeconfig to use")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "namespace of the objects to move; default the source context's namespace")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table, json or yaml")
}

// validate checks flag values and fills the namespace default.
func (f *pivotFlags) validate() error {
	if f.target.Kubeconfig == "" {
		return fmt.Errorf("--to-kubeconfig is required: the target cluster's kubeconfig file")
	}
	switch f.output {
	case "table", "json", "yaml":
	default:
		return fmt.Errorf("unknown output format %q for -o: use table, json or yaml", f.output)
	}
	if f.namespace == "" {
		ns, err := f.source.Namespace()
		if err != nil {
			return err
		}
		f.namespace = ns
	}
	return nil
}

package mover

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/go-logr/logr"
	clusterctl "sigs.k8s.io/cluster-api/cmd/clusterctl/client"
	"sigs.k8s.io/cluster-api/cmd/clusterctl/client/cluster"
	"sigs.k8s.io/cluster-api/cmd/clusterctl/client/config"
	clusterctllog "sigs.k8s.io/cluster-api/cmd/clusterctl/log"
)

// Library is the clusterctl library linked into this binary.
type Library struct {
	// Stock runs clusterctl's Move exactly as the clusterctl binary does,
	// with a new API client for every object. By default each cluster's
	// client is built once per move (sharedClientProxy); the benchmarks
	// use Stock as their "bare clusterctl" baseline.
	Stock bool
}

// libraryMu serialises library moves: clusterctl's logger is process-wide.
var libraryMu sync.Mutex

// Move runs clusterctl's Move with opts. Only one runs at a time per process.
func (l Library) Move(ctx context.Context, opts Options) error {
	libraryMu.Lock()
	defer libraryMu.Unlock()

	cfgDir, err := os.MkdirTemp("", "pivotcheck-clusterctl-")
	if err != nil {
		return fmt.Errorf("clusterctl config folder: %w", err)
	}
	defer os.RemoveAll(cfgDir)
	// An empty config file: move needs no provider repositories, and the
	// user's ~/.cluster-api/clusterctl.yaml must not change what moves.
	cfgFile := filepath.Join(cfgDir, "clusterctl.yaml")
	if err := os.WriteFile(cfgFile, []byte("{}\n"), 0o600); err != nil {
		return fmt.Errorf("clusterctl config file: %w", err)
	}

	prev := clusterctllog.Log
	clusterctllog.SetLogger(logr.New(&sink{delegate: clusterctlLog(opts.Log), on: opts.Progress}))
	defer clusterctllog.SetLogger(prev)

	cfg, err := config.New(ctx, cfgFile)
	if err != nil {
		return fmt.Errorf("clusterctl configuration: %w", err)
	}
	copts := []clusterctl.Option{clusterctl.InjectConfig(cfg)}
	if !l.Stock {
		copts = append(copts, clusterctl.InjectClusterClientFactory(sharedClientFactory(cfg)))
	}
	c, err := clusterctl.New(ctx, cfgFile, copts...)
	if err != nil {
		return fmt.Errorf("clusterctl client: %w", err)
	}
	mo := clusterctl.MoveOptions{
		FromKubeconfig: clusterctl.Kubeconfig{Path: opts.From.Kubeconfig, Context: opts.From.Context},
		Namespace:      opts.Namespace,
		DryRun:         opts.DryRun,
		ToDirectory:    opts.ToDirectory,
		FromDirectory:  opts.FromDirectory,
	}
	if opts.ToDirectory == "" && !opts.DryRun {
		mo.ToKubeconfig = clusterctl.Kubeconfig{Path: opts.To.Kubeconfig, Context: opts.To.Context}
	}
	if err := c.Move(ctx, mo); err != nil {
		return fmt.Errorf("clusterctl move of namespace %s: %w", opts.Namespace, err)
	}
	return nil
}

// sharedClientFactory builds clusterctl's cluster clients as its default
// factory does, on a sharedClientProxy.
func sharedClientFactory(cfg config.Client) clusterctl.ClusterClientFactory {
	return func(in clusterctl.ClusterClientFactoryInput) (cluster.Client, error) {
		kc := cluster.Kubeconfig(in.Kubeconfig)
		return cluster.New(kc, cfg,
			cluster.InjectYamlProcessor(in.Processor),
			cluster.InjectProxy(newSharedClientProxy(cluster.NewProxy(kc))),
		), nil
	}
}

// clusterctlLog is where both runners log clusterctl's own lines: named
// "clusterctl", so they are told from pivotcheck's.
func clusterctlLog(l logr.Logger) logr.Logger {
	if l.GetSink() == nil {
		return l
	}
	return l.WithName("clusterctl")
}

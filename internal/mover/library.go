package mover

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/go-logr/logr"
	clusterctl "sigs.k8s.io/cluster-api/cmd/clusterctl/client"
	clusterctllog "sigs.k8s.io/cluster-api/cmd/clusterctl/log"
)

// Library is the clusterctl v1.13 library linked into this binary.
type Library struct{}

// libraryMu serialises library moves: clusterctl's logger is process-wide.
var libraryMu sync.Mutex

// Move runs clusterctl's Move with opts. Only one runs at a time per process.
func (Library) Move(ctx context.Context, opts Options) error {
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

	c, err := clusterctl.New(ctx, cfgFile)
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

// clusterctlLog is where both runners log clusterctl's own lines: named
// "clusterctl", so they are told from pivotcheck's.
func clusterctlLog(l logr.Logger) logr.Logger {
	if l.GetSink() == nil {
		return l
	}
	return l.WithName("clusterctl")
}

package testenv

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// RunWithPair is the body of an integration package's TestMain: it starts a
// bootstrap and a target cluster with clusterctl-labelled CRDs, stores them
// in *pair, runs setup (may be nil) and the tests, then stops both. Under
// -short it only runs the tests (unit tests must not touch *pair).
//
// clusterctl needs a writable HOME, so the tests get a private one; the
// envtest binaries are pinned first because their default cache is under HOME.
func RunWithPair(m *testing.M, pair **Pair, setup func(context.Context, *Pair) error) int {
	if testing.Short() {
		return m.Run()
	}
	ctrllog.SetLogger(logr.Discard())
	assets, err := AssetsDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Setenv("KUBEBUILDER_ASSETS", assets)
	home, err := os.MkdirTemp("", "pivotcheck-test-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(home)
	os.Setenv("HOME", home)

	ctx := context.Background()
	start := time.Now()
	p, err := StartPair(ctx, Options{LabelCRD: LabelLikeClusterctl}, Options{LabelCRD: LabelLikeClusterctl})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "testenv: bootstrap and target API servers started in %s\n", time.Since(start).Round(time.Millisecond))
	defer func() {
		if err := p.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	*pair = p
	if setup != nil {
		if err := setup(ctx, p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

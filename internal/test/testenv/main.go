package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
)

// RunWithPair is the body of an integration package's TestMain: it starts a
// bootstrap and a target cluster with clusterctl-labelled CRDs, stores them
// in *pair, runs setup (may be nil) and the tests, then stops both. Under
// -short it only runs the tests (unit tests must not touch *pair).
//
// clusterctl needs a writable HOME, so the tests get a private one (see
// PrivateHome).
func RunWithPair(m *testing.M, pair **Pair, setup func(context.Context, *Pair) error) (code int) {
	if testing.Short() {
		return m.Run()
	}
	ctrllog.SetLogger(logr.Discard())
	home, restore, err := PrivateHome("pivotcheck-test-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer restore()
	_ = home
	// Registered first, so it runs after the pairs are stopped: a lab
	// process still running then fails the package.
	defer func() {
		if err := lab.CheckNoneLeft(30 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}()

	ctx := context.Background()
	start := time.Now()
	p, err := StartPair(ctx, Options{LabelCRD: LabelLikeClusterctl}, Options{LabelCRD: LabelLikeClusterctl})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "testenv: bootstrap and target API servers started in %s\n", time.Since(start).Round(time.Millisecond))
	others.setup = setup
	defer func() {
		if err := errors.Join(p.Stop(), others.stop()); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	defer StopOnInterrupt(func() { _ = p.Stop(); _ = others.stop() })()
	*pair = p
	if setup != nil {
		if err := setup(ctx, p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

// others holds the pairs RunWithPair's package started for other Cluster
// API releases (ForEachClusterAPI), one per release, started on first use.
var others = &releasePairs{pairs: map[upstream.Module]*Pair{}}

type releasePairs struct {
	mu    sync.Mutex
	setup func(context.Context, *Pair) error
	pairs map[upstream.Module]*Pair
}

func (r *releasePairs) get(ctx context.Context, capi upstream.Module) (*Pair, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pairs[capi]; ok {
		return p, nil
	}
	start := time.Now()
	p, err := StartPair(ctx,
		Options{LabelCRD: LabelLikeClusterctl, ClusterAPI: capi},
		Options{LabelCRD: LabelLikeClusterctl, ClusterAPI: capi})
	if err != nil {
		return nil, fmt.Errorf("test clusters with Cluster API %s CRDs: %w", capi.Version, err)
	}
	fmt.Fprintf(os.Stderr, "testenv: bootstrap and target API servers with Cluster API %s CRDs started in %s\n", capi.Version, time.Since(start).Round(time.Millisecond))
	if r.setup != nil {
		if err := r.setup(ctx, p); err != nil {
			_ = p.Stop()
			return nil, err
		}
	}
	r.pairs[capi] = p
	return p, nil
}

func (r *releasePairs) stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	for m, p := range r.pairs {
		err = errors.Join(err, p.Stop())
		delete(r.pairs, m)
	}
	return err
}

// ForEachClusterAPI runs fn as one subtest per Cluster API release the
// tests cover (upstream.ClusterAPIReleases, named by version), with *pair
// pointing, for that subtest, at a pair whose CRDs are that release's: the
// package's own pair for the linked release, and for another release a
// pair started on first use like RunWithPair's (same labels, same setup)
// and stopped with it. Only for packages whose TestMain is RunWithPair and
// whose tests do not run in parallel (the package variable is swapped).
func ForEachClusterAPI(t *testing.T, pair **Pair, fn func(t *testing.T, capi upstream.Module)) {
	t.Helper()
	for _, capi := range upstream.ClusterAPIReleases {
		t.Run(capi.Version, func(t *testing.T) {
			if capi != upstream.ClusterAPI {
				p, err := others.get(context.Background(), capi)
				if err != nil {
					t.Fatal(err)
				}
				saved := *pair
				*pair = p
				t.Cleanup(func() { *pair = saved })
			}
			fn(t, capi)
		})
	}
}

// PrivateHome points HOME at a new private folder (clusterctl writes its
// config there; a test or the demo must not touch the user's ~/.cluster-api).
// Everything whose default lives under HOME is pinned first, so nothing is
// rebuilt or downloaded again: the envtest binaries (KUBEBUILDER_ASSETS),
// pivotcheck's cache of lab binaries (PIVOTCHECK_CACHE) and Go's module
// and build caches (GOMODCACHE, GOCACHE, GOPATH), which the upstream
// module zips are read from. restore puts HOME back and removes the folder.
func PrivateHome(prefix string) (home string, restore func(), err error) {
	assets, err := AssetsDir()
	if err != nil {
		return "", nil, err
	}
	cache, err := CacheDir()
	if err != nil {
		return "", nil, err
	}
	pins, err := goCaches()
	if err != nil {
		return "", nil, err
	}
	pins["KUBEBUILDER_ASSETS"], pins["PIVOTCHECK_CACHE"] = assets, cache
	home, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, fmt.Errorf("private HOME: %w", err)
	}
	pins["HOME"] = home
	old := map[string]*string{}
	for k, v := range pins {
		if prev, ok := os.LookupEnv(k); ok {
			old[k] = &prev
		} else {
			old[k] = nil
		}
		os.Setenv(k, v)
	}
	return home, func() {
		for k, v := range old {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
		os.RemoveAll(home)
	}, nil
}

// goCaches returns Go's module and build cache folders and GOPATH, whose
// defaults live under HOME.
func goCaches() (map[string]string, error) {
	out, err := exec.Command("go", "env", "GOMODCACHE", "GOCACHE", "GOPATH").Output()
	if err != nil {
		return nil, fmt.Errorf("reading Go's cache folders (go env): %w", err)
	}
	vals := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(vals) != 3 {
		return nil, fmt.Errorf("reading Go's cache folders: unexpected go env output %q", out)
	}
	return map[string]string{"GOMODCACHE": vals[0], "GOCACHE": vals[1], "GOPATH": vals[2]}, nil
}

// PinGoCaches sets GOMODCACHE, GOCACHE and GOPATH for the test to where they
// are now, so a test that then points HOME elsewhere (clusterctl writes
// under it) still reads the upstream module zips from the same cache
// instead of downloading them again.
func PinGoCaches(t testing.TB) {
	t.Helper()
	pins, err := goCaches()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range pins {
		t.Setenv(k, v)
	}
}

// StopOnInterrupt runs stop and exits when the test process is interrupted
// (Ctrl-C, SIGTERM): envtest starts etcd and kube-apiserver in their own
// process group, so the terminal's signal does not reach them, and without
// this they would outlive the test. The returned function uninstalls it.
func StopOnInterrupt(stop func()) func() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			fmt.Fprintf(os.Stderr, "testenv: %v: stopping the test clusters\n", sig)
			stop()
			os.Exit(130)
		case <-done:
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}

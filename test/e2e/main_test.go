package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/require"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/scenario"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

var (
	// pair is the lab pair the running test uses: the test-mode pair
	// (labTest) or the Ironic pair's clusters (ironicTest). Each test works
	// in its own namespaces and re-installs the source's Ironic if a move
	// removed it.
	pair *testenv.Pair
	// pivotcheck is the binary the tests run as an operator would.
	pivotcheck string
	// clusterctl is the real clusterctl v1.14.2 binary.
	clusterctl string
)

// pairs holds the package's two lab pairs, each started when the first
// test that needs it runs. Only one runs at a time: the machine has two
// cores, and the tests that need each pair come one group after the other
// (see doc.go), so each pair is started once.
var pairs struct {
	mu       sync.Mutex
	testMode *testenv.Pair
	ironic   *scenario.IronicPair
	// failed: a test of the running pair failed; its files are kept.
	failed bool
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Fprintln(os.Stderr, "e2e: lab tests skipped with -short")
		os.Exit(0)
	}
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctrllog.SetLogger(logr.Discard())
	var err error
	if clusterctl, err = exec.LookPath("clusterctl"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: clusterctl is not on PATH: run `make tools` and the tests with `make test`")
		return 1
	}
	_, restore, err := testenv.PrivateHome("pivotcheck-e2e-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer restore()
	dir, err := os.MkdirTemp("", "pivotcheck-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	pivotcheck = filepath.Join(dir, "pivotcheck")
	build := exec.Command("go", "build", "-o", pivotcheck, "../../cmd/pivotcheck")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building pivotcheck: %v\n%s", err, out)
		return 1
	}

	uninstall := testenv.StopOnInterrupt(func() { _ = stopPairs() })
	code := m.Run()
	uninstall()
	if code != 0 {
		pairs.failed = true
	}
	if err := stopPairs(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if err := lab.CheckNoneLeft(30 * time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	return code
}

// usePair makes the test-mode pair (withIronic false) or the Ironic pair
// the one the test uses, starting it if needed and stopping the other.
func usePair(t *testing.T, withIronic bool) {
	t.Helper()
	pairs.mu.Lock()
	defer pairs.mu.Unlock()
	t.Cleanup(func() {
		if t.Failed() {
			pairs.mu.Lock()
			pairs.failed = true
			pairs.mu.Unlock()
		}
	})
	if withIronic && pairs.ironic != nil {
		pair = pairs.ironic.Pair
		return
	}
	if !withIronic && pairs.testMode != nil {
		pair = pairs.testMode
		return
	}
	require.NoError(t, stopPairsLocked())
	ctx := context.Background()
	start := time.Now()
	var err error
	if withIronic {
		pairs.ironic, err = scenario.StartIronicPair(ctx, testenv.Options{}, testenv.Options{})
		require.NoError(t, err)
		pair = pairs.ironic.Pair
	} else {
		pairs.testMode, err = scenario.StartPair(ctx, testenv.Options{}, testenv.Options{})
		require.NoError(t, err)
		pair = pairs.testMode
	}
	kind := map[bool]string{true: "Ironic", false: "test-mode"}[withIronic]
	fmt.Fprintf(os.Stderr, "e2e: %s lab pair ready in %s\n", kind, time.Since(start).Round(time.Millisecond))
}

func stopPairs() error {
	pairs.mu.Lock()
	defer pairs.mu.Unlock()
	return stopPairsLocked()
}

// stopPairsLocked stops whichever pair runs, keeping its files if one of
// its tests failed.
func stopPairsLocked() error {
	var errs []error
	if p := pairs.testMode; p != nil {
		if pairs.failed {
			p.Bootstrap.Lab.Keep()
			p.Target.Lab.Keep()
		}
		errs = append(errs, p.Stop())
		pairs.testMode = nil
	}
	if p := pairs.ironic; p != nil {
		if pairs.failed {
			p.Bootstrap.Lab.Keep()
			p.Target.Lab.Keep()
		}
		errs = append(errs, p.Stop())
		pairs.ironic = nil
	}
	pairs.failed = false
	pair = nil
	return errors.Join(errs...)
}

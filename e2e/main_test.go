package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pivotcheck/pivotcheck/internal/scenario"
	"github.com/pivotcheck/pivotcheck/internal/testenv"
)

var (
	// pair is the lab pair the tests share; each test works in its own
	// namespaces and re-installs the source's Ironic if a move removed it.
	pair *testenv.Pair
	// pivotcheck is the binary the tests run as an operator would.
	pivotcheck string
	// clusterctl is the real clusterctl v1.14.2 binary.
	clusterctl string
)

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
	build := exec.Command("go", "build", "-o", pivotcheck, "../cmd/pivotcheck")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building pivotcheck: %v\n%s", err, out)
		return 1
	}

	start := time.Now()
	ctx := context.Background()
	pair, err = scenario.StartPair(ctx, testenv.Options{}, testenv.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: lab pair ready in %s\n", time.Since(start).Round(time.Millisecond))
	uninstall := testenv.StopOnInterrupt(func() { _ = pair.Stop() })
	code := m.Run()
	uninstall()
	if code != 0 {
		pair.Bootstrap.Lab.Keep()
		pair.Target.Lab.Keep()
	}
	if err := pair.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return code
}

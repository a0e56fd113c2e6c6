package e2e

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// pivotcheckBin is the pivotcheck binary the client tests drive (kustomize
// and kpt exec it); built once per run in TestMain, skipped with -short.
var pivotcheckBin string

func TestMain(m *testing.M) {
	flag.Parse()
	// envtest logs through controller-runtime; keep test output readable.
	ctrllog.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	code := func() int {
		if !testing.Short() && flag.Lookup("test.run").Value.String() != "^$" {
			dir, err := os.MkdirTemp("", "pivotcheck-fn-test-")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			pivotcheckBin = filepath.Join(dir, "pivotcheck")
			cmd := exec.Command("go", "build", "-o", pivotcheckBin, "../../../cmd/pivotcheck")
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "building pivotcheck for the client tests:", err)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// needBinary is called by every test that runs pivotcheck as a process.
func needBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("client test: needs the pivotcheck binary and external tools (not in -short)")
	}
	return pivotcheckBin
}

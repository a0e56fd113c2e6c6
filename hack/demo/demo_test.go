package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDemo runs the whole `make demo` story and checks its key facts, so
// `make test` keeps the demo working: the function labelled BMO's CRDs,
// preflight found each planted problem, the webhook denied the early
// pause, move succeeded and the counts on both sides match.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("needs envtest, kustomize and a pivotcheck build")
	}
	kz, err := exec.LookPath("kustomize")
	if err != nil {
		t.Fatal("kustomize is not on PATH: run `make tools` and the tests with `make test`")
	}
	// Build the binary the demo drives, as `make demo` does with `make build`.
	bin := filepath.Join(t.TempDir(), "pivotcheck")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/pivotcheck")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	var buf bytes.Buffer
	res, err := Run(context.Background(), Options{Repo: "../..", Pivotcheck: bin, Kustomize: kz, Out: &buf})
	t.Log(buf.String())
	require.NoError(t, err)

	require.Contains(t, res.LabelsAdded, "baremetalhosts.metal3.io")
	require.Contains(t, strings.Join(res.LabelsAdded["baremetalhosts.metal3.io"], " "), "clusterctl.cluster.x-k8s.io/move-hierarchy")

	require.Equal(t, 1, res.PreflightExit, "preflight must say not ready")
	for _, want := range []string{
		"✖ crd-labels-source", "CRD baremetalhosts.metal3.io lacks label",
		"✖ host-in-progress", "test1-host-0 is provisioning",
		"✖ ironic-source-running",
		"✖ owner-chain", "Secret metal3/worker-user-data",
	} {
		require.Contains(t, res.PreflightOutput, want)
	}

	require.Contains(t, res.Denial, `admission webhook "pause.pivotcheck.dev" denied the request`)
	require.Contains(t, res.Denial, "test1-host-0 is provisioning")
	require.Contains(t, res.Denial, "Ironic still runs")

	require.Contains(t, res.MoveOutput, "completed and verified")
	require.Contains(t, res.MoveOutput, "1 object(s) repaired: Secret worker-user-data")
	require.Equal(t, 80, res.TargetTotal)
	require.Zero(t, res.SourceTotal)
	require.Equal(t, res.Before, res.Target)
	require.Equal(t, 5, res.Target["BareMetalHost"])
	require.Contains(t, buf.String(), "━━━ Step 8")
}

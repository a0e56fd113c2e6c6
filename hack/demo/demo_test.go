package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDemo (lab) runs the whole `make demo` story and checks its key facts,
// so `make test` keeps the demo working: the function labelled BMO's CRDs,
// preflight found each planted problem, the webhook denied the early pause,
// a plain clusterctl move disturbed hosts in the target, pivotcheck move
// disturbed none, and the counts on both sides match.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("needs envtest, the lab binaries, kustomize, clusterctl and a pivotcheck build")
	}
	kz, err := exec.LookPath("kustomize")
	if err != nil {
		t.Fatal("kustomize is not on PATH: run `make tools` and the tests with `make test`")
	}
	cc, err := exec.LookPath("clusterctl")
	if err != nil {
		t.Fatal("clusterctl is not on PATH: run `make tools` and the tests with `make test`")
	}
	// Build the binary the demo drives, as `make demo` does with `make build`.
	bin := filepath.Join(t.TempDir(), "pivotcheck")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/pivotcheck")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	var buf bytes.Buffer
	res, err := Run(context.Background(), Options{Repo: "../..", Pivotcheck: bin, Kustomize: kz, Clusterctl: cc, Out: &buf})
	t.Log(buf.String())
	require.NoError(t, err)

	require.Contains(t, res.LabelsAdded, "baremetalhosts.metal3.io")
	require.Contains(t, strings.Join(res.LabelsAdded["baremetalhosts.metal3.io"], " "), "clusterctl.cluster.x-k8s.io/move-hierarchy")

	require.Equal(t, 1, res.PreflightExit, "preflight must say not ready")
	for _, want := range []string{
		"✖ crd-labels-source", "CRD baremetalhosts.metal3.io lacks label",
		"✖ ironic-source-running",
		"✖ owner-chain", "Secret metal3/worker-user-data",
	} {
		require.Contains(t, res.PreflightOutput, want)
	}

	require.Contains(t, res.Denial, `admission webhook "pause.pivotcheck.dev" denied the request`)
	require.Contains(t, res.Denial, "Ironic still runs")

	require.Equal(t, 7, res.Hosts)
	require.NotEmpty(t, res.PlainDisturbed, "a plain clusterctl move disturbs hosts: %v", res.PlainJourneys)
	require.Empty(t, res.Disturbed, "pivotcheck move disturbs none: %v", res.Journeys)
	require.Equal(t, fmt.Sprintf("hosts disturbed in the target: clusterctl move alone %d of 7, pivotcheck move 0 of 7", len(res.PlainDisturbed)), res.Summary)
	require.True(t, strings.HasSuffix(strings.TrimSpace(buf.String()), res.Summary), "the story ends with the summary line")

	require.Contains(t, res.MoveOutput, "completed and verified")
	require.Contains(t, res.MoveOutput, "1 object(s) repaired: Secret worker-user-data")
	require.Zero(t, res.SourceTotal)
	require.Equal(t, res.Before, res.Target)
	require.Equal(t, 7, res.Target["BareMetalHost"])
	require.Contains(t, buf.String(), "━━━ Step 9")
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDemo (lab) runs the whole `make demo` story and checks its key facts,
// so `make test` keeps the demo working: the function labelled BMO's CRDs,
// preflight found each planted problem, the webhook denied the early pause,
// pivotcheck move refused the user-paused host, a plain clusterctl move
// disturbed hosts in the target and an Ironic wrote to their BMCs,
// pivotcheck move disturbed none and no Ironic wrote, the counts on both
// sides match, and no process of the demo is left running.
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

	hosts := ControlPlane + Workers + SpareHosts
	require.Equal(t, hosts, res.Hosts)
	require.Equal(t, fmt.Sprintf("test1-host-%d", ControlPlane), res.PausedHost, "the first worker's host")
	require.Contains(t, res.PreflightOutput, "host-foreign-pause", "preflight names the host its user paused")
	require.NotZero(t, res.RefusedExit, "pivotcheck move refuses a consumed host paused by its user")
	require.Contains(t, res.RefusedOutput, res.PausedHost)

	// The story ends with exactly the two summary lines, and their numbers
	// are the ones the run recorded.
	closing := regexp.MustCompile(`\A` +
		`hosts disturbed in the target: clusterctl move alone (\d+) of ` + strconv.Itoa(hosts) + `, pivotcheck move (\d+) of ` + strconv.Itoa(hosts) + `\n` +
		`BMC writes by Ironic during and after the move: clusterctl move alone (\d+), pivotcheck move (\d+)\z`)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.GreaterOrEqual(t, len(lines), 2)
	m := closing.FindStringSubmatch(strings.Join(lines[len(lines)-2:], "\n"))
	require.NotNil(t, m, "the story ends with the two summary lines:\n%s", strings.Join(lines[len(lines)-2:], "\n"))
	require.Equal(t, res.Summary, m[0])
	n, _ := strconv.Atoi(m[1])
	x, _ := strconv.Atoi(m[3])
	require.GreaterOrEqual(t, n, 1, "a plain clusterctl move disturbs at least the user-paused host: %v", res.PlainJourneys)
	require.GreaterOrEqual(t, x, 1, "an Ironic writes to at least the user-paused host's BMC after a plain move")
	require.Equal(t, len(res.PlainDisturbed), n)
	require.Equal(t, res.PlainWrites, x)
	require.Contains(t, res.PlainDisturbed, res.PausedHost)
	require.Equal(t, "0", m[2], "pivotcheck move disturbs none: %v", res.Journeys)
	require.Equal(t, "0", m[4], "no Ironic writes to a BMC after pivotcheck move began")
	require.Empty(t, res.Disturbed)
	require.Zero(t, res.Writes)

	// Nothing the demo started is left: every process it saw (Ironic,
	// sushy-tools, kube-apiserver, etcd, the controllers) is gone, checked
	// here again by pid and start time, independently of Run's own check.
	require.Empty(t, res.Leftover)
	names := map[string]bool{}
	for _, p := range res.Processes {
		names[p.Name] = true
		if _, start, ok := statOf(p.Pid); ok {
			require.NotEqual(t, p.Start, start, "%s still runs", p)
		}
	}
	for _, want := range []string{"kube-apiserver", "etcd", "ironic", "sushy-emulator"} {
		require.True(t, names[want], "the demo's processes include %s: %v", want, res.Processes)
	}
	for _, p := range descendants(os.Getpid()) {
		require.NotContains(t, []string{"kube-apiserver", "etcd", "ironic", "sushy-emulator"}, p.Name, "%s still runs below the test", p)
	}

	require.Contains(t, res.MoveOutput, "completed and verified")
	require.Contains(t, res.MoveOutput, "1 object(s) repaired: Secret worker-user-data")
	require.Zero(t, res.SourceTotal)
	require.Equal(t, res.Before, res.Target)
	require.Equal(t, hosts, res.Target["BareMetalHost"])
	require.Contains(t, buf.String(), "━━━ Step 9")
}

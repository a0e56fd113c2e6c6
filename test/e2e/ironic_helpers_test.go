package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/scenario"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/pivotcheck/move"
)

// ironicTest prepares a lab test on the Ironic pair: BMO without test mode
// against each cluster's own real Ironic, one BMC emulator for both. Each
// cluster's management components are (re)installed: the Ironic of a
// cluster a move handed over starts again from a fresh database, as its
// pod would. On failure it prints both clusters' controllers (their Ironic
// and BMO among them) and every BMC write since the test began.
func ironicTest(t *testing.T) (context.Context, *scenario.IronicPair) {
	t.Helper()
	if os.Getenv("PIVOTCHECK_IRONIC") == "off" {
		t.Skip("PIVOTCHECK_IRONIC=off: this machine has no Ironic (it needs Python >= 3.11 and PyPI)")
	}
	usePair(t, true)
	ip := pairs.ironic
	begin := time.Now()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		t.Log("bootstrap controllers, its Ironic and BMO:\n" + ip.Bootstrap.Lab.Logs(40))
		t.Log("target controllers, its Ironic and BMO:\n" + ip.Target.Lab.Logs(40))
		var b strings.Builder
		for _, c := range []*testenv.Cluster{ip.Bootstrap, ip.Target} {
			fmt.Fprintf(&b, "Ironic %s starts and stops: %v\n", c.Lab.IronicName(), c.Lab.IronicEvents())
		}
		writes := ip.BMC.Recorder.Writes(func(w lab.BMCWrite) bool { return !w.Time.Before(begin) })
		fmt.Fprintf(&b, "%d BMC write(s) since the test began:\n", len(writes))
		for _, w := range writes {
			fmt.Fprintf(&b, "  %s %s\n", w.Time.Format("15:04:05.000"), w)
		}
		t.Log(b.String())
	})
	ctx := context.Background()
	for _, c := range []*testenv.Cluster{ip.Bootstrap, ip.Target} {
		require.NoError(t, scenario.InstallManagement(ctx, c))
	}
	for _, c := range []*testenv.Cluster{ip.Bootstrap, ip.Target} {
		require.NoError(t, c.Lab.WaitIronic(ctx, true, scenario.IronicReadyTimeout))
	}
	return ctx, ip
}

// waitPoweredOn waits until the source Ironic's node of every consumed
// host is powered on and idle: the emulator applies a power change 1–11 s
// after Ironic asked for it, and a move must not begin before the last
// one landed (Ironic's power sync would otherwise write again).
func waitPoweredOn(ctx context.Context, t *testing.T, c *testenv.Cluster, ns string, hosts []string) {
	t.Helper()
	for _, h := range hosts {
		_, err := c.Lab.IronicClient().WaitNode(ctx, scenario.NodeName(ns, h), 2*time.Minute, func(n lab.IronicNode) bool {
			return n.Power() == "power on" && n.Idle()
		})
		require.NoError(t, err, "%s's node in Ironic %s", h, c.Lab.IronicName())
	}
}

// settledNode is where a node rests once its host is adopted: active for a
// host that was provisioned, manageable for a spare one (BMO v0.13.2 keeps
// an available host's node manageable until it deploys it).
func settledNode(r scenario.HostReport) string {
	if r.Role == "spare" {
		return "manageable"
	}
	return "active"
}

// waitNodesSettled waits until the node of every host of the watch rests in
// the watched cluster's Ironic (settledNode), then stops the watch and
// returns its report, logged host by host.
func waitNodesSettled(t *testing.T, w *scenario.HostWatch, what string, timeout time.Duration) scenario.HostReports {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var pending []string
		for _, r := range w.Report() {
			if n := len(r.NodeStates); n == 0 || r.NodeStates[n-1] != settledNode(r) {
				pending = append(pending, fmt.Sprintf("%s (node %v)", r.Host, r.NodeStates))
			}
		}
		if len(pending) == 0 || time.Now().After(deadline) {
			if len(pending) > 0 {
				t.Logf("%s: nodes not settled within %s: %s", what, timeout, strings.Join(pending, ", "))
			}
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	require.NoError(t, w.Stop())
	rep := w.Report()
	logReports(t, what, rep)
	return rep
}

// logReports logs what happened to each host, with its BMC writes.
func logReports(t *testing.T, what string, rep scenario.HostReports) {
	t.Helper()
	for _, r := range rep {
		t.Logf("%s: %s", what, r)
		for _, name := range []string{"bootstrap", "target"} {
			for _, w := range r.Writes[name] {
				t.Logf("    %s", w)
			}
		}
	}
	t.Logf("%s: %d BMC write(s) by Ironic bootstrap, %d by Ironic target, %d of %d hosts disturbed",
		what, rep.WritesBy("bootstrap"), rep.WritesBy("target"), len(rep.Disturbed()), len(rep))
}

// requireAdopted asserts that every host's node went only the adoption
// path in the watched cluster's Ironic to where it rests, without an error
// in its history, and that nothing wrote to any BMC.
func requireAdopted(t *testing.T, rep scenario.HostReports) {
	t.Helper()
	require.NotEmpty(t, rep)
	for _, r := range rep {
		require.NotEmpty(t, r.NodeStates, "%s: its node was never seen in the Ironic it moved to", r.Host)
		require.True(t, scenario.OnAdoptionPath(r.NodeStates), "%s: node went %v", r.Host, r.NodeStates)
		require.Equal(t, settledNode(r), r.NodeStates[len(r.NodeStates)-1], "%s: node went %v", r.Host, r.NodeStates)
		require.Empty(t, r.Errors, r.Host)
	}
	require.Empty(t, rep.Disturbed(), "disturbed hosts")
	require.Zero(t, rep.WritesBy("bootstrap"), "BMC writes by Ironic bootstrap")
	require.Zero(t, rep.WritesBy("target"), "BMC writes by Ironic target")
}

var adoptedCount = regexp.MustCompile(`(\d+) host\(s\) adopted by the target's BMO`)

// requireCountedAdopted asserts that --wait-for-hosts counted as adopted
// exactly the hosts whose nodes the Ironic they moved to adopted.
func requireCountedAdopted(t *testing.T, out string, rep scenario.HostReports) {
	t.Helper()
	m := adoptedCount.FindStringSubmatch(out)
	require.NotNil(t, m, "--wait-for-hosts reports how many hosts it saw adopted:\n%s", out)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	adopted := slices.DeleteFunc(slices.Clone(rep), func(r scenario.HostReport) bool {
		return len(r.NodeStates) == 0 || r.NodeStates[len(r.NodeStates)-1] != settledNode(r)
	})
	require.Equal(t, len(adopted), n, "hosts --wait-for-hosts counted adopted vs nodes settled in the Ironic")
}

// requireIronicEvidence asserts that `pivotcheck move --wait-for-hosts
// --ironic-url` counted every host adopted on the target Ironic's evidence
// (its report in the backup folder), and that the node states it saw agree
// with the watch's.
func requireIronicEvidence(t *testing.T, backup string, rep scenario.HostReports) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(backup, move.ReportFile))
	require.NoError(t, err)
	var r struct {
		Hosts []move.HostEvidence `json:"hosts"`
	}
	require.NoError(t, json.Unmarshal(raw, &r))
	require.Len(t, r.Hosts, len(rep), "the report has every moved host")
	for _, h := range r.Hosts {
		require.True(t, h.Adopted, "%s: %s", h.Name, h.Failed)
		require.Equal(t, move.EvidenceBMOIronic, h.Evidence, h.Name)
		require.NotNil(t, h.Ironic, h.Name)
		require.True(t, scenario.OnAdoptionPath(h.Ironic.StatesSeen), "%s: pivotcheck saw node states %v", h.Name, h.Ironic.StatesSeen)
		require.Empty(t, h.Ironic.DeployTraces, h.Name)
		require.Empty(t, h.Ironic.HistoryErrors, h.Name)
	}
}

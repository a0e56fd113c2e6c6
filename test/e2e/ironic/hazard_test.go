package ironic

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/scenario"
)

// TestLabIronicPlainMoveHazard shows the hazard pivotcheck exists for, with
// real Ironics: the same hosts as TestLabIronicPivotWritesNothing, moved by
// a plain `clusterctl move` (clusterctl's library, no pivotcheck), with the
// source Ironic left running as nothing tells anyone to stop it. The test
// watches for a while and reports, per host and per Ironic, every BMC write
// after the move began, with each host's journey in the target's BMO and
// its node's in the target's Ironic. The numbers depend on timing (BMO's
// requeues, the emulator's power delay, Ironic's power sync), so they are
// reported, not asserted; what is asserted is that the target's BMO did
// act on every host and that the record is complete.
func TestLabIronicPlainMoveHazard(t *testing.T) {
	live := []string{"live-0", "live-1"}
	ext := []string{"ext-0"}
	hosts := append(slices.Clone(live), ext...)
	const ns = "plain"
	begin := time.Now()
	since := func() string { return time.Since(begin).Round(time.Millisecond).String() }
	src, dst, emu := startPair(t, hosts)
	ctx := context.Background()
	images := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("not really an ISO"))
	}))
	t.Cleanup(images.Close)

	require.NoError(t, src.c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	want := map[string]bmov1alpha1.ProvisioningState{}
	for _, host := range live {
		createHost(ctx, t, src.c.Client, emu, ns, host, images.URL+"/"+host+".iso")
		want[host] = bmov1alpha1.StateProvisioned
	}
	for _, host := range ext {
		createHost(ctx, t, src.c.Client, emu, ns, host, "")
		want[host] = bmov1alpha1.StateExternallyProvisioned
	}
	waitHosts(ctx, t, src, ns, want, 6*time.Minute, since)
	for _, host := range hosts {
		_, err := src.ir.Client().WaitNode(ctx, ns+"~"+host, 2*time.Minute, func(n lab.IronicNode) bool { return n.Power() == "power on" && n.Idle() })
		require.NoError(t, err)
	}
	t.Logf("%s: hosts ready in the bootstrap; %d BMC writes by Ironic %s so far", since(), len(emu.Recorder.Writes(lab.By(src.ir.Name, ""))), src.ir.Name)

	rec, err := scenario.Record(ctx, dst.c.Config, ns)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rec.Stop() })
	nodes := scenario.PollNodes(ctx, dst.ir.Client(), "")
	t.Cleanup(nodes.Stop)
	moveStart := time.Now()
	require.NoError(t, mover.Move(ctx, mover.Options{
		From:      kube.Cluster{Kubeconfig: src.c.Kubeconfig, Context: src.c.Context},
		To:        kube.Cluster{Kubeconfig: dst.c.Kubeconfig, Context: dst.c.Context},
		Namespace: ns, Log: logr.Discard(),
	}), "clusterctl move")
	t.Logf("%s: clusterctl move returned in %s; the source Ironic still runs", since(), time.Since(moveStart).Round(time.Millisecond))

	// Watch at least 90 s (longer than Ironic's 60 s power-state sync),
	// until every host is back in its pre-move state in the target and no
	// BMC write came for 20 s, or 4 min at most.
	settled := func() bool {
		last := rec.Last()
		for host, state := range want {
			h := last[host]
			if h == nil || h.Status.Provisioning.State != state {
				return false
			}
		}
		ws := emu.Recorder.Writes(func(w lab.BMCWrite) bool { return w.Kind != lab.BMCSession })
		return len(ws) == 0 || time.Since(ws[len(ws)-1].Time) > 20*time.Second
	}
	for time.Since(moveStart) < 90*time.Second || !settled() {
		if time.Since(moveStart) > 4*time.Minute {
			t.Logf("not settled 4 min after the move: reporting what was seen")
			break
		}
		time.Sleep(time.Second)
	}
	watched := time.Since(moveStart)
	nodes.Stop()
	require.NoError(t, rec.Stop())

	states := rec.States()
	paths := nodes.States()
	t.Logf("%s: watched %s after the move began", since(), watched.Round(time.Millisecond))
	var report []string
	total := map[string]int{}
	for _, host := range hosts {
		require.NotEmpty(t, states[host], "the target's BMO saw %s", host)
		perIronic := map[string][]string{}
		for _, w := range emu.Recorder.Writes(func(w lab.BMCWrite) bool {
			return w.Host == host && w.Kind != lab.BMCSession && !w.Time.Before(moveStart)
		}) {
			perIronic[w.Ironic] = append(perIronic[w.Ironic], fmt.Sprintf("%s@+%s", w.Kind, w.Time.Sub(moveStart).Round(100*time.Millisecond)))
			total[w.Ironic]++
		}
		names := make([]string, 0, len(perIronic))
		for name := range perIronic {
			names = append(names, name)
		}
		sort.Strings(names)
		var parts []string
		for _, name := range names {
			parts = append(parts, fmt.Sprintf("%s %d [%s]", name, len(perIronic[name]), strings.Join(perIronic[name], ", ")))
		}
		if len(parts) == 0 {
			parts = []string{"none"}
		}
		journey := make([]string, len(states[host]))
		for i, s := range states[host] {
			journey[i] = string(s)
		}
		report = append(report, fmt.Sprintf("%s (was %s): target BMO %s; target Ironic node %s; BMC writes since the move: %s",
			host, want[host], strings.Join(journey, " → "), strings.Join(paths[ns+"~"+host], " → "), strings.Join(parts, "; ")))
	}
	for _, line := range report {
		t.Log(line)
	}
	t.Logf("plain clusterctl move, source Ironic left running: BMC writes after the move began: %d by Ironic %s, %d by Ironic %s (%d hosts)",
		total[src.ir.Name], src.ir.Name, total[dst.ir.Name], dst.ir.Name, len(hosts))
	require.Empty(t, emu.Recorder.Refused(), "an Ironic asked for an address that is not loopback")
	require.NoError(t, src.ir.Check(), "the source Ironic ran throughout")
}

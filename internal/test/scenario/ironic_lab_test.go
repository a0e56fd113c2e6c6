package scenario_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/scenario"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// startIronicPair starts an IronicPair for a lab test; on failure the
// controllers' logs and the BMC write record are printed, and after the
// test nothing of it is left running.
func startIronicPair(t *testing.T) *scenario.IronicPair {
	t.Helper()
	if testing.Short() {
		t.Skip("lab test: needs `make lab`")
	}
	if os.Getenv("PIVOTCHECK_IRONIC") == "off" {
		t.Skip("PIVOTCHECK_IRONIC=off: this machine has no Ironic (it needs Python >= 3.11 and PyPI)")
	}
	ctrllog.SetLogger(logr.Discard())
	begin := time.Now()
	p, err := scenario.StartIronicPair(context.Background(), testenv.Options{}, testenv.Options{})
	require.NoError(t, err)
	t.Logf("Ironic pair (two clusters, two Ironics following their Deployments, BMC emulator with %d systems) ready in %s", scenario.PoolSize, time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			p.Keep()
			var b strings.Builder
			b.WriteString(p.Bootstrap.Lab.Logs(40))
			b.WriteString(p.Target.Lab.Logs(40))
			b.WriteString(p.BMC.Logs(20))
			for _, w := range p.BMC.Recorder.Writes(nil) {
				fmt.Fprintf(&b, "BMC write: %s\n", w)
			}
			t.Log(b.String())
		}
		require.NoError(t, p.Stop())
		require.False(t, p.Bootstrap.Lab.IronicRuns() || p.Target.Lab.IronicRuns(), "an Ironic runs after Stop")
		// Each Ironic forks a worker: none may outlive Stop.
		for _, c := range []*testenv.Cluster{p.Bootstrap, p.Target} {
			for _, e := range c.Lab.IronicEvents() {
				require.Empty(t, inGroup(e.Pid), "processes of Ironic %s (pid %d) still running after Stop", c.Name, e.Pid)
			}
		}
	})
	return p
}

// TestLabIronicPairLifecycle: each cluster's Ironic is a real process that
// follows its Ironic Deployment. BMO (not in test mode) registers hosts
// with emulated BMCs through it until they are available, writing nothing
// to a BMC (inspection disabled, hosts off). Deleting the Deployment stops
// the process once kwok has removed its pod; re-creating it starts a fresh
// one on the same port, with an empty database that BMO fills again.
func TestLabIronicPairLifecycle(t *testing.T) {
	p := startIronicPair(t)
	ctx := context.Background()
	src := p.Bootstrap
	for _, c := range []*testenv.Cluster{p.Bootstrap, p.Target} {
		require.True(t, c.Lab.IronicRuns(), c.Name)
		ev := c.Lab.IronicEvents()
		require.Len(t, ev, 1, "%s: %+v", c.Name, ev)
		require.True(t, ev[0].Started)
		require.Equal(t, c.Name, c.Lab.IronicName())
		v, err := c.Lab.IronicClient().MaxAPIVersion(ctx)
		require.NoError(t, err)
		require.True(t, lab.APIVersionAtLeast(v, lab.IronicMinAPI), "%s: API %s", c.Name, v)
	}
	require.NotEqual(t, p.Bootstrap.Lab.IronicURL(), p.Target.Lab.IronicURL())

	// 1. Registration: three hosts with emulated BMCs reach available.
	opts := fixture.Options{Namespace: "reg", ControlPlane: 1, Workers: 1, SpareHosts: 1, Hardware: p.Hardware()}
	begin := time.Now()
	hosts, err := fixture.LabHosts(ctx, src.Client, opts, 3*time.Minute)
	require.NoError(t, err, "bootstrap: %v", src.Lab.Check())
	t.Logf("%d hosts registered by BMO through Ironic %s and available in %s", len(hosts), src.Lab.IronicName(), time.Since(begin).Round(time.Millisecond))
	for _, host := range hosts {
		h := &bmov1alpha1.BareMetalHost{}
		require.NoError(t, src.Client.Get(ctx, client.ObjectKey{Namespace: "reg", Name: host}, h))
		sys, ok := p.System("reg", host)
		require.True(t, ok, host)
		require.Equal(t, "redfish+"+p.BMC.URL+"/redfish/v1/Systems/"+sys.UUID, h.Spec.BMC.Address)
		require.Equal(t, sys.MAC, h.Spec.BootMACAddress)
		n, err := src.Lab.IronicClient().Node(ctx, scenario.NodeName("reg", host))
		require.NoError(t, err, host)
		require.Equal(t, "manageable", n.ProvisionState, "BMO keeps an available host's node manageable: %s", n)
	}
	require.Empty(t, p.BMC.Recorder.Writes(lab.By(src.Lab.IronicName(), "")), "registering hosts that are off with inspection disabled writes nothing")
	require.Empty(t, p.BMC.Recorder.Refused(), "an Ironic asked for an address that is not loopback")

	// 2. The Deployment deleted: kwok removes the pod, the process stops.
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: fixture.BMONamespace, Name: fixture.IronicName}}
	begin = time.Now()
	require.NoError(t, src.Client.Delete(ctx, dep, client.PropagationPolicy(metav1.DeletePropagationBackground)))
	require.NoError(t, src.Lab.WaitIronic(ctx, false, 2*time.Minute))
	t.Logf("Ironic %s stopped %s after its Deployment was deleted", src.Lab.IronicName(), time.Since(begin).Round(time.Millisecond))
	_, err = src.Lab.IronicClient().MaxAPIVersion(ctx)
	require.Error(t, err, "nothing answers on the stopped Ironic's port")
	require.True(t, p.Target.Lab.IronicRuns(), "the target's Ironic is another process")

	// 3. Re-created: a fresh Ironic on the same port; BMO registers the
	// hosts again in its empty database.
	restart := time.Now()
	require.NoError(t, scenario.InstallManagement(ctx, src))
	require.NoError(t, src.Lab.WaitIronic(ctx, true, scenario.IronicReadyTimeout))
	t.Logf("Ironic %s started again %s after its Deployment was re-created", src.Lab.IronicName(), time.Since(restart).Round(time.Millisecond))
	ev := src.Lab.IronicEvents()
	require.Len(t, ev, 3, "%+v", ev)
	require.Equal(t, []bool{true, false, true}, []bool{ev[0].Started, ev[1].Started, ev[2].Started})
	for _, e := range ev {
		require.Empty(t, e.Err)
	}
	require.NoError(t, src.Lab.Check())
	var nodes struct {
		Nodes []struct {
			Name      string    `json:"name"`
			CreatedAt time.Time `json:"created_at"`
		} `json:"nodes"`
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		require.NoError(t, src.Lab.IronicClient().Do(ctx, http.MethodGet, "/v1/nodes?detail=true", nil, &nodes))
		if len(nodes.Nodes) == len(hosts) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	require.Len(t, nodes.Nodes, len(hosts), "BMO registered every host again")
	for _, n := range nodes.Nodes {
		require.True(t, n.CreatedAt.After(restart), "node %s created %s, before the restart %s: the database was not fresh", n.Name, n.CreatedAt, restart)
	}
	require.NoError(t, fixture.WaitHosts(ctx, src.Client, "reg", hosts, 2*time.Minute, func(h *bmov1alpha1.BareMetalHost) bool {
		return h.Status.Provisioning.State == bmov1alpha1.StateAvailable && h.Status.ErrorMessage == ""
	}, "available again"))

	// 4. A crash is reported as one, naming the Ironic and its log.
	dst := p.Target
	require.NoError(t, dst.Lab.Check())
	pid := dst.Lab.IronicEvents()[0].Pid
	require.NotZero(t, pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	deadline = time.Now().Add(30 * time.Second)
	for dst.Lab.Check() == nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	err = dst.Lab.Check()
	require.Error(t, err, "the target's Ironic was killed")
	require.Contains(t, err.Error(), "ironic-target has stopped")
	require.NoError(t, src.Lab.Check(), "the bootstrap's Ironic still runs")
}

// inGroup lists the live processes of process group pgid.
func inGroup(pgid int) []string {
	if pgid == 0 {
		return nil
	}
	return lab.Describe(lab.Procs(func(p lab.ProcStat) bool { return p.PGrp == pgid && !p.Zombie() }))
}

// TestLabIronicPairBuild: fixture.LabBuild with Hardware, the way a user
// builds a cluster: BMO registers the hosts through the bootstrap's real
// Ironic, CAPM3 associates the machines, and BMO has the Ironic deploy the
// loopback image on the consumed hosts (a direct deploy of a raw image:
// the Ironic writes boot device and power to their BMCs, and the agent
// stand-in answers for the ramdisk). The spare stays available and
// untouched; the target's Ironic writes nothing. A watch of the namespace
// then reports every host undisturbed, with its role.
func TestLabIronicPairBuild(t *testing.T) {
	p := startIronicPair(t)
	ctx := context.Background()
	src := p.Bootstrap
	const ns = "build"
	opts := fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 1, SpareHosts: 1, Hardware: p.Hardware()}
	begin := time.Now()
	res, err := fixture.LabBuild(ctx, src.Client, opts, 6*time.Minute)
	if err != nil {
		for _, host := range []string{"test1-host-0", "test1-host-1", "test1-host-2"} {
			if n, nerr := src.Lab.IronicClient().Node(ctx, scenario.NodeName(ns, host)); nerr == nil {
				t.Logf("bootstrap Ironic: %s", n)
			}
		}
	}
	require.NoError(t, err, "bootstrap: %v", src.Lab.Check())
	t.Logf("cluster built through the real Ironic in %s", time.Since(begin).Round(time.Millisecond))
	c := src.Lab.IronicClient()
	for i, host := range res.Hosts {
		h := &bmov1alpha1.BareMetalHost{}
		require.NoError(t, src.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: host}, h))
		n, err := c.Node(ctx, scenario.NodeName(ns, host))
		require.NoError(t, err)
		var kinds []string
		for _, w := range p.BMC.Recorder.Writes(lab.By(src.Lab.IronicName(), scenario.BMCHost(ns, host))) {
			kinds = append(kinds, w.Kind)
		}
		t.Logf("%s: %s; BMC writes by Ironic %s: %s", host, n, src.Lab.IronicName(), strings.Join(kinds, ", "))
		if i < opts.Machines() {
			require.Equal(t, bmov1alpha1.StateProvisioned, h.Status.Provisioning.State, host)
			require.Equal(t, p.ImageURL(), h.Status.Provisioning.Image.URL, host)
			require.Equal(t, "active", n.ProvisionState, host)
			require.Equal(t, "direct", n.DeployInterface, host)
			require.Contains(t, kinds, lab.BMCPower, "%s was powered on by Ironic %s", host, src.Lab.IronicName())
		} else {
			require.Equal(t, bmov1alpha1.StateAvailable, h.Status.Provisioning.State, host)
			require.Equal(t, "manageable", n.ProvisionState, host)
			require.Empty(t, kinds, "the spare was not touched")
		}
	}
	require.Empty(t, p.BMC.Recorder.Writes(lab.By(p.Target.Lab.IronicName(), "")), "the target's Ironic knows no host")
	require.Empty(t, p.BMC.Recorder.Refused(), "an Ironic asked for an address that is not loopback")

	w, err := p.Watch(ctx, ns)
	require.NoError(t, err)
	time.Sleep(time.Second)
	require.NoError(t, w.Stop())
	reps := w.Report()
	for _, r := range reps {
		t.Logf("watch: %s", r)
	}
	require.Len(t, reps, len(res.Hosts))
	require.Empty(t, reps.Disturbed())
	require.Equal(t, "node of test1", reps[0].Role)
	require.Equal(t, "spare", reps[len(reps)-1].Role)
}

package move

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/lab"
)

// TestWaitForHostsIronicEvidence: --wait-for-hosts with --ironic-url
// pointing at a real Ironic 39 on loopback. The stand-in BMO reports every
// host adopted at once; the test registers each host's node in the Ironic
// as BMO would (enroll, manage, adopt the provisioned ones) while the wait
// runs. One provisioned host's node uses the ramdisk deploy interface
// without an ISO, as BMO v0.13.2 registers a live-ISO host: Ironic refuses
// to adopt it. The wait must name that host with Ironic's reason although
// BMO's view of it is clean, and count the others adopted on Ironic's
// evidence, which the report carries per host.
func TestWaitForHostsIronicEvidence(t *testing.T) {
	needEnv(t)
	if os.Getenv("PIVOTCHECK_IRONIC") == "off" {
		t.Skip("PIVOTCHECK_IRONIC=off: this machine has no Ironic (it needs Python >= 3.11 and PyPI)")
	}
	ctx := t.Context()
	const ns = "ironic-evidence"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 2, SpareHosts: 1})
	require.NoError(t, err)
	good, liveISO, spare := res.Hosts[0], res.Hosts[1], res.Hosts[2]

	emu, err := lab.StartBMCEmulator(context.Background(), lab.NewFakeSystems(res.Hosts...), 2*time.Minute)
	require.NoError(t, err)
	ir, err := lab.StartIronic(context.Background(), lab.IronicOptions{Name: "target", BMC: emu, ReadyTimeout: 3 * time.Minute})
	if err != nil {
		_ = emu.Stop()
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(ir.Logs(40))
		}
		require.NoError(t, ir.Stop())
		require.NoError(t, emu.Stop())
	})
	bmoStandIn(ctx, t, pair.Bootstrap.Client, ns)
	bmoStandIn(ctx, t, pair.Target.Client, ns)

	// register does with a host's node what BMO v0.13.2 does after the move.
	c := ir.Client()
	register := func(host string, adopt bool, fields map[string]any) error {
		name := ironic.NodeName(ns, host)
		di, err := emu.DriverInfo(host)
		if err != nil {
			return err
		}
		node := map[string]any{"name": name, "driver": "redfish", "driver_info": di, "boot_interface": "ipxe", "inspect_interface": "agent"}
		maps.Copy(node, fields)
		if _, err := c.CreateNode(ctx, node); err != nil {
			return err
		}
		if err := c.Provision(ctx, name, "manage", nil); err != nil {
			return err
		}
		if _, err := c.WaitNode(ctx, name, 3*time.Minute, func(n lab.IronicNode) bool { return n.ProvisionState == "manageable" && n.Idle() }); err != nil {
			return err
		}
		if !adopt {
			return nil
		}
		if fields["deploy_interface"] == nil {
			if err := c.Patch(ctx, name, []map[string]any{
				{"op": "add", "path": "/instance_info/image_source", "value": ir.HTTPURL + "/images/" + host + ".qcow2"},
				{"op": "add", "path": "/instance_info/image_checksum", "value": strings.Repeat("0", 32)},
			}); err != nil {
				return err
			}
		}
		return c.Provision(ctx, name, "adopt", nil)
	}
	var wg sync.WaitGroup
	var regErr error
	var once sync.Once
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.IronicURL = ir.URL
	// Ironic's manage and adopt take seconds on a quiet machine, minutes
	// on a loaded one.
	opts.HostTimeout = 5 * time.Minute
	opts.PollInterval = 200 * time.Millisecond
	opts.OnPhase = func(name string) {
		if name != PhaseVerify {
			return
		}
		once.Do(func() {
			errs := make([]error, 3)
			wg.Go(func() { errs[0] = register(good, true, nil) })
			wg.Go(func() {
				errs[1] = register(liveISO, true, map[string]any{"boot_interface": "redfish-virtual-media", "deploy_interface": "ramdisk"})
			})
			wg.Go(func() { errs[2] = register(spare, false, nil) })
			go func() { wg.Wait(); regErr = errors.Join(errs...) }()
		})
	}
	rep, err := Run(ctx, opts)
	wg.Wait()
	require.NoError(t, regErr)
	var pe *PhaseError
	require.ErrorAs(t, err, &pe, "%v", err)
	require.Equal(t, PhaseVerify, pe.Phase, "%v", err)
	require.True(t, rep.Completed)
	t.Logf("the wait: %v", err)
	want := fmt.Sprintf("1 host(s) not adopted:\nhost %s/%s: the target's Ironic did not adopt node %s (adopt failed): ", ns, liveISO, ironic.NodeName(ns, liveISO))
	require.Contains(t, err.Error(), want)
	require.Contains(t, err.Error(), "missing from its instance_info", "Ironic's own reason")
	require.NotContains(t, err.Error(), good)
	require.NotContains(t, err.Error(), spare)

	require.Len(t, rep.Hosts, 3)
	byName := map[string]HostEvidence{}
	for _, h := range rep.Hosts {
		t.Logf("host %s: adopted %v (%s), BMO: %s, Ironic: %+v", h.Name, h.Adopted, h.Evidence, h.BMO, h.Ironic)
		require.Equal(t, EvidenceBMOIronic, h.Evidence, h.Name)
		require.NotNil(t, h.Ironic, h.Name)
		byName[h.Name] = h
	}
	g := byName[good]
	require.True(t, g.Adopted)
	require.Equal(t, "active", g.Ironic.ProvisionState)
	require.Equal(t, "active", g.Ironic.StatesSeen[len(g.Ironic.StatesSeen)-1])
	require.True(t, ironic.OnPath(g.Ironic.StatesSeen, ironic.AdoptionPath), "%v", g.Ironic.StatesSeen)
	require.Empty(t, g.Ironic.HistoryErrors)
	require.Empty(t, g.Ironic.DeployTraces)
	s := byName[spare]
	require.True(t, s.Adopted)
	require.Equal(t, "manageable", s.Ironic.ProvisionState)
	l := byName[liveISO]
	require.False(t, l.Adopted)
	require.Equal(t, "adopt failed", l.Ironic.ProvisionState)
	require.Contains(t, l.Ironic.LastError, "missing from its instance_info")
	require.Contains(t, l.Failed, "adopt failed")
	require.NotContains(t, l.BMO, "error", "BMO's view of the host was clean: Ironic's evidence decided")
}

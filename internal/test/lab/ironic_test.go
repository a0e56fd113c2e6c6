package lab_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/test/lab"
)

// ironics starts the shared BMC emulator for hosts and one real Ironic per
// name, concurrently; on failure their logs and the BMC write record are
// printed, and after the test nothing of theirs is left running.
func ironics(t *testing.T, hosts []string, names ...string) (*lab.BMCEmulator, map[string]*lab.Ironic) {
	t.Helper()
	if testing.Short() {
		t.Skip("lab test: needs `make lab` (Ironic from PyPI)")
	}
	if os.Getenv("PIVOTCHECK_IRONIC") == "off" {
		t.Skip("PIVOTCHECK_IRONIC=off: this machine has no Ironic (it needs Python >= 3.11 and PyPI)")
	}
	ctx := context.Background()
	emu, err := lab.StartBMCEmulator(ctx, lab.NewFakeSystems(hosts...), time.Minute)
	require.NoError(t, err)
	t.Logf("BMC emulator (sushy-tools %s, fake driver) answering in %s", lab.SushyToolsVersion, emu.Started.Round(time.Millisecond))
	out := map[string]*lab.Ironic{}
	t.Cleanup(func() {
		if t.Failed() {
			emu.Keep()
			var b strings.Builder
			for _, ir := range out {
				ir.Keep()
				b.WriteString(ir.Logs(40))
			}
			b.WriteString(emu.Logs(40))
			for _, w := range emu.Recorder.Writes(nil) {
				fmt.Fprintf(&b, "BMC write: %s\n", w)
			}
			t.Log(b.String())
		}
		var pids []int
		for _, ir := range out {
			pids = append(pids, ir.Pid())
			require.NoError(t, ir.Stop())
		}
		require.NoError(t, emu.Stop())
		// The all-in-one service forks a worker: it must end with its parent.
		for _, pid := range pids {
			require.Empty(t, children(pid), "processes of Ironic pid %d still running after Stop", pid)
		}
	})
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, name := range names {
		wg.Go(func() {
			ir, err := lab.StartIronic(ctx, lab.IronicOptions{Name: name, BMC: emu})
			errs[i] = err
			if err == nil {
				mu.Lock()
				out[name] = ir
				mu.Unlock()
				t.Logf("Ironic %s %s: database in %s, then API and conductor ready in %s", name, lab.IronicVersion, ir.Schema.Round(time.Millisecond), ir.Serve.Round(time.Millisecond))
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	return emu, out
}

// children lists the live processes whose parent is pid (zombies, which an
// init that does not reap may keep, are not running).
func children(pid int) []string {
	if pid == 0 {
		return nil
	}
	return lab.Describe(lab.Procs(func(p lab.ProcStat) bool { return p.PPid == pid && !p.Zombie() }))
}

// TestLabIronicAdoptionWritesNothing: two real Ironics share one emulated
// BMC, as a bootstrap and a target cluster's Ironics share the hosts'
// physical BMCs across a pivot. The bootstrap's Ironic manages the host
// and powers it on (a power write, recorded as its own); the target's
// Ironic then enrolls the same BMC, manages it and adopts it: the node
// becomes active and its power state is read, without a single BMC write.
func TestLabIronicAdoptionWritesNothing(t *testing.T) {
	const host = "host-0"
	emu, irs := ironics(t, []string{host}, "bootstrap", "target")
	a, b := irs["bootstrap"], irs["target"]
	ctx := context.Background()

	for _, ir := range []*lab.Ironic{a, b} {
		v, err := ir.Client().MaxAPIVersion(ctx)
		require.NoError(t, err)
		require.Truef(t, lab.APIVersionAtLeast(v, lab.IronicMinAPI), "Ironic %s serves API %s, BMO %s needs %s", ir.Name, v, lab.BMOVersion, lab.IronicMinAPI)
		t.Logf("Ironic %s serves API up to %s", ir.Name, v)
	}

	driverInfo, err := emu.DriverInfo(host)
	require.NoError(t, err)
	// The interfaces BMO v0.13.2 sets for a redfish+http:// BMC.
	node := map[string]any{
		"name": host, "driver": "redfish", "driver_info": driverInfo,
		"boot_interface": "ipxe", "inspect_interface": "agent", "raid_interface": "redfish", "firmware_interface": "redfish",
	}
	enrollAndManage := func(ir *lab.Ironic) {
		t.Helper()
		c := ir.Client()
		n, err := c.CreateNode(ctx, node)
		require.NoError(t, err, "enrolling %s in Ironic %s", host, ir.Name)
		require.Equal(t, "enroll", n.ProvisionState)
		require.NoError(t, c.Provision(ctx, host, "manage", nil))
		n, err = c.WaitNode(ctx, host, time.Minute, func(n lab.IronicNode) bool { return n.ProvisionState == "manageable" && n.Idle() })
		require.NoError(t, err, "Ironic %s: %v", ir.Name, ir.Check())
		t.Logf("Ironic %s: %s", ir.Name, n)
	}

	// The bootstrap's Ironic: manage, power on.
	enrollAndManage(a)
	require.NoError(t, a.Client().Power(ctx, host, "power on"))
	n, err := a.Client().WaitNode(ctx, host, time.Minute, func(n lab.IronicNode) bool { return n.Power() == "power on" && n.Idle() })
	require.NoError(t, err, "Ironic %s: %v", a.Name, a.Check())
	require.Nil(t, n.LastError, "power on through Ironic %s", a.Name)
	var powerOn []lab.BMCWrite
	for _, w := range emu.Recorder.Writes(lab.By(a.Name, host)) {
		t.Logf("BMC write: %s", w)
		if w.Kind == lab.BMCPower && strings.Contains(w.Summary, `"On"`) {
			powerOn = append(powerOn, w)
		}
	}
	require.Len(t, powerOn, 1, "one power-on write by Ironic %s for %s", a.Name, host)
	require.Less(t, powerOn[0].Status, 300, "the emulator accepted it")

	// The target's Ironic: the same BMC, managed and adopted.
	enrollAndManage(b)
	require.NoError(t, b.Client().Patch(ctx, host, []map[string]any{
		// What BMO gives a provisioned host's node before adopting it.
		{"op": "add", "path": "/instance_info/image_source", "value": a.HTTPURL + "/images/host-0.qcow2"},
		{"op": "add", "path": "/instance_info/image_checksum", "value": strings.Repeat("0", 32)},
		{"op": "add", "path": "/instance_info/capabilities", "value": map[string]any{}},
	}))
	require.NoError(t, b.Client().Provision(ctx, host, "adopt", nil))
	n, err = b.Client().WaitNode(ctx, host, time.Minute, func(n lab.IronicNode) bool {
		return (n.ProvisionState == "active" || n.ProvisionState == "adopt failed") && n.Idle()
	})
	require.NoError(t, err, "Ironic %s: %v", b.Name, b.Check())
	require.Equal(t, "active", n.ProvisionState, "adopted by Ironic %s: %s", b.Name, n)
	require.Equal(t, "power on", n.Power(), "Ironic %s read the power state the bootstrap's Ironic set", b.Name)
	history, err := b.Client().History(ctx, host)
	require.NoError(t, err)
	t.Logf("Ironic %s: %d history events for %s", b.Name, len(history), host)
	for _, e := range history {
		t.Logf("Ironic %s history of %s: %s %s %s %s", b.Name, host, e.CreatedAt, e.Severity, e.EventType, e.Event)
		require.NotEqual(t, "ERROR", e.Severity, "Ironic %s recorded an error for %s", b.Name, host)
	}

	require.Empty(t, emu.Recorder.Writes(lab.By(b.Name, "")), "Ironic %s wrote to a BMC while managing and adopting", b.Name)
	require.Empty(t, emu.Recorder.Refused(), "an Ironic asked for an address that is not loopback")
	t.Logf("BMC writes: %d by Ironic %s, %d by Ironic %s", len(emu.Recorder.Writes(lab.By(a.Name, ""))), a.Name, len(emu.Recorder.Writes(lab.By(b.Name, ""))), b.Name)

	// When the test process dies, Pdeathsig SIGKILLs each Ironic's main
	// process; its forked worker must not outlive it.
	workers := children(b.Pid())
	require.NotEmpty(t, workers, "Ironic %s runs a worker process", b.Name)
	require.NoError(t, syscall.Kill(b.Pid(), syscall.SIGKILL))
	deadline := time.Now().Add(15 * time.Second)
	for _, w := range workers {
		pid, _, _ := strings.Cut(w, " ")
		for running(pid) {
			require.False(t, time.Now().After(deadline), "Ironic %s's worker %s outlived its killed main process", b.Name, w)
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// running reports whether process pid exists and is not a zombie.
func running(pid string) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	return len(f) > 0 && f[0] != "Z"
}

// TestLabIronicLiveISOWrites: a live-ISO deploy and its undeploy through a
// real Ironic (virtual media boot, ramdisk deploy: the path BMO takes for a
// live-iso image, with no agent to wait for). The record shows each kind of
// write with the Ironic's name: the ISO inserted, the boot device set, the
// power turned on; then the power turned off and the ISO ejected.
func TestLabIronicLiveISOWrites(t *testing.T) {
	const host = "host-0"
	emu, irs := ironics(t, []string{host}, "bootstrap")
	ir := irs["bootstrap"]
	ctx := context.Background()
	c := ir.Client()
	require.NoError(t, os.WriteFile(filepath.Join(ir.HTTPRoot, "live.iso"), []byte("not really an ISO"), 0o600))
	driverInfo, err := emu.DriverInfo(host)
	require.NoError(t, err)
	_, err = c.CreateNode(ctx, map[string]any{
		"name": host, "driver": "redfish", "driver_info": driverInfo,
		"boot_interface": "redfish-virtual-media", "deploy_interface": "ramdisk",
		"instance_info": map[string]any{"boot_iso": ir.HTTPURL + "/live.iso"},
	})
	require.NoError(t, err)
	step := func(target, want string) {
		t.Helper()
		begin := time.Now()
		require.NoError(t, c.Provision(ctx, host, target, nil))
		n, err := c.WaitNode(ctx, host, 2*time.Minute, func(n lab.IronicNode) bool {
			return n.Idle() && (n.ProvisionState == want || strings.HasSuffix(n.ProvisionState, "failed"))
		})
		require.NoError(t, err, "Ironic %s: %v", ir.Name, ir.Check())
		require.Equal(t, want, n.ProvisionState, "%s: %s", target, n)
		t.Logf("%s -> %s in %s: %s", target, want, time.Since(begin).Round(time.Millisecond), n)
	}
	step("manage", "manageable")
	step("provide", "available")
	require.Empty(t, emu.Recorder.Writes(lab.By(ir.Name, host)), "manage and provide (no cleaning) write nothing")
	step("active", "active")
	kinds := func(ws []lab.BMCWrite) map[string][]string {
		out := map[string][]string{}
		for _, w := range ws {
			t.Logf("BMC write: %s", w)
			require.Equal(t, host, w.Host)
			out[w.Kind] = append(out[w.Kind], w.Summary)
		}
		return out
	}
	deployed := kinds(emu.Recorder.Writes(lab.By(ir.Name, host)))
	require.NotEmpty(t, deployed[lab.BMCVMediaInsert], "the live ISO inserted")
	require.NotEmpty(t, deployed[lab.BMCBoot], "the boot device set")
	require.NotEmpty(t, deployed[lab.BMCPower], "the host powered on")
	n := len(emu.Recorder.Writes(lab.By(ir.Name, host)))
	step("deleted", "available")
	undeployed := kinds(emu.Recorder.Writes(lab.By(ir.Name, host))[n:])
	require.NotEmpty(t, undeployed[lab.BMCPower], "the host powered off")
	require.NotEmpty(t, undeployed[lab.BMCVMediaEject], "the ISO ejected")
	require.Empty(t, emu.Recorder.Refused())
}

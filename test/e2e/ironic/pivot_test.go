package ironic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	ironicapi "github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/scenario"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/pivotcheck/move"
)

// side is one management cluster of the pivot: its API server, its own
// real Ironic and BMO v0.13.2 (not in test mode) pointed at that Ironic.
type side struct {
	c   *testenv.Cluster
	ir  *lab.Ironic
	bmo *lab.IronicBMO
}

// liveISOAdoptionError is how Ironic 39 refuses to adopt a live-ISO host
// that BMO v0.13.2 registered: the node uses the ramdisk deploy interface,
// so adoption validates its boot interface, and BMO never puts the ISO
// (instance_info boot_iso) on a node it registers, only on one it deploys.
const liveISOAdoptionError = "missing from its instance_info"

// TestLabIronicPivotWritesNothing: a pivot with real Ironics in the loop.
// The bootstrap and the target cluster each run BMO v0.13.2 without its
// test mode against their own real Ironic; one BMC emulator serves both.
// In the bootstrap, two hosts are provisioned through the real flow
// (inspection disabled with hardware details given, automated cleaning
// disabled, a live ISO booted over virtual media: the Ironic writes to
// their BMCs) and two are externally provisioned and powered on (BMO
// adopts them; the Ironic powers them on). `pivotcheck move` then moves
// them; the source Ironic process is stopped right after the hand-over
// deleted its Deployment (nothing else stops a process outside the
// cluster). From the start of the move until the target's Ironic has
// settled every node, neither Ironic writes anything to any BMC, and BMO
// keeps every host's provisioning state. The externally provisioned
// hosts' nodes go only enroll → manageable → adopting → active. The live-
// ISO hosts' nodes end in `adopt failed`, as upstream code says they must:
// BMO v0.13.2 registers a provisioned host without its image, and Ironic
// will not adopt a ramdisk-deploy node without one; BMO then reports a
// ProvisionedRegistrationError, without touching the BMC.
func TestLabIronicPivotWritesNothing(t *testing.T) {
	live := []string{"live-0", "live-1"}
	ext := []string{"ext-0", "ext-1"}
	hosts := append(slices.Clone(live), ext...)
	const ns = "pivot"
	begin := time.Now()
	since := func() string { return time.Since(begin).Round(time.Millisecond).String() }
	src, dst, emu := startPair(t, hosts)
	t.Logf("%s: both clusters, both Ironics and both BMOs ready", since())
	ctx := context.Background()

	// The live ISO comes from an image server of its own, as in a real
	// pivot: it must outlive the bootstrap's Ironic.
	images := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("not really an ISO"))
	}))
	t.Cleanup(images.Close)

	// 1. In the bootstrap: provision the live-ISO hosts through its BMO
	// and Ironic; let BMO adopt the externally provisioned ones.
	require.NoError(t, src.c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	for _, host := range live {
		createHost(ctx, t, src.c.Client, emu, ns, host, images.URL+"/"+host+".iso")
	}
	for _, host := range ext {
		createHost(ctx, t, src.c.Client, emu, ns, host, "")
	}
	provisionStart := time.Now()
	want := map[string]bmov1alpha1.ProvisioningState{}
	for _, host := range live {
		want[host] = bmov1alpha1.StateProvisioned
	}
	for _, host := range ext {
		want[host] = bmov1alpha1.StateExternallyProvisioned
	}
	waitHosts(ctx, t, src, ns, want, 6*time.Minute, since)
	t.Logf("%s: %d hosts provisioned and %d externally provisioned hosts adopted by the bootstrap's BMO and Ironic in %s", since(), len(live), len(ext), time.Since(provisionStart).Round(time.Millisecond))
	for _, host := range hosts {
		var kinds []string
		for _, w := range emu.Recorder.Writes(lab.By(src.ir.Name, host)) {
			kinds = append(kinds, w.Kind)
		}
		t.Logf("before the move, %s: %d BMC writes by Ironic %s: %s", host, len(kinds), src.ir.Name, strings.Join(kinds, ", "))
		if slices.Contains(live, host) {
			require.Contains(t, kinds, lab.BMCVMediaInsert, "the live ISO of %s was inserted by the bootstrap's Ironic", host)
		}
		require.Contains(t, kinds, lab.BMCPower, "%s was powered on by the bootstrap's Ironic", host)
	}
	require.Empty(t, emu.Recorder.Writes(lab.By(dst.ir.Name, "")), "the target's Ironic knows no host yet")
	// Power changes land in the emulator after a delay: wait until every
	// host is on, as its source node says, before the move.
	for _, host := range hosts {
		_, err := src.ir.Client().WaitNode(ctx, ns+"~"+host, 2*time.Minute, func(n lab.IronicNode) bool { return n.Power() == "power on" && n.Idle() })
		require.NoError(t, err)
	}

	// 2. The move.
	rec, err := scenario.Record(ctx, dst.c.Config, ns)
	require.NoError(t, err)
	t.Cleanup(func() { _ = rec.Stop() })
	nodes := scenario.PollNodes(ctx, dst.ir.Client(), "")
	t.Cleanup(nodes.Stop)
	var (
		once      sync.Once
		stoppedAt time.Time
		stopErr   error
	)
	moveStart := time.Now()
	opts := move.Options{
		Source:    kube.Cluster{Kubeconfig: src.c.Kubeconfig, Context: src.c.Context},
		Target:    kube.Cluster{Kubeconfig: dst.c.Kubeconfig, Context: dst.c.Context},
		Namespace: ns, BackupDir: filepath.Join(t.TempDir(), "backup"),
		// --wait-for-hosts with --ironic-url: the live-ISO hosts'
		// adoption fails in the target's Ironic; the wait must report them
		// by name with Ironic's own reason, read from that Ironic, and must
		// not take BMO's clean status before the failure for an adoption;
		// the externally provisioned hosts count adopted on the Ironic's
		// evidence.
		WaitForHosts: true, HostTimeout: 90 * time.Second,
		IronicGoneTimeout: time.Minute, TargetIronicTimeout: time.Minute,
		// The target's Ironic must answer before anything moves and again
		// before the hosts are unpaused.
		IronicURL: dst.ir.URL, PollInterval: 200 * time.Millisecond,
		Out: &testWriter{t: t}, Log: testr.New(t),
		OnPhase: func(name string) {
			if name != move.PhaseIronicAPI && name != move.PhaseMove {
				return
			}
			// The hand-over deleted the source's Ironic Deployment; the
			// Ironic it stands for is a process here, so stop it now,
			// before anything is copied to the target.
			once.Do(func() {
				dep := &appsv1.Deployment{}
				err := src.c.Client.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, dep)
				switch {
				case err == nil:
					stopErr = fmt.Errorf("phase %s began while the source's Ironic Deployment is still there", name)
				case !apierrors.IsNotFound(err):
					stopErr = fmt.Errorf("phase %s: reading the source's Ironic Deployment: %w", name, err)
				}
				stopErr = errors.Join(stopErr, src.ir.Stop())
				stoppedAt = time.Now()
			})
		},
	}
	rep, err := move.Run(ctx, opts)
	moveEnd := time.Now()
	// Every object moved; the wait for the hosts failed on the live-ISO
	// hosts alone, one line each with the target Ironic's reason.
	require.Error(t, err, "pivotcheck move must not report the live-ISO hosts adopted")
	require.True(t, rep.Completed, "the move itself completed")
	require.Equal(t, move.PhaseVerify, rep.FailedPhase, "%v", err)
	t.Logf("the wait for the hosts: %v", err)
	lines := strings.Split(err.Error(), "\n")
	for _, host := range live {
		prefix := fmt.Sprintf("host %s/%s: the target's Ironic did not adopt node %s (adopt failed): ", ns, host, ironicapi.NodeName(ns, host))
		i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
		require.GreaterOrEqual(t, i, 0, "the wait names %s on a line of its own", host)
		require.Contains(t, lines[i], liveISOAdoptionError, "the wait gives Ironic's reason for %s", host)
	}
	for _, host := range ext {
		require.NotContains(t, err.Error(), host, "%s was adopted", host)
	}
	// The report carries each host's evidence: the externally provisioned
	// hosts were counted adopted from the target Ironic's nodes.
	require.Len(t, rep.Hosts, len(hosts))
	for _, h := range rep.Hosts {
		require.Equal(t, move.EvidenceBMOIronic, h.Evidence, h.Name)
		require.NotNil(t, h.Ironic, h.Name)
		t.Logf("report: host %s adopted %v (%s); node %s %s, states seen %v, last error %q", h.Name, h.Adopted, h.Evidence, h.Ironic.Node, h.Ironic.ProvisionState, h.Ironic.StatesSeen, h.Ironic.LastError)
		require.Equal(t, ironicapi.NodeName(ns, h.Name), h.Ironic.Node)
		if slices.Contains(ext, h.Name) {
			require.True(t, h.Adopted, h.Name)
			require.Equal(t, "active", h.Ironic.ProvisionState, h.Name)
			require.True(t, scenario.OnAdoptionPath(h.Ironic.StatesSeen), "%s: %v", h.Name, h.Ironic.StatesSeen)
			require.Empty(t, h.Ironic.HistoryErrors, h.Name)
			require.Empty(t, h.Ironic.DeployTraces, h.Name)
			continue
		}
		require.False(t, h.Adopted, h.Name)
		require.Equal(t, "adopt failed", h.Ironic.ProvisionState, h.Name)
		require.Contains(t, h.Ironic.LastError, liveISOAdoptionError, h.Name)
		require.Contains(t, h.Failed, liveISOAdoptionError, h.Name)
	}
	require.NoError(t, stopErr)
	require.False(t, stoppedAt.IsZero(), "the source's Ironic was stopped after the hand-over")
	t.Logf("%s: pivotcheck move returned in %s (source Ironic stopped %s after the move began)", since(), moveEnd.Sub(moveStart).Round(time.Millisecond), stoppedAt.Sub(moveStart).Round(time.Millisecond))
	for _, p := range rep.Phases {
		t.Logf("  phase %-17s %-7s %6.2fs %s", p.Name, p.Status, p.Seconds, p.Detail)
	}

	// 3. The target's BMO registers every host in the target's Ironic and
	// asks it to adopt each one: wait until every node has settled.
	c := dst.ir.Client()
	final := map[string]lab.IronicNode{}
	for _, host := range hosts {
		n, err := c.WaitNode(ctx, ns+"~"+host, 3*time.Minute, func(n lab.IronicNode) bool {
			// A failed adoption keeps its target (active).
			return (n.ProvisionState == "active" && n.Idle()) || (n.ProvisionState == "adopt failed" && (n.TargetPowerState == nil || *n.TargetPowerState == ""))
		})
		require.NoError(t, err, "target Ironic: %v; target BMO: %v", dst.ir.Check(), dst.bmo.Check())
		final[host] = n
	}
	settled := time.Now()
	nodes.Stop()
	seen := nodes.States()
	for _, host := range ext {
		n := final[host]
		path := seen[ns+"~"+host]
		t.Logf("target Ironic node of %s: %s; %s", host, strings.Join(path, " → "), n)
		require.Equal(t, "active", n.ProvisionState, host)
		require.True(t, scenario.OnAdoptionPath(path), "node of %s went %v, not only %v", host, path, ironicapi.AdoptionPath)
		require.Equal(t, "power on", n.Power(), "%s: the power state the bootstrap's Ironic set, read from the BMC", host)
		history, err := c.History(ctx, ns+"~"+host)
		require.NoError(t, err)
		for _, e := range history {
			t.Logf("target Ironic history of %s: %s %s %s %s", host, e.CreatedAt, e.Severity, e.EventType, e.Event)
			require.NotEqual(t, "ERROR", e.Severity, "target Ironic recorded an error for %s", host)
		}
	}
	for _, host := range live {
		n := final[host]
		path := seen[ns+"~"+host]
		t.Logf("target Ironic node of %s: %s; %s", host, strings.Join(path, " → "), n)
		require.Equal(t, "adopt failed", n.ProvisionState, "%s: BMO v0.13.2 registers a live-ISO host without its ISO; has that changed?", host)
		require.NotNil(t, n.LastError)
		require.Contains(t, *n.LastError, liveISOAdoptionError, host)
		require.Equal(t, "ramdisk", n.DeployInterface, host)
		require.Empty(t, n.InstanceInfo["boot_iso"], "%s: registered without its ISO", host)
		require.True(t, scenario.OnAdoptionPath(slices.DeleteFunc(path, func(s string) bool { return s == "adopt failed" })), "node of %s went %v", host, path)
	}
	// BMO saves the adoption failure on the host: wait for it.
	deadline := time.Now().Add(time.Minute)
	for _, host := range live {
		h := &bmov1alpha1.BareMetalHost{}
		for {
			require.NoError(t, dst.c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: host}, h))
			if h.Status.ErrorType == bmov1alpha1.ProvisionedRegistrationError || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		require.Equal(t, bmov1alpha1.ProvisionedRegistrationError, h.Status.ErrorType, "%s: %s", host, h.Status.ErrorMessage)
		t.Logf("target BMO on %s: %s, %s: %s", host, h.Status.Provisioning.State, h.Status.ErrorType, h.Status.ErrorMessage)
	}
	require.NoError(t, rec.Stop())
	states := rec.States()
	t.Logf("target BMO: %s", strings.Join(scenario.Journeys(states), "; "))
	require.Empty(t, scenario.Disturbed(want, states), "a host left its pre-move state in the target")
	for _, host := range hosts {
		h := &bmov1alpha1.BareMetalHost{}
		require.NoError(t, dst.c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: host}, h))
		require.Equal(t, want[host], h.Status.Provisioning.State, host)
		if slices.Contains(ext, host) {
			require.Equal(t, bmov1alpha1.OperationalStatusOK, h.Status.OperationalStatus, host)
		}
	}

	// 4. Not one BMC write by either Ironic from the start of the move
	// until every node settled in the target's Ironic.
	during := emu.Recorder.Writes(func(w lab.BMCWrite) bool {
		return w.Kind != lab.BMCSession && !w.Time.Before(moveStart) && !w.Time.After(time.Now())
	})
	for _, w := range during {
		t.Logf("BMC write during the pivot: %s", w)
	}
	require.Empty(t, during, "BMC writes between the start of the move and now")
	require.Empty(t, emu.Recorder.Refused(), "an Ironic asked for an address that is not loopback")
	t.Logf("%s: every node settled in the target's Ironic %s after the move began; BMC writes before the move: %d by Ironic %s, %d by Ironic %s; from the move's start until now: 0",
		since(), settled.Sub(moveStart).Round(time.Millisecond),
		len(emu.Recorder.Writes(lab.By(src.ir.Name, ""))), src.ir.Name, len(emu.Recorder.Writes(lab.By(dst.ir.Name, ""))), dst.ir.Name)
}

// startPair starts, concurrently, the BMC emulator for hosts, a real Ironic
// per cluster and two envtest API servers with Metal3's management
// objects (their Ironic Deployments reported Available: the Ironic each
// stands for runs here), then BMO against each Ironic. Whatever fails is
// logged; after the test nothing of theirs is left running.
func startPair(t *testing.T, hosts []string) (src, dst *side, emu *lab.BMCEmulator) {
	t.Helper()
	if testing.Short() {
		t.Skip("lab test: needs `make lab` (Ironic from PyPI)")
	}
	if os.Getenv("PIVOTCHECK_IRONIC") == "off" {
		t.Skip("PIVOTCHECK_IRONIC=off: this machine has no Ironic (it needs Python >= 3.11 and PyPI)")
	}
	// clusterctl's library logs through controller-runtime's logger.
	ctrllog.SetLogger(logr.Discard())
	_, restore, err := testenv.PrivateHome("pivotcheck-ironic-home-")
	require.NoError(t, err)
	t.Cleanup(restore)
	ctx := context.Background()
	src, dst = &side{}, &side{}
	sides := map[string]*side{"bootstrap": src, "target": dst}
	t.Cleanup(func() {
		if t.Failed() {
			var b strings.Builder
			for _, s := range []*side{src, dst} {
				s.ir.Keep()
				s.bmo.Keep()
				b.WriteString(s.bmo.Logs(40))
				b.WriteString(s.ir.Logs(40))
			}
			if emu != nil {
				emu.Keep()
				b.WriteString(emu.Logs(30))
				for _, w := range emu.Recorder.Writes(nil) {
					fmt.Fprintf(&b, "BMC write: %s\n", w)
				}
			}
			t.Log(b.String())
		}
		for _, s := range []*side{src, dst} {
			require.NoError(t, s.bmo.Stop())
			require.NoError(t, s.ir.Stop())
			if s.c != nil {
				require.NoError(t, s.c.Stop())
			}
		}
		require.NoError(t, emu.Stop())
	})
	emu, err = lab.StartBMCEmulator(ctx, lab.NewFakeSystems(hosts...), 2*time.Minute)
	require.NoError(t, err)
	t.Logf("BMC emulator (sushy-tools %s) answering in %s", lab.SushyToolsVersion, emu.Started.Round(time.Millisecond))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for name, s := range sides {
		wg.Go(func() {
			ir, err := lab.StartIronic(ctx, lab.IronicOptions{Name: name, BMC: emu, ReadyTimeout: 3 * time.Minute})
			if err != nil {
				fail(err)
				return
			}
			s.ir = ir
			t.Logf("Ironic %s: API and conductor ready in %s", name, ir.Serve.Round(time.Millisecond))
		})
		wg.Go(func() {
			c, err := testenv.Start(ctx, testenv.Options{Name: name, LabelCRD: testenv.LabelLikeClusterctl})
			if err != nil {
				fail(err)
				return
			}
			s.c = c
			if err := installManagement(ctx, c.Client); err != nil {
				fail(fmt.Errorf("%s: %w", name, err))
			}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	for name, s := range sides {
		wg.Go(func() {
			b, err := lab.StartBMOWithIronic(ctx, lab.Cluster{Name: name, Kubeconfig: s.c.Kubeconfig, Config: s.c.Config, Client: s.c.Client}, s.ir, 3*time.Minute)
			if err != nil {
				fail(err)
				return
			}
			s.bmo = b
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	return src, dst, emu
}

// installManagement creates Metal3's management objects: the Ironic
// Deployment (reported Available: no Deployment controller runs here, and
// the Ironic it stands for is a process of the test), the BMO Deployment
// and clusterctl's inventory.
func installManagement(ctx context.Context, c client.Client) error {
	m := fixture.Management{Ironic: ptr.To(int32(1)), Keepalived: true, BMOVersion: fixture.BMODefaultVersion, Providers: fixture.CAPIProviders()}
	if err := fixture.InstallManagement(ctx, c, m); err != nil {
		return err
	}
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, d); err != nil {
		return fmt.Errorf("reading the Ironic Deployment: %w", err)
	}
	d.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 1,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now()}}}
	if err := c.Status().Update(ctx, d); err != nil {
		return fmt.Errorf("reporting the Ironic Deployment available: %w", err)
	}
	return nil
}

// createHost creates a host whose BMC is the emulator's system host,
// booting over virtual media, inspection disabled with its hardware
// details given, automated cleaning disabled (nothing here would run an
// agent), online. With an iso it is to be provisioned with that live ISO;
// without, it is externally provisioned.
func createHost(ctx context.Context, t *testing.T, c client.Client, emu *lab.BMCEmulator, ns, host, iso string) {
	t.Helper()
	sys, err := emu.System(host)
	require.NoError(t, err)
	require.NoError(t, c.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: host + "-bmc"},
		Data:       map[string][]byte{"username": []byte("admin"), "password": []byte("password")},
	}))
	hw, err := json.Marshal(lab.HardwareDetails(host, sys.MAC))
	require.NoError(t, err)
	h := &bmov1alpha1.BareMetalHost{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: host, Annotations: map[string]string{
			bmov1alpha1.InspectAnnotationPrefix:   "disabled",
			bmov1alpha1.HardwareDetailsAnnotation: string(hw),
		}},
		Spec: bmov1alpha1.BareMetalHostSpec{
			Online: true, BootMACAddress: sys.MAC, AutomatedCleaningMode: bmov1alpha1.CleaningModeDisabled,
			// redfish-virtualmedia+http: boot over virtual media, no DHCP or PXE.
			BMC: bmov1alpha1.BMCDetails{Address: "redfish-virtualmedia+" + emu.URL + "/redfish/v1/Systems/" + sys.UUID, CredentialsName: host + "-bmc"},
		},
	}
	if iso != "" {
		h.Spec.Image = &bmov1alpha1.Image{URL: iso, DiskFormat: ptr.To("live-iso")}
	} else {
		h.Spec.ExternallyProvisioned = true
	}
	require.NoError(t, c.Create(ctx, h))
}

// waitHosts waits until every host is in its state of want, without an
// error, logging each change.
func waitHosts(ctx context.Context, t *testing.T, s *side, ns string, want map[string]bmov1alpha1.ProvisioningState, timeout time.Duration, since func() string) {
	t.Helper()
	// A build: BMO is nudged to look at Ironic again as each step ends.
	names := slices.Collect(maps.Keys(want))
	stop := fixture.Nudge(ctx, s.c.Client, ns, names, func(h *bmov1alpha1.BareMetalHost) bool {
		return h.Status.Provisioning.State != want[h.Name]
	}, s.ir.Client().NodeProgress)
	defer func() { require.NoError(t, stop(), "the nudger") }()
	last := map[string]string{}
	deadline := time.Now().Add(timeout)
	for {
		done := 0
		for host, state := range want {
			h := &bmov1alpha1.BareMetalHost{}
			require.NoError(t, s.c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: host}, h))
			st := string(h.Status.Provisioning.State)
			if h.Status.ErrorMessage != "" {
				st += " (" + string(h.Status.ErrorType) + ": " + h.Status.ErrorMessage + ")"
			}
			if last[host] != st {
				last[host] = st
				t.Logf("%s: host %s: %s", since(), host, st)
			}
			if h.Status.Provisioning.State == state && h.Status.ErrorMessage == "" {
				done++
			}
		}
		if done == len(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("hosts not in %v within %s: %v; BMO: %v; Ironic: %v", want, timeout, last, s.bmo.Check(), s.ir.Check())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// testWriter logs what the move prints, a line at a time.
type testWriter struct {
	t   *testing.T
	buf []byte
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := slices.Index(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.t.Log(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

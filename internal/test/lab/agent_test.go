package lab_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// TestLabIronicDirectDeploy: BMO v0.13.2 (no test mode) and a real Ironic
// provision a host with a raw disk image the common Metal3 way (direct
// deploy, iPXE boot over the emulated BMC), the stand-in agent answering
// Ironic's callbacks; then a second Ironic and BMO, as after a pivot, adopt
// the provisioned host from its status annotation without touching its BMC.
func TestLabIronicDirectDeploy(t *testing.T) {
	const host, ns = "host-0", "metal3"
	emu, irs := ironics(t, []string{host}, "bootstrap")
	src := irs["bootstrap"]
	ctx := context.Background()
	begin := time.Now()
	since := func() string { return time.Since(begin).Round(time.Millisecond).String() }

	// The image: a small raw file on loopback, with its sha256.
	img := make([]byte, 1<<20)
	copy(img, "pivotcheck lab image")
	sum := sha256.Sum256(img)
	var imgMu sync.Mutex
	var imgRequests []string
	images := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		imgMu.Lock()
		imgRequests = append(imgRequests, r.Method+" "+r.URL.Path)
		imgMu.Unlock()
		http.ServeContent(w, r, "disk.img", time.Time{}, strings.NewReader(string(img)))
	}))
	t.Cleanup(images.Close)
	image := &bmov1alpha1.Image{
		URL: images.URL + "/disk.img", Checksum: hex.EncodeToString(sum[:]),
		ChecksumType: bmov1alpha1.SHA256, DiskFormat: ptr.To("raw"),
	}

	c1, bmo1 := clusterWithBMO(ctx, t, "deploy-src", src)
	t.Logf("%s: API server and BMO (against Ironic %s) ready", since(), src.Name)
	h := newDeployHost(t, emu, ns, host, image)
	createHost(ctx, t, c1.Client, h)

	deployStart := time.Now()
	got := waitHost(ctx, t, c1.Client, client.ObjectKeyFromObject(h), bmov1alpha1.StateProvisioned, 5*time.Minute, since, func() string {
		return fmt.Sprintf("BMO: %v; Ironic: %v; agent: %s; BMC writes: %v", bmo1.Check(), src.Check(), lastCalls(emu.Recorder.AgentCalls(), 8), emu.Recorder.Writes(nil))
	})
	deploy := time.Since(deployStart)
	require.Empty(t, got.Status.ErrorMessage)

	node := onlyNode(ctx, t, src)
	t.Logf("Ironic %s: %s; deploy %s, boot %s", src.Name, node, node.DeployInterface, node.BootInterface)
	require.Equal(t, "active", node.ProvisionState)
	require.Equal(t, "direct", node.DeployInterface)
	require.Equal(t, "ipxe", node.BootInterface)

	kinds := map[string]int{}
	for _, w := range emu.Recorder.Writes(nil) {
		t.Logf("BMC write: %s", w)
		if w.Ironic == src.Name && w.Host == host {
			kinds[w.Kind]++
		}
	}
	require.Positive(t, kinds[lab.BMCBoot], "Ironic %s set the boot device", src.Name)
	require.Positive(t, kinds[lab.BMCPower], "Ironic %s powered the host", src.Name)
	agentWrites := emu.Recorder.Writes(func(w lab.BMCWrite) bool { return w.Ironic == lab.AgentWriter })
	require.Len(t, agentWrites, 1, "the agent powered its host off once, when Ironic asked")
	require.Contains(t, agentWrites[0].Summary, "ForceOff")

	calls := emu.Recorder.AgentCalls()
	seen := map[string]int{}
	for _, c := range calls {
		t.Logf("agent: %s %s", c.Time.Format("15:04:05.000"), c)
		require.Equal(t, src.Name, c.Ironic)
		switch c.Kind {
		case lab.AgentLookup:
			if strings.HasPrefix(c.Detail, "node ") {
				seen["lookup"]++
			}
		case lab.AgentHeartbeat:
			if c.Detail == "202" {
				seen["heartbeat"]++
			}
		case lab.AgentCommand:
			seen[c.Kind+" "+c.Detail]++
		default:
			seen[c.Kind]++
		}
	}
	t.Logf("agent summary: %v", seen)
	require.Equal(t, 1, seen["lookup"], "one successful lookup")
	require.GreaterOrEqual(t, seen["heartbeat"], 2, "accepted heartbeats")
	for _, cmd := range []string{"deploy.get_deploy_steps", "deploy.execute_deploy_step", "standby.get_partition_uuids", "standby.power_off"} {
		require.Positive(t, seen[lab.AgentCommand+" "+cmd], "Ironic sent the agent %s", cmd)
	}
	require.Equal(t, 1, seen[lab.AgentStart], "one agent started, for the deploy")
	require.Equal(t, 1, seen[lab.AgentStop], "it stopped when it powered its host off")
	imgMu.Lock()
	t.Logf("image server requests (Ironic's checks; the agent downloads nothing): %v", imgRequests)
	imgMu.Unlock()
	t.Logf("deploy: %s from the host's creation to provisioned (BMO + Ironic %s + stand-in agent)", deploy.Round(time.Millisecond), src.Name)

	// The pivot: the first cluster's BMO and Ironic go away; the host
	// arrives in a second cluster with its status in the annotation, where
	// a fresh Ironic adopts it.
	history, err := src.Client().History(ctx, node.UUID)
	require.NoError(t, err)
	for _, e := range history {
		t.Logf("Ironic %s node history: %s %s %s", src.Name, e.CreatedAt, e.Severity, e.Event)
	}
	status, err := json.Marshal(got.Status)
	require.NoError(t, err)
	require.NoError(t, bmo1.Stop())
	require.NoError(t, src.Stop())
	pivot := time.Now()
	dst, err := lab.StartIronic(ctx, lab.IronicOptions{Name: "target", BMC: emu, ReadyTimeout: 3 * time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			dst.Keep()
			t.Log(dst.Logs(60))
		}
		require.NoError(t, dst.Stop())
	})
	c2, bmo2 := clusterWithBMO(ctx, t, "deploy-dst", dst)
	t.Logf("%s: second Ironic, API server and BMO ready in %s", since(), time.Since(pivot).Round(time.Millisecond))
	mark := len(emu.Recorder.Writes(nil))
	markCalls := len(emu.Recorder.AgentCalls())
	watch := watchNodeStates(ctx, dst)
	moved := newDeployHost(t, emu, ns, host, image)
	moved.Annotations[bmov1alpha1.StatusAnnotation] = string(status)
	adoptStart := time.Now()
	createHost(ctx, t, c2.Client, moved)
	waitHost(ctx, t, c2.Client, client.ObjectKeyFromObject(moved), bmov1alpha1.StateProvisioned, 3*time.Minute, since, func() string {
		return fmt.Sprintf("BMO: %v; Ironic: %v", bmo2.Check(), dst.Check())
	})
	// BMO shows the status it restored at once; the node comes after.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var nodes struct {
			Nodes []lab.IronicNode `json:"nodes"`
		}
		require.NoError(t, dst.Client().Do(ctx, http.MethodGet, "/v1/nodes?detail=true", nil, &nodes))
		if len(nodes.Nodes) == 1 && nodes.Nodes[0].ProvisionState == "active" && nodes.Nodes[0].Idle() {
			t.Logf("Ironic %s: %s", dst.Name, nodes.Nodes[0])
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ironic %s: no active node within 2 min: %v", dst.Name, nodes.Nodes)
		}
		time.Sleep(250 * time.Millisecond)
	}
	adopt := time.Since(adoptStart)
	// Late writes (a power sync, BMO's power handling) would come now.
	time.Sleep(5 * time.Second)
	states := watch.stop()
	t.Logf("Ironic %s node states: %v", dst.Name, states)
	require.NotEmpty(t, states)
	require.Equal(t, "active", states[len(states)-1])
	for _, s := range states {
		require.Contains(t, []string{"enroll", "verifying", "manageable", "adopting", "active"}, s)
	}
	after := emu.Recorder.Writes(nil)[mark:]
	for _, w := range after {
		t.Logf("BMC write after the pivot: %s", w)
	}
	require.Empty(t, emu.Recorder.Writes(lab.By(dst.Name, "")), "the second Ironic adopts without a BMC write")
	require.Empty(t, emu.Recorder.AgentCalls()[markCalls:], "no agent runs for an adoption")
	require.Empty(t, emu.Recorder.Refused())
	t.Logf("adoption: %s from the host's arrival to active in Ironic %s; pivot total %s", adopt.Round(time.Millisecond), dst.Name, time.Since(pivot).Round(time.Millisecond))
}

// lastCalls shows how many calls there were and the last n.
func lastCalls(calls []lab.AgentCall, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d calls", len(calls))
	for _, c := range calls[max(0, len(calls)-n):] {
		fmt.Fprintf(&b, "; %s", c)
	}
	return b.String()
}

// clusterWithBMO starts an API server and BMO against ir, both stopped at
// the end of the test.
func clusterWithBMO(ctx context.Context, t *testing.T, name string, ir *lab.Ironic) (*testenv.Cluster, *lab.IronicBMO) {
	t.Helper()
	c, err := testenv.Start(ctx, testenv.Options{Name: name, LabelCRD: testenv.LabelLikeClusterctl})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Stop()) })
	bmo, err := lab.StartBMOWithIronic(ctx, lab.Cluster{Name: c.Name, Kubeconfig: c.Kubeconfig, Config: c.Config, Client: c.Client}, ir, 90*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			bmo.Keep()
			t.Log(bmo.Logs(60))
		}
		require.NoError(t, bmo.Stop())
	})
	return c, bmo
}

// newDeployHost is a host to provision with image: iPXE boot over the
// emulator (redfish+http), its MAC, inspection disabled with hardware
// details, automated cleaning disabled, online.
func newDeployHost(t *testing.T, emu *lab.BMCEmulator, ns, host string, image *bmov1alpha1.Image) *bmov1alpha1.BareMetalHost {
	t.Helper()
	sys, err := emu.System(host)
	require.NoError(t, err)
	addr, err := emu.Address(host)
	require.NoError(t, err)
	hw, err := json.Marshal(lab.HardwareDetails(host, sys.MAC))
	require.NoError(t, err)
	img := *image
	return &bmov1alpha1.BareMetalHost{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: host, Annotations: map[string]string{
			bmov1alpha1.InspectAnnotationPrefix:   "disabled",
			bmov1alpha1.HardwareDetailsAnnotation: string(hw),
		}},
		Spec: bmov1alpha1.BareMetalHostSpec{
			Online: true, BootMACAddress: sys.MAC, AutomatedCleaningMode: bmov1alpha1.CleaningModeDisabled,
			BMC:   bmov1alpha1.BMCDetails{Address: addr, CredentialsName: host + "-bmc"},
			Image: &img,
		},
	}
}

// createHost creates h's namespace, BMC secret and h.
func createHost(ctx context.Context, t *testing.T, c client.Client, h *bmov1alpha1.BareMetalHost) {
	t.Helper()
	require.NoError(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: h.Namespace}}))
	require.NoError(t, c.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: h.Namespace, Name: h.Spec.BMC.CredentialsName},
		Data:       map[string][]byte{"username": []byte("admin"), "password": []byte("password")},
	}))
	require.NoError(t, c.Create(ctx, h))
}

// waitHost waits until the host is in state without an error, logging each
// change; on timeout it fails with more().
func waitHost(ctx context.Context, t *testing.T, c client.Client, key client.ObjectKey, state bmov1alpha1.ProvisioningState, timeout time.Duration, since func() string, more func() string) *bmov1alpha1.BareMetalHost {
	t.Helper()
	var last string
	deadline := time.Now().Add(timeout)
	for {
		got := &bmov1alpha1.BareMetalHost{}
		require.NoError(t, c.Get(ctx, key, got))
		s := string(got.Status.Provisioning.State)
		if got.Status.ErrorMessage != "" {
			s += " (" + string(got.Status.ErrorType) + ": " + got.Status.ErrorMessage + ")"
		}
		if s != last {
			last = s
			t.Logf("%s: host %s: %s", since(), key.Name, s)
		}
		if got.Status.Provisioning.State == state && got.Status.ErrorMessage == "" {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("host %s not %s within %s: %s; %s", key.Name, state, timeout, last, more())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// onlyNode is the one node of ir.
func onlyNode(ctx context.Context, t *testing.T, ir *lab.Ironic) lab.IronicNode {
	t.Helper()
	var nodes struct {
		Nodes []lab.IronicNode `json:"nodes"`
	}
	require.NoError(t, ir.Client().Do(ctx, http.MethodGet, "/v1/nodes?detail=true", nil, &nodes))
	require.Len(t, nodes.Nodes, 1)
	return nodes.Nodes[0]
}

// stateWatch keeps the provision states of an Ironic's nodes in the order
// seen (every node's, one list: the tests here have one node).
type stateWatch struct {
	mu     sync.Mutex
	states []string
	cancel context.CancelFunc
	done   chan struct{}
}

func watchNodeStates(ctx context.Context, ir *lab.Ironic) *stateWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &stateWatch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		last := map[string]string{}
		for ctx.Err() == nil {
			var nodes struct {
				Nodes []lab.IronicNode `json:"nodes"`
			}
			if ir.Client().Do(ctx, http.MethodGet, "/v1/nodes?fields=uuid,provision_state", nil, &nodes) == nil {
				for _, n := range nodes.Nodes {
					if last[n.UUID] != n.ProvisionState {
						last[n.UUID] = n.ProvisionState
						w.mu.Lock()
						w.states = append(w.states, n.ProvisionState)
						w.mu.Unlock()
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *stateWatch) stop() []string {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.states)
}

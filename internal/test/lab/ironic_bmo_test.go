package lab_test

import (
	"context"
	"strings"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// TestLabIronicBMORegistersHost: BMO v0.13.2 without its test mode, with
// its provisioner pointed at a real Ironic, registers a BareMetalHost whose
// BMC is the emulator (inspection and automated cleaning disabled, as for a
// host whose hardware is known): the host reaches available, the Ironic
// node too, and every BMC write on the way is recorded as that Ironic's.
func TestLabIronicBMORegistersHost(t *testing.T) {
	const host = "host-0"
	emu, irs := ironics(t, []string{host}, "bootstrap")
	ir := irs["bootstrap"]
	ctx := context.Background()
	begin := time.Now()
	c, err := testenv.Start(ctx, testenv.Options{Name: "bmo-ironic", LabelCRD: testenv.LabelLikeClusterctl})
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
	t.Logf("API server and BMO (against Ironic %s) ready in %s", ir.Name, time.Since(begin).Round(time.Millisecond))

	require.NoError(t, c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "metal3"}}))
	require.NoError(t, c.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "metal3", Name: host + "-bmc"},
		Data:       map[string][]byte{"username": []byte("admin"), "password": []byte("password")},
	}))
	addr, err := emu.Address(host)
	require.NoError(t, err)
	sys, err := emu.System(host)
	require.NoError(t, err)
	h := &bmov1alpha1.BareMetalHost{
		ObjectMeta: metav1.ObjectMeta{Namespace: "metal3", Name: host, Annotations: map[string]string{
			bmov1alpha1.InspectAnnotationPrefix: "disabled",
		}},
		Spec: bmov1alpha1.BareMetalHostSpec{
			Online: false, BootMACAddress: sys.MAC, AutomatedCleaningMode: bmov1alpha1.CleaningModeDisabled,
			BMC: bmov1alpha1.BMCDetails{Address: addr, CredentialsName: host + "-bmc"},
		},
	}
	require.NoError(t, c.Client.Create(ctx, h))
	var states []string
	deadline := time.Now().Add(3 * time.Minute)
	for {
		got := &bmov1alpha1.BareMetalHost{}
		require.NoError(t, c.Client.Get(ctx, client.ObjectKeyFromObject(h), got))
		s := string(got.Status.Provisioning.State)
		if got.Status.ErrorMessage != "" {
			s += " (" + string(got.Status.ErrorType) + ": " + got.Status.ErrorMessage + ")"
		}
		if len(states) == 0 || states[len(states)-1] != s {
			states = append(states, s)
			t.Logf("%s: host %s: %s", time.Since(begin).Round(time.Millisecond), host, s)
		}
		if got.Status.Provisioning.State == bmov1alpha1.StateAvailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host %s not available within 3 min; states %v; BMO: %v; Ironic: %v", host, states, bmo.Check(), ir.Check())
		}
		time.Sleep(200 * time.Millisecond)
	}
	nodes := struct {
		Nodes []lab.IronicNode `json:"nodes"`
	}{}
	require.NoError(t, ir.Client().Do(ctx, "GET", "/v1/nodes?detail=true", nil, &nodes))
	require.Len(t, nodes.Nodes, 1)
	t.Logf("Ironic %s: %s; deploy %s, boot %s", ir.Name, nodes.Nodes[0], nodes.Nodes[0].DeployInterface, nodes.Nodes[0].BootInterface)
	// BMO keeps an available host's node manageable until it deploys it.
	require.Equal(t, "manageable", nodes.Nodes[0].ProvisionState)
	require.Equal(t, "power off", nodes.Nodes[0].Power())
	require.Empty(t, emu.Recorder.Writes(lab.By(ir.Name, "")), "registering a host with inspection disabled, already off, writes nothing to its BMC")

	// Powering the host on through BMO: BMO asks Ironic, Ironic writes to
	// the BMC, and the record names the Ironic.
	got := &bmov1alpha1.BareMetalHost{}
	require.NoError(t, c.Client.Get(ctx, client.ObjectKeyFromObject(h), got))
	got.Spec.Online = true
	require.NoError(t, c.Client.Update(ctx, got))
	on := time.Now()
	for {
		require.NoError(t, c.Client.Get(ctx, client.ObjectKeyFromObject(h), got))
		if got.Status.PoweredOn {
			break
		}
		if time.Since(on) > 2*time.Minute {
			t.Fatalf("host %s not powered on within 2 min: %s; BMO: %v; Ironic: %v", host, got.Status.Provisioning.State, bmo.Check(), ir.Check())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("host %s powered on through BMO and Ironic in %s", host, time.Since(on).Round(time.Millisecond))
	var powerOn int
	for _, w := range emu.Recorder.Writes(nil) {
		t.Logf("BMC write: %s", w)
		if w.Ironic == ir.Name && w.Host == host && w.Kind == lab.BMCPower && strings.Contains(w.Summary, `"On"`) {
			powerOn++
		}
	}
	require.Equal(t, 1, powerOn, "one power-on write by Ironic %s for %s", ir.Name, host)
	require.Empty(t, emu.Recorder.Refused())
}

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/fixture"
	"github.com/pivotcheck/pivotcheck/internal/lab"
	"github.com/pivotcheck/pivotcheck/internal/scenario"
)

// startTargetGuard runs `pivotcheck webhook --mode target` against the
// target on loopback and registers config/target's webhook configuration
// pointing at it (the lab's CA in its caBundle). It returns the guard's
// metrics URL; the test's cleanup unregisters and stops it.
func startTargetGuard(ctx context.Context, t *testing.T) string {
	t.Helper()
	dst := pair.Target
	certDir := t.TempDir()
	serving, err := dst.Lab.CA.Issue([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	require.NoError(t, serving.WriteDir(certDir, dst.Lab.CA))
	ports := make([]int, 3)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		require.NoError(t, ln.Close())
	}
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	args := []string{"webhook", "--mode", "target", "--kubeconfig", dst.Kubeconfig, "--host", "127.0.0.1",
		"--port", strconv.Itoa(ports[0]), "--cert-dir", certDir,
		"--metrics-bind-address", addr(1), "--metrics-secure=false", "--health-probe-bind-address", addr(2)}
	stop, err := dst.Lab.Run(ctx, "target-guard", pivotcheck, args, 60*time.Second, lab.HTTPReady("http://"+addr(2)+"/readyz"))
	require.NoError(t, err)
	f, err := os.Open("../config/target/manifests.yaml")
	require.NoError(t, err)
	defer f.Close()
	cfgs, err := lab.ReadWebhookConfigs(f)
	require.NoError(t, err)
	require.NotEmpty(t, cfgs.Validating)
	cfgs.PointAt(addr(0), dst.Lab.CA.CertPEM)
	require.NoError(t, cfgs.Install(ctx, dst.Client))
	t.Cleanup(func() {
		for _, v := range cfgs.Validating {
			if err := dst.Client.Delete(context.Background(), v); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("removing %s: %v", v.Name, err)
			}
		}
		stop()
	})
	return "http://" + addr(1) + "/metrics"
}

// TestLabTargetGuard: a plain `clusterctl move` (the real binary) into a
// target whose BMO and CAPM3 run. One consumed host carries no status
// annotation when clusterctl copies it: its user paused it, so CAPM3 never
// annotates it, the way a host CAPM3 has not annotated yet looks (CAPM3 ≤
// 1.13's race). A test writer plays the late CAPM3: once the guard has
// refused a create, it writes the host's status annotation in the source.
//
// With the target guard installed, the create is refused, clusterctl
// retries and reads the source host again, the host arrives with the
// written annotation, and once its user unpauses it the target's BMO keeps
// it provisioned. Without the guard, the same move copies it bare and the
// target's BMO registers and inspects it again.
func TestLabTargetGuard(t *testing.T) {
	ctx := labTest(t)
	for _, guarded := range []bool{true, false} {
		name := map[bool]string{true: "guarded", false: "unguarded"}[guarded]
		t.Run(name, func(t *testing.T) {
			opts := fixture.Options{Namespace: "target-" + name, ClusterName: "lab8", ControlPlane: 2}
			res, before := build(ctx, t, opts)
			src, dst := pair.Bootstrap.Client, pair.Target.Client
			late := res.Hosts[1]
			annotateHost(ctx, t, src, opts.Namespace, late, map[string]string{bmov1alpha1.PausedAnnotation: userPause})
			h := &bmov1alpha1.BareMetalHost{}
			require.NoError(t, src.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: late}, h))
			written, err := bmo.EncodeStatus(h.Status, nil)
			require.NoError(t, err)

			var metrics string
			if guarded {
				metrics = startTargetGuard(ctx, t)
			}
			writerDone := make(chan struct{})
			wctx, stopWriter := context.WithCancel(ctx)
			go func() {
				defer close(writerDone)
				for wctx.Err() == nil {
					if metrics != "" {
						if _, denied, err := readDecisions(metrics); err == nil && denied > 0 {
							h := &bmov1alpha1.BareMetalHost{}
							h.Namespace, h.Name = opts.Namespace, late
							patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, bmov1alpha1.StatusAnnotation, written)
							if err := src.Patch(ctx, h, client.RawPatch(types.MergePatchType, []byte(patch))); err == nil {
								return
							}
						}
					}
					select {
					case <-wctx.Done():
					case <-time.After(50 * time.Millisecond):
					}
				}
			}()
			rec, err := scenario.Record(ctx, pair.Target.Config, opts.Namespace)
			require.NoError(t, err)
			out, code := run(ctx, t, clusterctl, append([]string{"move", "-v", "5"}, clusterctlArgs(opts.Namespace)...)...)
			stopWriter()
			<-writerDone
			require.Zero(t, code, out)

			got := &bmov1alpha1.BareMetalHost{}
			require.NoError(t, dst.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: late}, got))
			if guarded {
				allowed, denied := decisions(t, metrics)
				t.Logf("target guard: %d allowed, %d denied", allowed, denied)
				require.Positive(t, denied, "the guard refused the bare host at least once")
				require.Contains(t, strings.ToLower(out), "retry", "clusterctl retried the refused create")
				require.Equal(t, written, got.Annotations[bmov1alpha1.StatusAnnotation], "the host arrived with the annotation written late")
			} else {
				require.NotContains(t, got.Annotations, bmov1alpha1.StatusAnnotation, "without the guard the host arrives bare")
			}
			// The user lifts the pause in the target.
			patch := []byte(`{"metadata":{"annotations":{"` + bmov1alpha1.PausedAnnotation + `":null}}}`)
			require.NoError(t, dst.Patch(ctx, got, client.RawPatch(types.MergePatchType, patch)))
			if guarded {
				require.NoError(t, scenario.WaitSettled(ctx, rec, before, 3*time.Minute), "journeys: %v", scenario.Journeys(rec.States()))
				require.NoError(t, rec.Stop())
				require.Empty(t, scenario.Disturbed(before, rec.States()), "journeys: %v", scenario.Journeys(rec.States()))
				return
			}
			deadline := time.Now().Add(3 * time.Minute)
			for !strings.Contains(strings.Join(scenario.Disturbed(before, rec.States()), " "), late) {
				require.True(t, time.Now().Before(deadline), "without the guard, the bare host should be registered again; journeys: %v", scenario.Journeys(rec.States()))
				time.Sleep(100 * time.Millisecond)
			}
			require.NoError(t, rec.Stop())
			t.Logf("without the guard: %v", scenario.Journeys(rec.States()))
		})
	}
}

// TestLabAdoptionVerified: with the real BMO on both sides, --wait-for-hosts
// waits until the target's BMO registered each host with its own Ironic:
// goodCredentials names the host's BMC Secret at its target resourceVersion.
// A host whose BMC Secret loses its password on the way fails to register,
// and the wait names it with its registration error.
func TestLabAdoptionVerified(t *testing.T) {
	ctx := labTest(t)
	opts := fixture.Options{Namespace: "adoption", ClusterName: "lab9", ControlPlane: 2}
	res, _ := build(ctx, t, opts)
	src, dst := pair.Bootstrap.Client, pair.Target.Client
	good, broken := res.Hosts[0], res.Hosts[1]
	require.NoError(t, src.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: broken}, &bmov1alpha1.BareMetalHost{}))

	// Break the broken host's BMC Secret as soon as it arrives in the target
	// (the hosts are still paused then; the move unpauses them in verify).
	wctx, stopWriter := context.WithCancel(ctx)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for wctx.Err() == nil {
			sec := &corev1.Secret{}
			if err := dst.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: broken + "-bmc-secret"}, sec); err == nil {
				patch := []byte(`[{"op":"remove","path":"/data/password"}]`)
				if err := dst.Patch(ctx, sec, client.RawPatch(types.JSONPatchType, patch)); err == nil {
					return
				}
			}
			select {
			case <-wctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	args := append([]string{"move"}, pivotcheckArgs(opts.Namespace)...)
	args = append(args, "--wait-for-hosts", "--host-timeout", "60s", "--backup-dir", filepath.Join(t.TempDir(), "backup"))
	out, code := run(ctx, t, pivotcheck, args...)
	stopWriter()
	<-writerDone
	t.Logf("pivotcheck move:\n%s", out)
	require.NotZero(t, code, "the wait must fail for the host that cannot register")
	require.Contains(t, out, broken)
	require.Contains(t, out, "registration error")

	h := &bmov1alpha1.BareMetalHost{}
	require.NoError(t, dst.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: good}, h))
	sec := &corev1.Secret{}
	require.NoError(t, dst.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: good + "-bmc-secret"}, sec))
	require.NotNil(t, h.Status.GoodCredentials.Reference)
	require.Equal(t, sec.Name, h.Status.GoodCredentials.Reference.Name)
	require.Equal(t, sec.ResourceVersion, h.Status.GoodCredentials.Version, "the target's BMO registered %s with the target's Secret", good)
	require.Equal(t, bmov1alpha1.StateProvisioned, h.Status.Provisioning.State)
}

// TestLabUserIntentKindsTravel: a host's HostFirmwareSettings edited by its
// user and its HostUpdatePolicy move with it when their CRDs carry the
// labels the KRM function gives them: in the target they have the same
// spec and belong to the new host, and the host is not being serviced.
// With only the labels Metal3's CI puts on BMO's CRDs, a plain clusterctl
// move leaves both behind and the target's BMO makes an empty
// HostFirmwareSettings.
func TestLabUserIntentKindsTravel(t *testing.T) {
	ctx := labTest(t)
	settings := map[string]any{"ProcVirtualization": "Disabled"}
	hfsGVK := bmov1alpha1.GroupVersion.WithKind("HostFirmwareSettings")
	prepare := func(t *testing.T, ns string) string {
		opts := fixture.Options{Namespace: ns, ClusterName: "lab10", ControlPlane: 1}
		res, _ := build(ctx, t, opts)
		host := res.Hosts[0]
		src := pair.Bootstrap.Client
		hfs := &unstructured.Unstructured{}
		hfs.SetGroupVersionKind(hfsGVK)
		deadline := time.Now().Add(60 * time.Second)
		for src.Get(ctx, client.ObjectKey{Namespace: ns, Name: host}, hfs) != nil {
			require.True(t, time.Now().Before(deadline), "BMO creates the host's HostFirmwareSettings")
			time.Sleep(100 * time.Millisecond)
		}
		require.NoError(t, unstructured.SetNestedMap(hfs.Object, settings, "spec", "settings"))
		require.NoError(t, src.Update(ctx, hfs))
		hup := &bmov1alpha1.HostUpdatePolicy{}
		hup.Namespace, hup.Name = ns, host
		hup.Spec.FirmwareSettings, hup.Spec.FirmwareUpdates = "onReboot", "onReboot"
		require.NoError(t, src.Create(ctx, hup))
		return host
	}
	readHFS := func(c client.Client, ns, name string) (map[string]any, *unstructured.Unstructured) {
		hfs := &unstructured.Unstructured{}
		hfs.SetGroupVersionKind(hfsGVK)
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, hfs); err != nil {
			return nil, nil
		}
		s, _, _ := unstructured.NestedMap(hfs.Object, "spec", "settings")
		return s, hfs
	}

	t.Run("labelled by the KRM function", func(t *testing.T) {
		ns := "intent"
		host := prepare(t, ns)
		args := append([]string{"move"}, pivotcheckArgs(ns)...)
		args = append(args, "--wait-for-hosts", "--host-timeout", "3m", "--backup-dir", filepath.Join(t.TempDir(), "backup"))
		out, code := run(ctx, t, pivotcheck, args...)
		require.Zero(t, code, out)
		dst := pair.Target.Client
		h := &bmov1alpha1.BareMetalHost{}
		require.NoError(t, dst.Get(ctx, client.ObjectKey{Namespace: ns, Name: host}, h))
		got, hfs := readHFS(dst, ns, host)
		require.NotNil(t, hfs, "the HostFirmwareSettings moved")
		require.Equal(t, settings, got)
		require.Equal(t, h.UID, hfs.GetOwnerReferences()[0].UID, "it belongs to the new host")
		hup := &bmov1alpha1.HostUpdatePolicy{}
		require.NoError(t, dst.Get(ctx, client.ObjectKey{Namespace: ns, Name: host}, hup), "the HostUpdatePolicy moved")
		require.Equal(t, bmov1alpha1.UpdatePolicy("onReboot"), hup.Spec.FirmwareSettings)
		require.NotEqual(t, bmov1alpha1.OperationalStatusServicing, h.Status.OperationalStatus)
	})

	t.Run("labelled as Metal3 CI does", func(t *testing.T) {
		ns := "intent-ci"
		host := prepare(t, ns)
		// Take the KRM function's labels off the two CRDs, as a bootstrap
		// installed with Metal3 CI's labels has them; put them back after.
		for _, crd := range []string{"hostfirmwaresettings.metal3.io", "hostupdatepolicies.metal3.io"} {
			setMoveLabels(ctx, t, crd, false)
		}
		t.Cleanup(func() {
			for _, crd := range []string{"hostfirmwaresettings.metal3.io", "hostupdatepolicies.metal3.io"} {
				setMoveLabels(context.Background(), t, crd, true)
			}
		})
		out, code := run(ctx, t, clusterctl, append([]string{"move"}, clusterctlArgs(ns)...)...)
		require.Zero(t, code, out)
		dst := pair.Target.Client
		deadline := time.Now().Add(2 * time.Minute)
		var got map[string]any
		var hfs *unstructured.Unstructured
		for hfs == nil {
			require.True(t, time.Now().Before(deadline), "the target's BMO creates a HostFirmwareSettings for the host")
			got, hfs = readHFS(dst, ns, host)
			time.Sleep(100 * time.Millisecond)
		}
		require.Empty(t, got, "the user's settings were lost: the target's BMO made an empty one")
		err := dst.Get(ctx, client.ObjectKey{Namespace: ns, Name: host}, &bmov1alpha1.HostUpdatePolicy{})
		require.True(t, apierrors.IsNotFound(err), "the HostUpdatePolicy stayed behind: %v", err)
	})
}

// setMoveLabels puts the clusterctl and move labels on a bootstrap CRD, or
// takes them off.
func setMoveLabels(ctx context.Context, t *testing.T, crd string, on bool) {
	t.Helper()
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion("apiextensions.k8s.io/v1")
	obj.SetKind("CustomResourceDefinition")
	obj.SetName(crd)
	patch := `{"metadata":{"labels":{"clusterctl.cluster.x-k8s.io":null,"clusterctl.cluster.x-k8s.io/move":null}}}`
	if on {
		patch = `{"metadata":{"labels":{"clusterctl.cluster.x-k8s.io":"","clusterctl.cluster.x-k8s.io/move":""}}}`
	}
	require.NoError(t, pair.Bootstrap.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch))))
}

package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

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

package webhook_test

import (
	"context"
	"strings"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
	"github.com/pivotcheck/pivotcheck/webhook"
)

// Every gated write through the real kube-apiserver with the real CRDs and
// config/webhook/manifests.yaml (matchConditions, namespaceSelector,
// failurePolicy) installed by envtest, with each Cluster API release's CRDs.
func TestGatesThroughAPIServer(t *testing.T) {
	for _, capi := range upstream.ClusterAPIReleases {
		t.Run(capi.Version, func(t *testing.T) { gatesThroughAPIServer(t, envPairFor(t, capi)) })
	}
}

func gatesThroughAPIServer(t *testing.T, p *testenv.Pair) {
	ctx := context.Background()
	b := p.Bootstrap
	c, warns := clientWithWarnings(t, b)
	const ns = "gates"
	opts := fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 1,
		Faults: fixture.Faults{HostState: map[int]bmov1alpha1.ProvisioningState{0: bmov1alpha1.StateProvisioning}}}
	res, err := fixture.Build(ctx, c, opts)
	require.NoError(t, err)
	host0, host1 := res.Hosts[0], res.Hosts[1]
	cluster := opts.ClusterName
	if cluster == "" {
		cluster = "test1"
	}

	wh := startWebhook(t, b)
	stopped := false
	defer func() {
		if !stopped {
			wh.stop(t)
		}
	}()
	deniedBefore := testutil.ToFloat64(webhook.Decisions().WithLabelValues("pause", "denied", webhook.ReasonHostBusy))

	t.Log("pause: denied, dry-run gives the same verdict, nothing is paused")
	dry := pause(ctx, c, ns, cluster, true)
	denied(t, dry, "pivotcheck refuses the pause of Cluster gates/test1", host0+" is provisioning",
		"kubectl -n gates annotate cluster test1 pivotcheck.dev/allow-unsafe-move=")
	require.NotContains(t, dry.Error(), host1)
	sameVerdict(t, dry, pause(ctx, c, ns, cluster, false))
	require.False(t, isPaused(ctx, t, c, ns, cluster))
	require.Equal(t, deniedBefore+2, testutil.ToFloat64(webhook.Decisions().WithLabelValues("pause", "denied", webhook.ReasonHostBusy)))

	t.Log("ClusterClass pause (clusterctl's merge patch adding cluster.x-k8s.io/paused): denied")
	cc := uobj("cluster.x-k8s.io/v1beta2", "ClusterClass", ns, "metal3-class")
	cc.Object["spec"] = map[string]any{
		"controlPlane":   map[string]any{"templateRef": map[string]any{"apiVersion": "controlplane.cluster.x-k8s.io/v1beta2", "kind": "KubeadmControlPlaneTemplate", "name": "cp"}},
		"infrastructure": map[string]any{"templateRef": map[string]any{"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "Metal3ClusterTemplate", "name": "infra"}},
	}
	require.NoError(t, c.Create(ctx, cc))
	ccPatch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"cluster.x-k8s.io/paused":""}}}`))
	denied(t, c.Patch(ctx, cc, ccPatch, client.DryRunAll), "pivotcheck refuses the pause of ClusterClass gates/metal3-class", host0+" is provisioning")
	require.NoError(t, c.Patch(ctx, cc, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"unrelated":"change"}}}`))), "other updates are not gated")

	t.Log("delete-for-move: the annotation-replacing JSON patch on a Metal3Machine and on a BMH is denied")
	m3m := uobj("infrastructure.cluster.x-k8s.io/v1beta2", "Metal3Machine", ns, "")
	for _, ref := range res.Objects {
		if ref.Kind == "Metal3Machine" {
			m3m.SetName(ref.Name)
			break
		}
	}
	denied(t, markDeleteForMove(ctx, c, m3m, false), "delete-for-move annotation on Metal3Machine gates/"+m3m.GetName(), host0+" is provisioning",
		"kubectl label namespace gates pivotcheck.dev/allow-unsafe-move=<reason>")
	denied(t, markDeleteForMove(ctx, c, uobj("metal3.io/v1alpha1", "BareMetalHost", ns, host1), true), host0+" is provisioning")

	t.Log("DELETE of an object carrying delete-for-move is denied; without it, not gated")
	carrying := uobj("ipam.metal3.io/v1alpha1", "IPPool", ns, "carrying")
	carrying.SetAnnotations(map[string]string{webhook.DeleteForMoveAnnotation: ""})
	require.NoError(t, c.Create(ctx, withIPPoolSpec(carrying)))
	denied(t, c.Delete(ctx, carrying, client.DryRunAll), "the deletion of IPPool gates/carrying")
	denied(t, c.Delete(ctx, carrying), "the deletion of IPPool gates/carrying")

	t.Log("finalizer removal of an object already being deleted is never denied")
	held := uobj("ipam.metal3.io/v1alpha1", "IPPool", ns, "held")
	held.SetFinalizers([]string{fixture.TestFinalizer})
	require.NoError(t, c.Create(ctx, withIPPoolSpec(held)))
	require.NoError(t, c.Delete(ctx, held)) // no delete-for-move: not gated; now it has a deletionTimestamp
	require.NoError(t, c.Patch(ctx, held, client.RawPatch(types.JSONPatchType, []byte(`[{"op": "add", "path":"/metadata/annotations", "value":{"clusterctl.cluster.x-k8s.io/delete-for-move":""}}]`))))
	require.NoError(t, c.Patch(ctx, held, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":[]}}`))))

	t.Log("bypass annotation on the Cluster lets the pause through (dry-run)")
	require.NoError(t, c.Patch(ctx, clusterObj(ns, cluster), client.RawPatch(types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"pivotcheck.dev/allow-unsafe-move":"test"}}}`))))
	require.NoError(t, pause(ctx, c, ns, cluster, true))
	require.NoError(t, c.Patch(ctx, clusterObj(ns, cluster), client.RawPatch(types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"pivotcheck.dev/allow-unsafe-move":null}}}`))))

	t.Log("host provisioned: allowed, with the warning about consumed hosts without status annotation")
	setHostState(ctx, t, c, ns, host0, bmov1alpha1.StateProvisioned)
	warns.take()
	eventually(t, "pause allowed", func() error { return pause(ctx, c, ns, cluster, true) })
	w := warns.take()
	require.NotEmpty(t, w)
	require.Contains(t, w[len(w)-1], "is consumed but has no baremetalhost.metal3.io/status annotation")

	t.Log("Ironic Deployment running: denied with the exact removal command; deleted: allowed")
	require.NoError(t, fixture.InstallManagement(ctx, c, fixture.Management{Ironic: ptr.To(int32(1))}))
	eventually(t, "Ironic seen", func() error {
		err := pause(ctx, c, ns, cluster, true)
		if err == nil {
			return errAllowed
		}
		return nil
	})
	denied(t, pause(ctx, c, ns, cluster, true), "Ironic still runs",
		"kubectl -n baremetal-operator-system delete deployment baremetal-operator-ironic && kubectl -n baremetal-operator-system wait --for=delete pod -l name=ironic --timeout=5m")
	require.NoError(t, c.Delete(ctx, &appsv1.Deployment{ObjectMeta: objMeta(fixture.BMONamespace, fixture.IronicName)}))

	t.Log("a terminating Ironic pod still counts")
	require.NoError(t, fixture.InstallManagement(ctx, c, fixture.Management{IronicPods: 1, IronicTerminating: true}))
	eventually(t, "terminating pod seen", func() error {
		err := pause(ctx, c, ns, cluster, true)
		if err == nil {
			return errAllowed
		}
		if !strings.Contains(err.Error(), "terminating pod") {
			return err
		}
		return nil
	})
	pod := &corev1.Pod{ObjectMeta: objMeta(fixture.BMONamespace, fixture.IronicName+"-0")}
	require.NoError(t, c.Patch(ctx, pod, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))))
	eventually(t, "pause allowed after the pod went", func() error { return pause(ctx, c, ns, cluster, true) })

	t.Log("webhook stopped: the pause fails closed, the bypass annotation too (the webhook judges it); the namespace label still works")
	setHostState(ctx, t, c, ns, host0, bmov1alpha1.StateInspecting)
	wh.stop(t)
	stopped = true
	denied(t, pause(ctx, c, ns, cluster, true), "failed calling webhook", "pause.pivotcheck.dev")
	require.NoError(t, c.Patch(ctx, clusterObj(ns, cluster), client.RawPatch(types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"pivotcheck.dev/allow-unsafe-move":"webhook down, accepted risk"}}}`))))
	denied(t, pause(ctx, c, ns, cluster, true), "failed calling webhook", "pause.pivotcheck.dev")
	require.NoError(t, c.Patch(ctx, clusterObj(ns, cluster), client.RawPatch(types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"pivotcheck.dev/allow-unsafe-move":null}}}`))))
	denied(t, markDeleteForMove(ctx, c, m3m, true), "failed calling webhook", "delete-for-move.pivotcheck.dev")
	// The API server matches namespaceSelector against its own namespace
	// cache, so a label change takes effect a moment after the write.
	nsLabel(ctx, t, c, ns, ptrTo("accepted-risk"))
	eventually(t, "delete-for-move passes once the namespace label is seen", func() error { return markDeleteForMove(ctx, c, m3m, true) })
	require.NoError(t, pause(ctx, c, ns, cluster, true))
	nsLabel(ctx, t, c, ns, nil)
	eventually(t, "the gate is back once the label removal is seen", func() error {
		if err := pause(ctx, c, ns, cluster, true); err == nil {
			return errAllowed
		}
		return nil
	})

	t.Log("a webhook whose cache has not synced answers 503 with a message")
	stop := newNotSyncedServer(t, b)
	err = pause(ctx, c, ns, cluster, true)
	stop()
	denied(t, err, "cache has not synced yet", "kubectl -n gates annotate cluster test1")
	require.False(t, isPaused(ctx, t, c, ns, cluster))
}

var errAllowed = errorString("allowed")

type errorString string

func (e errorString) Error() string { return string(e) }

func objMeta(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

// withIPPoolSpec gives an IPAM IPPool the spec its CRD requires.
func withIPPoolSpec(u *unstructured.Unstructured) *unstructured.Unstructured {
	u.Object["spec"] = map[string]any{
		"namePrefix": "extra",
		"pools":      []any{map[string]any{"start": "172.23.0.100", "end": "172.23.0.200"}},
		"prefix":     int64(24),
	}
	return u
}

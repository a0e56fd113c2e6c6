package webhook_test

import (
	"context"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/webhook"
)

// fullReadSnapshot is the live snapshot as full reads give it: every
// BareMetalHost of ns decoded in full, every Deployment, DaemonSet and Pod
// of the cluster (not only the Ironic-labelled pods).
func fullReadSnapshot(ctx context.Context, t *testing.T, c client.Client, h *webhook.Handler, ns string) webhook.Evidence {
	t.Helper()
	var hosts bmov1alpha1.BareMetalHostList
	var deps appsv1.DeploymentList
	var dss appsv1.DaemonSetList
	var pods corev1.PodList
	require.NoError(t, c.List(ctx, &hosts, client.InNamespace(ns)))
	require.NoError(t, c.List(ctx, &deps))
	require.NoError(t, c.List(ctx, &dss))
	require.NoError(t, c.List(ctx, &pods))
	is := ironic.Objects{Deployments: deps.Items, DaemonSets: dss.Items, Pods: pods.Items}
	if h.IrSO != nil {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(h.IrSO.GroupVersion().WithKind(h.IrSO.Kind + "List"))
		require.NoError(t, c.List(ctx, l))
		is.IrSO = l.Items
	}
	out := webhook.Evidence{Ironic: ironic.Running(is, h.Workloads)}
	for i := range hosts.Items {
		out.Hosts = append(out.Hosts, &hosts.Items[i])
	}
	return out
}

// The live confirmation (host metadata against the cache, and its Ironic
// reads) and the projected, paginated read of every host give the verdict
// full reads give, on the real API server: a host
// mid-provisioning, a host in error, powered-on spares, a host with a
// pending reboot, and Ironic running as a Deployment, a DaemonSet and a
// bare Pod. Pages of 2 hosts, so the 8 hosts take several pages.
func TestLiveProjectionSameVerdict(t *testing.T) {
	p := envPair(t)
	ctx := context.Background()
	c := p.Bootstrap.Client
	const ns = "projection"
	_, err := fixture.Build(ctx, c, fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 3, SpareHosts: 4, Faults: fixture.Faults{
		HostState:       map[int]bmov1alpha1.ProvisioningState{0: bmov1alpha1.StateProvisioning},
		HostErrorType:   map[int]bmov1alpha1.ErrorType{1: bmov1alpha1.RegistrationError},
		HostAnnotations: map[int]map[string]string{2: {"reboot.metal3.io/remediation": ""}},
		PoweredOnSpares: true,
	}})
	require.NoError(t, err)
	require.NoError(t, client.IgnoreNotFound(c.Delete(ctx, &appsv1.Deployment{ObjectMeta: objMeta(fixture.BMONamespace, fixture.IronicName)})))

	wh := startWebhook(t, p.Bootstrap)
	defer wh.stop(t)
	proj, ok := wh.h.LiveHosts.(*webhook.HostProjection)
	require.True(t, ok, "the manager's handler reads hosts through a HostProjection")
	proj.PageSize = 2
	pause := webhook.Target{Gate: webhook.GatePause, Kind: "Cluster", Namespace: ns, Name: "test1"}

	same := func(wantReason string) webhook.Decision {
		t.Helper()
		fast, err := wh.h.LiveEvidence(ctx, ns)
		require.NoError(t, err)
		require.Len(t, fast.Hosts, 8)
		full := fullReadSnapshot(ctx, t, c, wh.h, ns)
		want := webhook.Decide(pause, full, 5)
		require.Equal(t, want, webhook.Decide(pause, fast, 5))
		// Every host projected (the read when many hosts changed).
		projected, err := proj.ListHosts(ctx, ns)
		require.NoError(t, err)
		require.Len(t, projected, 8)
		require.Equal(t, want, webhook.Decide(pause, webhook.Evidence{Hosts: projected, Ironic: fast.Ironic}, 5))
		require.Equal(t, wantReason, want.Reason, want.Message)
		return want
	}

	d := same(webhook.ReasonHostBusy)
	require.Contains(t, d.Message, "is provisioning")
	require.Contains(t, d.Message, "has a pending reboot")

	setHostState(ctx, t, c, ns, fixture.HostName(fixture.Options{Namespace: ns, ClusterName: "test1"}, 0), bmov1alpha1.StateProvisioned)
	hostAnnotation(ctx, t, c, ns, 2, "reboot.metal3.io/remediation", nil)
	d = same(webhook.ReasonSafe)
	require.Len(t, d.Warnings, 3, "consumed hosts without a status annotation, the host in error, the powered-on spares: %v", d.Warnings)

	setHostState(ctx, t, c, ns, fixture.HostName(fixture.Options{Namespace: ns, ClusterName: "test1"}, 0), bmov1alpha1.StateProvisioning)
	ironicObjects := []client.Object{
		fixture.IronicDeployment(1, false),
		&appsv1.DaemonSet{ObjectMeta: objMeta("projection-ironic", "ironic-ds"), Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ironic-ds"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "ironic-ds"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "ironic", Image: "quay.io/metal3-io/ironic"}}}},
		}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "projection-ironic", Name: "ironic-bare", Labels: map[string]string{ironic.PodLabel: ironic.PodLabelVal}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "ironic", Image: "quay.io/metal3-io/ironic"}}, AutomountServiceAccountToken: ptr.To(false)}},
	}
	for _, n := range []string{fixture.BMONamespace, "projection-ironic"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil && !apierrors.IsAlreadyExists(err) {
			require.NoError(t, err)
		}
	}
	for _, o := range ironicObjects {
		require.NoError(t, c.Create(ctx, o))
		d = same(webhook.ReasonHostAndIronic)
		require.Contains(t, d.Message, "Ironic still runs")
		require.Contains(t, d.Message, o.GetName())
		require.NoError(t, c.Delete(ctx, o, client.GracePeriodSeconds(0)))
	}
}

func hostAnnotation(ctx context.Context, t *testing.T, c client.Client, ns string, i int, key string, value *string) {
	t.Helper()
	h := &bmov1alpha1.BareMetalHost{}
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: fixture.HostName(fixture.Options{Namespace: ns, ClusterName: "test1"}, i)}, h))
	patch := client.MergeFrom(h.DeepCopy())
	if value == nil {
		delete(h.Annotations, key)
	} else {
		h.Annotations[key] = *value
	}
	require.NoError(t, c.Patch(ctx, h, patch))
}

package webhook_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	clusterctl "sigs.k8s.io/cluster-api/cmd/clusterctl/client"
	clusterctllog "sigs.k8s.io/cluster-api/cmd/clusterctl/log"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/webhook"
)

// The real clusterctl v1.14.2 Move (library) from bootstrap to target with
// the webhook installed in bootstrap. First run: a host is provisioning and
// Ironic runs, so the pause is refused through all of clusterctl's retries
// (≈ 129 s + jitter): nothing is copied, the source is not paused. Second
// run: the condition clears while clusterctl retries, and the same Move
// completes, its delete-for-move writes passing the delete gate.
func TestClusterctlMoveGated(t *testing.T) {
	if testing.Short() {
		t.Skip("needs envtest; skipped with -short")
	}
	p := envPair(t)
	ctx := context.Background()
	b := p.Bootstrap
	const ns = "move"
	opts := fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 1, SpareHosts: 1,
		Faults: fixture.Faults{HostState: map[int]bmov1alpha1.ProvisioningState{0: bmov1alpha1.StateProvisioning}}}
	res, err := fixture.Build(ctx, b.Client, opts)
	require.NoError(t, err)
	require.NoError(t, fixture.InstallManagement(ctx, b.Client, fixture.Management{Ironic: ptr.To(int32(1))}))

	wh := startWebhook(t, b)
	defer wh.stop(t)

	t.Setenv("HOME", t.TempDir()) // clusterctl writes its config folder there
	log := logr.Discard()
	if testing.Verbose() {
		log = funcr.New(func(prefix, args string) { t.Log("clusterctl", prefix, args) }, funcr.Options{Verbosity: 1})
	}
	clusterctllog.SetLogger(log)
	cc, err := clusterctl.New(ctx, "")
	require.NoError(t, err)
	move := clusterctl.MoveOptions{
		FromKubeconfig: clusterctl.Kubeconfig{Path: b.Kubeconfig, Context: b.Context},
		ToKubeconfig:   clusterctl.Kubeconfig{Path: p.Target.Kubeconfig, Context: p.Target.Context},
		Namespace:      ns,
	}
	pauseDenied := func() float64 {
		return testutil.ToFloat64(webhook.Decisions().WithLabelValues("pause", "denied", webhook.ReasonHostAndIronic))
	}

	t.Log("run 1: denied at the pause through every retry")
	start := time.Now()
	before := pauseDenied()
	err = cc.Move(ctx, move)
	t.Logf("run 1 ended after %s: %v", time.Since(start).Round(time.Second), err)
	require.Error(t, err)
	require.Contains(t, err.Error(), "Cluster.Spec.Paused")
	require.Contains(t, err.Error(), "pivotcheck refuses the pause of Cluster move/test1")
	require.Contains(t, err.Error(), res.Hosts[0]+" is provisioning")
	require.Contains(t, err.Error(), "kubectl -n baremetal-operator-system delete deployment baremetal-operator-ironic")
	require.GreaterOrEqual(t, pauseDenied()-before, 10.0, "clusterctl retried the pause")
	require.False(t, isPaused(ctx, t, b.Client, ns, "test1"), "the source stays unpaused")
	targetClusters := &unstructured.UnstructuredList{}
	targetClusters.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	targetClusters.SetKind("ClusterList")
	require.NoError(t, p.Target.Client.List(ctx, targetClusters, client.InNamespace(ns)))
	require.Empty(t, targetClusters.Items, "nothing was copied")
	var targetHosts bmov1alpha1.BareMetalHostList
	require.NoError(t, p.Target.Client.List(ctx, &targetHosts, client.InNamespace(ns)))
	require.Empty(t, targetHosts.Items)

	t.Log("run 2: the host finishes provisioning and Ironic is deleted while clusterctl retries")
	deleteAllowedBefore := testutil.ToFloat64(webhook.Decisions().WithLabelValues("delete-for-move", "allowed", webhook.ReasonSafe))
	before = pauseDenied()
	done := make(chan error, 1)
	start = time.Now()
	go func() { done <- cc.Move(ctx, move) }()
	require.Eventually(t, func() bool { return pauseDenied() > before }, time.Minute, 50*time.Millisecond, "first denial of run 2")
	setHostState(ctx, t, b.Client, ns, res.Hosts[0], bmov1alpha1.StateProvisioned)
	require.NoError(t, b.Client.Delete(ctx, &appsv1.Deployment{ObjectMeta: objMeta(fixture.BMONamespace, fixture.IronicName)}))
	select {
	case err = <-done:
	case <-time.After(4 * time.Minute):
		t.Fatal("run 2 did not finish")
	}
	t.Logf("run 2 ended after %s: %v", time.Since(start).Round(time.Second), err)
	require.NoError(t, err)

	require.NoError(t, p.Target.Client.List(ctx, targetClusters, client.InNamespace(ns)))
	require.Len(t, targetClusters.Items, 1)
	require.NoError(t, p.Target.Client.List(ctx, &targetHosts, client.InNamespace(ns)))
	require.Len(t, targetHosts.Items, len(res.Hosts))
	err = b.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "test1"}, clusterObj(ns, "test1"))
	require.True(t, apierrors.IsNotFound(err), "source Cluster deleted: %v", err)
	var sourceHosts bmov1alpha1.BareMetalHostList
	require.NoError(t, b.Client.List(ctx, &sourceHosts, client.InNamespace(ns)))
	require.Empty(t, sourceHosts.Items)
	require.Greater(t, testutil.ToFloat64(webhook.Decisions().WithLabelValues("delete-for-move", "allowed", webhook.ReasonSafe))-deleteAllowedBefore, 0.0,
		"clusterctl's delete-for-move writes went through the delete gate")
}

// gatedByDeleteForMove: the fixture objects the delete-for-move webhook
// sees (every metal3.io and ipam.metal3.io kind, the Metal3* kinds of the
// infrastructure group).
func gatedByDeleteForMove(refs []fixture.Ref) int {
	n := 0
	for _, r := range refs {
		switch g := r.GVK().Group; {
		case g == "metal3.io" || g == "ipam.metal3.io":
			n++
		case g == "infrastructure.cluster.x-k8s.io" && strings.HasPrefix(r.Kind, "Metal3"):
			n++
		}
	}
	return n
}

// A whole clusterctl Move (library) with the webhook serving: the pause is
// confirmed live once, and every one of clusterctl's delete-for-move
// writes after it (the annotation and the DELETE of each Metal3 object) is
// answered from the cache, with no further live read.
func TestClusterctlMoveConfirmsLiveOnce(t *testing.T) {
	p := envPair(t)
	ctx := context.Background()
	b := p.Bootstrap
	const ns = "move-once"
	res, err := fixture.Build(ctx, b.Client, fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 9, SpareHosts: 2})
	require.NoError(t, err)
	require.NoError(t, client.IgnoreNotFound(b.Client.Delete(ctx, &appsv1.Deployment{ObjectMeta: objMeta(fixture.BMONamespace, fixture.IronicName)})))

	live := &liveCounter{}
	wh := startWebhook(t, b, countLive(live))
	defer wh.stop(t)
	allowed := func(gate string) float64 {
		return testutil.ToFloat64(webhook.Decisions().WithLabelValues(gate, "allowed", webhook.ReasonSafe))
	}
	pauseBefore, deleteBefore := allowed("pause"), allowed("delete-for-move")

	t.Setenv("HOME", t.TempDir())
	start := time.Now()
	require.NoError(t, mover.Move(ctx, mover.Options{
		From: kube.Cluster{Kubeconfig: b.Kubeconfig, Context: b.Context}, To: kube.Cluster{Kubeconfig: p.Target.Kubeconfig, Context: p.Target.Context},
		Namespace: ns, Log: logr.Discard(),
	}))
	t.Logf("moved %d objects in %s", len(res.Objects), time.Since(start).Round(time.Millisecond))

	var targetHosts, sourceHosts bmov1alpha1.BareMetalHostList
	require.NoError(t, p.Target.Client.List(ctx, &targetHosts, client.InNamespace(ns)))
	require.Len(t, targetHosts.Items, len(res.Hosts))
	require.NoError(t, b.Client.List(ctx, &sourceHosts, client.InNamespace(ns)))
	require.Empty(t, sourceHosts.Items)

	require.Equal(t, 1.0, allowed("pause")-pauseBefore, "one Cluster paused")
	gated := gatedByDeleteForMove(res.Objects)
	require.Greater(t, gated, 30)
	require.GreaterOrEqual(t, allowed("delete-for-move")-deleteBefore, float64(2*gated), "annotation and DELETE of every Metal3 object went through the gate")
	require.Equal(t, int64(1), live.confirmations.Load(), "only the pause was confirmed live")
}

package webhook_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/pivotcheck/pivotcheck/internal/scheme"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/webhook"
)

// captured collects log lines.
type captured struct {
	mu    sync.Mutex
	lines []string
}

func (c *captured) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.lines = append(c.lines, prefix+" "+args)
	}, funcr.Options{Verbosity: 1})
}

func (c *captured) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

// impersonating returns a client of the admin's credentials acting as user
// (the API server checks RBAC for user and passes it to the webhook).
func impersonating(t testing.TB, c *testenv.Cluster, user string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(c.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	cl, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	require.NoError(t, err)
	return cl
}

// The bypass annotation through a real kube-apiserver with RBAC
// authorization: two users who may both patch Clusters add the annotation
// and pause in one request while a host is provisioning; only the one bound
// to config/rbac's pivotcheck-unsafe-move-bypass in the namespace gets
// through. The webhook runs with config/rbac's ClusterRole only, so this
// also proves that role may create the SubjectAccessReviews. Every attempt
// is logged with user and reason and counted by outcome.
func TestBypassNeedsPermissionThroughAPIServer(t *testing.T) {
	p := envPair(t)
	ctx := context.Background()
	b := p.Bootstrap
	const ns, other = "bypass-rbac", "bypass-rbac-other"
	for _, n := range []string{ns, other} {
		_, err := fixture.Build(ctx, b.Client, fixture.Options{Namespace: n, ControlPlane: 1,
			Faults: fixture.Faults{HostState: map[int]bmov1alpha1.ProvisioningState{0: bmov1alpha1.StateProvisioning}}})
		require.NoError(t, err)
	}
	applyRBACFiles(t, b.Client, "../config/rbac/bypass_role.yaml")
	// Both users may patch Clusters everywhere; only bob may bypass, and
	// only in ns.
	require.NoError(t, b.Client.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "bypass-test-cluster-editor"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"cluster.x-k8s.io"}, Resources: []string{"clusters"}, Verbs: []string{"get", "patch", "update"}}}}))
	require.NoError(t, b.Client.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bypass-test-cluster-editor"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "bypass-test-cluster-editor"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}, {Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bob"}}}))
	require.NoError(t, b.Client.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bob-may-bypass"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: webhook.BypassClusterRole},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bob"}}}))

	logs := &captured{}
	wh := startWebhook(t, b, func(h *webhook.Handler) { h.Log = logs.logger() })
	defer wh.stop(t)

	const reason = "host 0 reinstalled by hand, moving anyway"
	bypassAndPause := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"pivotcheck.dev/allow-unsafe-move":"`+reason+`"}},"spec":{"paused":true}}`))
	count := func(verdict, r string) float64 {
		return testutil.ToFloat64(webhook.Decisions().WithLabelValues("pause", verdict, r))
	}
	forbiddenBefore, allowedBefore := count("denied", webhook.ReasonBypassForbidden), count("allowed", webhook.ReasonBypass)

	t.Log("alice may patch the Cluster but not bypass: refused, naming the permission; nothing changes")
	alice := impersonating(t, b, "alice")
	err := alice.Patch(ctx, clusterObj(ns, "test1"), bypassAndPause)
	denied(t, err, `admission webhook "pause.pivotcheck.dev" denied the request`, "alice may not bypass pivotcheck",
		"verb bypass on resource unsafemoves in API group pivotcheck.dev in namespace "+ns,
		"--clusterrole "+webhook.BypassClusterRole+" --user alice")
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	require.False(t, isPaused(ctx, t, b.Client, ns, "test1"))
	cl := clusterObj(ns, "test1")
	require.NoError(t, b.Client.Get(ctx, client.ObjectKeyFromObject(cl), cl))
	require.NotContains(t, cl.GetAnnotations(), webhook.BypassAnnotation, "the refused request changed nothing")

	t.Log("bob, bound to the bypass ClusterRole in the namespace: the same request goes through")
	bob := impersonating(t, b, "bob")
	require.NoError(t, bob.Patch(ctx, clusterObj(ns, "test1"), bypassAndPause))
	require.True(t, isPaused(ctx, t, b.Client, ns, "test1"))

	t.Log("bob in a namespace where he may not bypass: refused")
	denied(t, bob.Patch(ctx, clusterObj(other, "test1"), bypassAndPause), "bob may not bypass pivotcheck", "in namespace "+other)
	require.False(t, isPaused(ctx, t, b.Client, other, "test1"))

	t.Log("an annotation left on the Cluster does not help alice later either")
	require.NoError(t, b.Client.Patch(ctx, clusterObj(other, "test1"), client.RawPatch(types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"pivotcheck.dev/allow-unsafe-move":"left over"}}}`))))
	denied(t, pause(ctx, alice, other, "test1", false), "alice may not bypass pivotcheck")

	t.Log("the namespace label never reaches the webhook, but its namespace watch logs and counts it")
	labelledBefore := testutil.ToFloat64(webhook.BypassedNamespaces())
	nsLabel(ctx, t, b.Client, other, ptrTo("accepted-risk"))
	require.Eventually(t, func() bool { return testutil.ToFloat64(webhook.BypassedNamespaces()) == labelledBefore+1 }, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return strings.Contains(logs.text(), `"namespace"="`+other+`"`) }, 10*time.Second, 20*time.Millisecond)
	require.Contains(t, logs.text(), `"reason"="accepted-risk"`)
	nsLabel(ctx, t, b.Client, other, nil)
	require.Eventually(t, func() bool { return testutil.ToFloat64(webhook.BypassedNamespaces()) == labelledBefore }, 10*time.Second, 20*time.Millisecond)

	require.Equal(t, forbiddenBefore+3, count("denied", webhook.ReasonBypassForbidden))
	require.Equal(t, allowedBefore+1, count("allowed", webhook.ReasonBypass))
	log := logs.text()
	require.Contains(t, log, `"user"="alice"`)
	require.Contains(t, log, `"user"="bob"`)
	require.Contains(t, log, `"reason"="`+reason+`"`)
	require.Contains(t, log, `"outcome"="`+webhook.ReasonBypassForbidden+`"`)
	require.Contains(t, log, `"outcome"="`+webhook.ReasonBypass+`"`)
}

// The webhook started against a cluster without BMO's CRDs does not exit:
// it gets ready and refuses a pause with one sentence naming the missing
// CRD; once the CRD is installed it never allows a pause it cannot judge,
// and it watches the hosts: a provisioning host refuses the pause.
func TestWebhookStartsWithoutBMHCRD(t *testing.T) {
	if testing.Short() {
		t.Skip("needs envtest; skipped with -short")
	}
	ctx := context.Background()
	var bmhCRD *apiextensionsv1.CustomResourceDefinition
	c, err := testenv.Start(ctx, testenv.Options{Name: "no-bmo", LabelCRD: testenv.LabelLikeClusterctl, WebhookPaths: []string{manifestsPath},
		SkipCRD: func(crd *apiextensionsv1.CustomResourceDefinition) bool {
			if crd.Spec.Group == bmov1alpha1.GroupVersion.Group && crd.Spec.Names.Kind == "BareMetalHost" {
				bmhCRD = crd.DeepCopy()
			}
			return crd.Spec.Group == bmov1alpha1.GroupVersion.Group
		}})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Stop()) }()
	require.NotNil(t, bmhCRD)

	wio := c.Env.WebhookInstallOptions
	probes := freeAddr(t)
	logs := &captured{}
	mgr, h, err := webhook.NewManager(c.Config, webhook.Options{
		Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir,
		HealthProbeBindAddress: probes, BMHPollInterval: 200 * time.Millisecond, Log: logs.logger(),
	})
	require.NoError(t, err, "no BareMetalHost CRD is no reason to fail")
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(runCtx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	waitServing(t, wio.LocalServingHost, wio.LocalServingPort)
	require.Eventually(t, h.Synced, 30*time.Second, 20*time.Millisecond, "cache sync")
	require.Eventually(t, func() bool { code, _ := httpGet("http://" + probes + "/readyz"); return code == http.StatusOK }, 10*time.Second, 50*time.Millisecond, "ready")
	select {
	case err := <-done:
		t.Fatalf("the webhook exited without the BareMetalHost CRD: %v", err)
	default:
	}

	const ns = "no-bmo"
	ensureNamespace(t, c.Client, ns, nil)
	for _, name := range []string{"c1", "c2"} {
		cl := clusterObj(ns, name)
		cl.Object["spec"] = map[string]any{"controlPlaneRef": map[string]any{"apiGroup": "controlplane.cluster.x-k8s.io", "kind": "KubeadmControlPlane", "name": name}}
		require.NoError(t, c.Client.Create(ctx, cl))
	}
	wc, _ := clientWithWarnings(t, c)
	err = pause(ctx, wc, ns, "c1", false)
	require.Error(t, err, "without the BareMetalHost CRD the webhook cannot judge hosts: it fails closed")
	require.Contains(t, err.Error(), "this cluster serves no BareMetalHost CRD (BMO's CRDs are not installed), so it cannot tell whether a host is mid-operation")
	require.False(t, isPaused(ctx, t, c.Client, ns, "c1"))

	t.Log("BMO's CRD appears, with a provisioning host")
	_, err = envtest.InstallCRDs(c.Config, envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{bmhCRD}, MaxTime: time.Minute})
	require.NoError(t, err)
	host := &bmov1alpha1.BareMetalHost{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "h0"}, Spec: bmov1alpha1.BareMetalHostSpec{Online: true}}
	require.NoError(t, c.Client.Create(ctx, host))
	host.Status.Provisioning.State = bmov1alpha1.StateProvisioning
	host.Status.OperationalStatus = bmov1alpha1.OperationalStatusOK
	require.NoError(t, c.Client.Status().Update(ctx, host))

	var sawNotWatched bool
	require.Eventually(t, func() bool {
		err := pause(ctx, wc, ns, "c2", true)
		require.Error(t, err, "a pause is never allowed once BareMetalHosts exist, watched or not")
		if strings.Contains(err.Error(), "not watching BareMetalHosts yet") {
			require.Contains(t, err.Error(), "so it cannot tell whether a host is mid-operation")
			sawNotWatched = true
			return false
		}
		return strings.Contains(err.Error(), "h0 is provisioning")
	}, 30*time.Second, 50*time.Millisecond, "the host is watched and judged")
	t.Logf("refused as not watched yet before the watch started: %v", sawNotWatched)
	require.Contains(t, logs.text(), "watching BareMetalHosts")
	require.False(t, isPaused(ctx, t, c.Client, ns, "c2"))
}

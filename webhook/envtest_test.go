package webhook_test

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/pivotcheck/pivotcheck/internal/scheme"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
	"github.com/pivotcheck/pivotcheck/webhook"
)

// One bootstrap (webhook installed from config/webhook/manifests.yaml) and
// one target cluster per Cluster API release, started on first use and
// shared by the package's integration tests so the unit tests stay fast.
var (
	pairsMu sync.Mutex
	pairs   = map[upstream.Module]*pairResult{}
)

type pairResult struct {
	pair *testenv.Pair
	err  error
	rbac sync.Once
}

func TestMain(m *testing.M) {
	flag.Parse()
	ctrl.SetLogger(logr.Discard())
	code := m.Run()
	for _, r := range pairs {
		if r.pair != nil {
			if err := r.pair.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}
	}
	os.Exit(code)
}

// envPair is the pair with the linked Cluster API release's CRDs.
func envPair(t testing.TB) *testenv.Pair { return envPairFor(t, upstream.ClusterAPI) }

// envPairFor is the pair whose CRDs are those of the Cluster API release capi.
func envPairFor(t testing.TB, capi upstream.Module) *testenv.Pair {
	t.Helper()
	if testing.Short() {
		t.Skip("needs envtest; skipped with -short")
	}
	pairsMu.Lock()
	defer pairsMu.Unlock()
	r, ok := pairs[capi]
	if !ok {
		r = &pairResult{}
		pairs[capi] = r
		start := time.Now()
		r.pair, r.err = testenv.StartPair(context.Background(),
			testenv.Options{LabelCRD: testenv.LabelLikeClusterctl, WebhookPaths: []string{manifestsPath}, ClusterAPI: capi},
			testenv.Options{LabelCRD: testenv.LabelLikeClusterctl, ClusterAPI: capi})
		if r.err == nil {
			fmt.Fprintf(os.Stderr, "envtest pair (Cluster API %s CRDs) started in %s\n", capi.Version, time.Since(start).Round(time.Millisecond))
		}
	}
	require.NoError(t, r.err)
	return r.pair
}

// rbacOnce is the Once guarding the webhook's RBAC in the pair holding c.
func rbacOnce(t testing.TB, c *testenv.Cluster) *sync.Once {
	t.Helper()
	pairsMu.Lock()
	defer pairsMu.Unlock()
	for _, r := range pairs {
		if r.pair != nil && (r.pair.Bootstrap == c || r.pair.Target == c) {
			return &r.rbac
		}
	}
	t.Fatalf("cluster %s is not one of the package's pairs", c.Name)
	return nil
}

// webhookConfig returns credentials of the webhook's ServiceAccount bound
// to config/rbac's ClusterRole only, so every integration test also proves
// the least-privilege RBAC is enough.
func webhookConfig(t testing.TB, c *testenv.Cluster) *rest.Config {
	t.Helper()
	ctx := context.Background()
	const user = "system:serviceaccount:pivotcheck-system:pivotcheck-webhook"
	var err error
	rbacOnce(t, c).Do(func() {
		data, rerr := os.ReadFile("../config/rbac/rbac.yaml")
		if rerr != nil {
			err = rerr
			return
		}
		for _, u := range splitDocs(t, data) {
			switch u.GetKind() {
			case "ClusterRole":
				err = errors.Join(err, c.Client.Create(ctx, convert[rbacv1.ClusterRole](t, u)))
			case "ClusterRoleBinding":
				err = errors.Join(err, c.Client.Create(ctx, convert[rbacv1.ClusterRoleBinding](t, u)))
			}
		}
	})
	require.NoError(t, err)
	u, err := c.Env.AddUser(envtest.User{Name: user}, nil)
	require.NoError(t, err)
	return u.Config()
}

type running struct {
	h      *webhook.Handler
	cancel context.CancelFunc
	done   chan error
}

func (r *running) stop(t testing.TB) {
	r.cancel()
	select {
	case err := <-r.done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("webhook manager did not stop")
	}
}

// startWebhook runs the real manager (NewManager, as `pivotcheck webhook`
// does) on envtest's serving host, port and certificate. configure sees
// the handler before it serves (e.g. to count its live reads).
func startWebhook(t testing.TB, c *testenv.Cluster, configure ...func(*webhook.Handler)) *running {
	t.Helper()
	wio := c.Env.WebhookInstallOptions
	log := logr.Discard()
	if testing.Verbose() {
		log = funcr.New(func(prefix, args string) { t.Log(prefix, args) }, funcr.Options{})
	}
	mgr, h, err := webhook.NewManager(webhookConfig(t, c), webhook.Options{
		Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir, Log: log,
	})
	require.NoError(t, err)
	for _, f := range configure {
		f(h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{h: h, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- mgr.Start(ctx) }()
	waitServing(t, wio.LocalServingHost, wio.LocalServingPort)
	require.Eventually(t, h.Synced, 30*time.Second, 20*time.Millisecond, "cache sync")
	return r
}

func waitServing(t testing.TB, host string, port int) {
	t.Helper()
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	require.Eventually(t, func() bool {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // readiness probe only
		if err != nil {
			return false
		}
		_ = conn.Close()
		return true
	}, 30*time.Second, 20*time.Millisecond, "webhook server at %s", addr)
}

// warnings collects API warnings (admission warnings reach the client this way).
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

func clientWithWarnings(t testing.TB, c *testenv.Cluster) (client.Client, *warnings) {
	w := &warnings{}
	cfg := rest.CopyConfig(c.Config)
	cfg.WarningHandler = w
	cl, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	require.NoError(t, err)
	return cl, w
}

func clusterObj(ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("cluster.x-k8s.io/v1beta2")
	u.SetKind("Cluster")
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func pause(ctx context.Context, c client.Client, ns, name string, dryRun bool) error {
	opts := []client.PatchOption{}
	if dryRun {
		opts = append(opts, client.DryRunAll)
	}
	return c.Patch(ctx, clusterObj(ns, name), client.RawPatch(types.MergePatchType, []byte(`{"spec":{"paused":true}}`)), opts...)
}

func markDeleteForMove(ctx context.Context, c client.Client, obj *unstructured.Unstructured, dryRun bool) error {
	opts := []client.PatchOption{}
	if dryRun {
		opts = append(opts, client.DryRunAll)
	}
	return c.Patch(ctx, obj, client.RawPatch(types.JSONPatchType, []byte(`[{"op": "add", "path":"/metadata/annotations", "value":{"clusterctl.cluster.x-k8s.io/delete-for-move":""}}]`)), opts...)
}

func setHostState(ctx context.Context, t testing.TB, c client.Client, ns, name string, state bmov1alpha1.ProvisioningState) {
	t.Helper()
	h := &bmov1alpha1.BareMetalHost{}
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, h))
	h.Status.Provisioning.State = state
	require.NoError(t, c.Status().Update(ctx, h))
}

func isPaused(ctx context.Context, t testing.TB, c client.Client, ns, name string) bool {
	u := clusterObj(ns, name)
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(u), u))
	p, _, _ := unstructured.NestedBool(u.Object, "spec", "paused")
	return p
}

func uobj(apiVersion, kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// eventually retries f until it returns nil: the cache and the live read
// see a cleared condition a few milliseconds after the write.
func eventually(t testing.TB, what string, f func() error) {
	t.Helper()
	// EventuallyWithT reports the last round's error when it gives up.
	require.EventuallyWithT(t, func(c *assert.CollectT) { assert.NoError(c, f(), what) }, 10*time.Second, 50*time.Millisecond, what)
}

func denied(t testing.TB, err error, contains ...string) {
	t.Helper()
	require.Error(t, err)
	for _, s := range contains {
		require.Contains(t, err.Error(), s)
	}
}

// stripDryRun is for messages: dry-run and real writes give the same text.
func sameVerdict(t testing.TB, a, b error) {
	t.Helper()
	require.Error(t, a)
	require.Error(t, b)
	require.Equal(t, a.Error(), b.Error())
}

func newNotSyncedServer(t testing.TB, c *testenv.Cluster) (stop func()) {
	wio := c.Env.WebhookInstallOptions
	srv := crwebhook.NewServer(crwebhook.Options{
		Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir,
		TLSOpts: webhook.TLSOptions(0, false),
	})
	h := &webhook.Handler{Synced: func() bool { return false }, Log: logr.Discard()}
	srv.Register(webhook.PausePath, &admission.Webhook{Handler: h})
	srv.Register(webhook.DeleteForMovePath, &admission.Webhook{Handler: h})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	waitServing(t, wio.LocalServingHost, wio.LocalServingPort)
	return func() { cancel(); <-done } //nolint:errcheck // the server's exit after cancel is not under test
}

func nsLabel(ctx context.Context, t testing.TB, c client.Client, ns string, value *string) {
	t.Helper()
	n := &corev1.Namespace{}
	require.NoError(t, c.Get(ctx, client.ObjectKey{Name: ns}, n))
	patch := client.MergeFrom(n.DeepCopy())
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	if value == nil {
		delete(n.Labels, webhook.BypassNamespaceLabel)
	} else {
		n.Labels[webhook.BypassNamespaceLabel] = *value
	}
	require.NoError(t, c.Patch(ctx, n, patch))
}

func ptrTo[T any](v T) *T { return &v }

// liveCounter counts the handler's live confirmations: each lists the
// namespace's BareMetalHost metadata once (and the cluster's Deployment and
// DaemonSet metadata, which are not counted).
type liveCounter struct {
	client.Reader
	confirmations atomic.Int64
}

func (l *liveCounter) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if m, ok := list.(*metav1.PartialObjectMetadataList); ok && m.GetObjectKind().GroupVersionKind().Kind == "BareMetalHostList" {
		l.confirmations.Add(1)
	}
	return l.Reader.List(ctx, list, opts...)
}

// countLive makes h's live reads go through a liveCounter.
func countLive(l *liveCounter) func(*webhook.Handler) {
	return func(h *webhook.Handler) {
		l.Reader = h.Live
		h.Live = l
	}
}

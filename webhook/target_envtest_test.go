package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/loadavg"
	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/webhook"
)

const targetManifestsPath = "../config/target/manifests.yaml"

// guardCalls records every decision the target guard made, so a test can
// tell a request the API server filtered out (bypass) from one the guard
// allowed.
type guardCalls struct {
	mu     sync.Mutex
	counts map[string]int // "allowed reason" / "denied reason"
}

func (g *guardCalls) record(_ webhook.Gate, allowed bool, reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	v := "denied"
	if allowed {
		v = "allowed"
	}
	g.counts[v+" "+reason]++
}

func (g *guardCalls) get(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.counts[key]
}

func (g *guardCalls) snapshot() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	maps.Copy(out, g.counts)
	return out
}

// since returns the counts added after snap (only the keys that grew).
func (g *guardCalls) since(snap map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range g.snapshot() {
		if d := v - snap[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func (g *guardCalls) total() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, v := range g.counts {
		n += v
	}
	return n
}

// guardPair starts a source and a target API server, the target with the
// ValidatingWebhookConfiguration of config/target/manifests.yaml, and the
// real target-guard manager (NewTargetManager, as `pivotcheck webhook
// --mode target` builds it) serving it, as a user bound to no role at all.
func guardPair(t testing.TB) (*testenv.Pair, *running, *guardCalls) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs envtest; skipped with -short")
	}
	t.Setenv("HOME", t.TempDir()) // clusterctl writes its config folder there
	// CAPM3 1.14's Metal3DataTemplate CRD on both sides, so both the 1.13
	// and the 1.14 fixture move in full.
	label := func(c *apiextensionsv1.CustomResourceDefinition) {
		testenv.LabelLikeClusterctl(c)
		testenv.LikeCAPM3v114(c)
	}
	p, err := testenv.StartPair(context.Background(),
		testenv.Options{Name: "guard-source", LabelCRD: label},
		testenv.Options{Name: "guard-target", LabelCRD: label, WebhookPaths: []string{targetManifestsPath}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Stop()) })
	calls := &guardCalls{counts: map[string]int{}}
	return p, startTargetGuard(t, p.Target, calls), calls
}

func startTargetGuard(t testing.TB, c *testenv.Cluster, calls *guardCalls) *running {
	t.Helper()
	wio := c.Env.WebhookInstallOptions
	// The guard's own RBAC from its bundle (bypass reviews, bypass role).
	applyRBACFiles(t, c.Client, "../config/target/rbac.yaml")
	u, err := c.Env.AddUser(envtest.User{Name: "system:serviceaccount:pivotcheck-target-system:pivotcheck-target-guard"}, nil)
	require.NoError(t, err)
	log := logr.Discard()
	if testing.Verbose() {
		log = funcr.New(func(prefix, args string) { t.Log(prefix, args) }, funcr.Options{})
	}
	mgr, h, err := webhook.NewTargetManager(u.Config(), webhook.Options{
		Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir, Log: log,
	})
	require.NoError(t, err)
	h.Record = calls.record
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- mgr.Start(ctx) }()
	waitServing(t, wio.LocalServingHost, wio.LocalServingPort)
	return r
}

func ensureNamespace(t testing.TB, c client.Client, name string, labels map[string]string) {
	t.Helper()
	err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
}

// TestTargetGuard runs the target guard behind a real kube-apiserver: its
// verdicts as clients see them, the real clusterctl v1.14.2 Move retrying a
// refused host until the source host is annotated, the same move without
// the guard for comparison, and fail-closed once the guard is down.
func TestTargetGuard(t *testing.T) {
	p, guard, calls := guardPair(t)
	ctx := context.Background()
	tc, warns := clientWithWarnings(t, p.Target)

	t.Run("verdicts through the API server", func(t *testing.T) {
		const ns = "guard"
		ensureNamespace(t, tc, ns, nil)
		mk := func(name string, consumed, annotated bool, mut ...func(*bmov1alpha1.BareMetalHost)) *bmov1alpha1.BareMetalHost {
			h := copiedHost(t, 0, consumed, annotated)
			h.Name, h.Namespace, h.ResourceVersion = name, ns, ""
			for _, m := range mut {
				m(h)
			}
			return h
		}
		before, snap := calls.total(), calls.snapshot()

		// A consumed host without its status: refused, dry run alike.
		h := mk("consumed-missing", true, false)
		errDry := tc.Create(ctx, h.DeepCopy(), client.DryRunAll)
		err := tc.Create(ctx, h.DeepCopy())
		denied(t, err, `admission webhook "target-host.pivotcheck.dev" denied the request`,
			"pivotcheck refuses to create BareMetalHost guard/consumed-missing", "consumed by Metal3Machine test1-cp-0",
			"carries no baremetalhost.metal3.io/status annotation", "clusterctl retries this create")
		sameVerdict(t, errDry, err)
		require.True(t, apierrors.IsForbidden(err), "a denial is 403: %v", err)

		// Externally provisioned, no status: refused.
		err = tc.Create(ctx, mk("extprov-missing", false, false, func(h *bmov1alpha1.BareMetalHost) { h.Spec.ExternallyProvisioned = true }))
		denied(t, err, "BareMetalHost guard/extprov-missing", "externally provisioned")

		// A status BMO could not restore: refused, naming why.
		err = tc.Create(ctx, mk("consumed-invalid", true, true, func(h *bmov1alpha1.BareMetalHost) {
			h.Annotations[bmov1alpha1.StatusAnnotation] = `{"notAField":1}`
		}))
		denied(t, err, "BareMetalHost guard/consumed-invalid", "cannot restore", "notAField")

		// With its status: created, no warning of ours (the API server adds
		// its own about BMO's finalizer name).
		warns.take()
		require.NoError(t, tc.Create(ctx, mk("consumed-annotated", true, true)))
		require.Empty(t, ours(warns.take()))

		// A spare host without status: created, with a warning.
		require.NoError(t, tc.Create(ctx, mk("spare-missing", false, false)))
		w := ours(warns.take())
		require.Len(t, w, 1)
		require.Contains(t, w[0], "BareMetalHost guard/spare-missing has no baremetalhost.metal3.io/status annotation")

		require.Equal(t, 6, calls.total()-before, "the dry run and 5 creates reached the guard")
		require.Equal(t, map[string]int{
			"denied " + webhook.ReasonStatusMissing: 3, "denied " + webhook.ReasonStatusInvalid: 1,
			"allowed " + webhook.ReasonStatusCarried: 1, "allowed " + webhook.ReasonReinspect: 1,
		}, calls.since(snap))

		// The bypass annotation is judged by the guard: the admin holds the
		// bypass permission (cluster-admin), so the host is created, and
		// the attempt is counted.
		snap = calls.snapshot()
		require.NoError(t, tc.Create(ctx, mk("bypassed", true, false, func(h *bmov1alpha1.BareMetalHost) {
			h.Annotations[webhook.BypassAnnotation] = "host 7 reinstalled anyway"
		})))
		require.Equal(t, map[string]int{"allowed " + webhook.ReasonBypass: 1}, calls.since(snap))

		// A user who may create hosts but not bypass: refused, naming the
		// permission; bound to config/target's bypass role: created.
		require.NoError(t, p.Target.Client.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "guard-test-host-creator"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"metal3.io"}, Resources: []string{"baremetalhosts"}, Verbs: []string{"create"}}}}))
		require.NoError(t, p.Target.Client.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "guard-test-host-creator"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "guard-test-host-creator"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mover"}}}))
		mover := impersonating(t, p.Target, "mover")
		snap = calls.snapshot()
		err = mover.Create(ctx, mk("bypassed-unpermitted", true, false, func(h *bmov1alpha1.BareMetalHost) {
			h.Annotations[webhook.BypassAnnotation] = "host 8 reinstalled anyway"
		}))
		denied(t, err, "pivotcheck refuses to create BareMetalHost guard/bypassed-unpermitted in this cluster", "mover may not bypass pivotcheck",
			"verb bypass on resource unsafemoves in API group pivotcheck.dev in namespace guard", "--clusterrole "+webhook.TargetBypassClusterRole)
		require.True(t, apierrors.IsForbidden(err), "%v", err)
		require.NoError(t, p.Target.Client.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mover-may-bypass"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: webhook.TargetBypassClusterRole},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mover"}}}))
		eventually(t, "bypass allowed once bound", func() error {
			return mover.Create(ctx, mk("bypassed-unpermitted", true, false, func(h *bmov1alpha1.BareMetalHost) {
				h.Annotations[webhook.BypassAnnotation] = "host 8 reinstalled anyway"
			}))
		})
		require.Equal(t, 1, calls.since(snap)["denied "+webhook.ReasonBypassForbidden])
		require.GreaterOrEqual(t, calls.since(snap)["allowed "+webhook.ReasonBypass], 1)
		before = calls.total()

		// Updates are not gated: removing the status annotation later is BMO's own business.
		got := &bmov1alpha1.BareMetalHost{}
		require.NoError(t, tc.Get(ctx, client.ObjectKey{Namespace: ns, Name: "consumed-annotated"}, got))
		require.NoError(t, tc.Patch(ctx, got, client.RawPatch(types.MergePatchType,
			[]byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, bmov1alpha1.StatusAnnotation)))))
		require.Equal(t, before, calls.total())

		// A namespace labelled with the bypass is out of the guard's scope.
		ensureNamespace(t, tc, "guard-off", map[string]string{webhook.BypassNamespaceLabel: "restoring-old-backup"})
		off := mk("consumed-missing", true, false)
		off.Namespace = "guard-off"
		require.NoError(t, tc.Create(ctx, off))
		require.Equal(t, before, calls.total())
	})

	t.Run("clusterctl move retries until the source host is annotated", func(t *testing.T) {
		const ns = "race"
		res, err := fixture.Build(ctx, p.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 1, SpareHosts: 1,
			Faults: fixture.Faults{StatusAnnotation: []int{0}}})
		require.NoError(t, err)
		late := res.Hosts[1] // consumed, not annotated yet: CAPM3 (≤ 1.13) is late
		deniedBefore := calls.get("denied " + webhook.ReasonStatusMissing)
		warnedBefore := calls.get("allowed " + webhook.ReasonReinspect)

		// The test writer does what a late CAPM3 does: once the guard has
		// refused the host twice, it pauses the source host and writes its
		// status annotation in one patch.
		var written string
		writerErr := make(chan error, 1)
		go func() {
			deadline := time.Now().Add(2 * time.Minute)
			for calls.get("denied "+webhook.ReasonStatusMissing)-deniedBefore < 2 {
				if time.Now().After(deadline) {
					writerErr <- errors.New("the guard never refused the late host twice")
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			h := &bmov1alpha1.BareMetalHost{}
			if err := p.Bootstrap.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: late}, h); err != nil {
				writerErr <- err
				return
			}
			raw, err := fixture.StatusAnnotationJSON(h.Status)
			if err != nil {
				writerErr <- err
				return
			}
			written = raw
			patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
				bmov1alpha1.PausedAnnotation: fixture.CAPM3PauseVal, bmov1alpha1.StatusAnnotation: raw}}})
			writerErr <- p.Bootstrap.Client.Patch(ctx, h, client.RawPatch(types.MergePatchType, patch))
		}()

		start := time.Now()
		err = mover.Move(ctx, mover.Options{From: kubeTarget(p.Bootstrap), To: kubeTarget(p.Target), Namespace: ns, Log: logr.Discard()})
		t.Logf("move took %s; the guard refused the late host %d time(s)", time.Since(start).Round(time.Millisecond),
			calls.get("denied "+webhook.ReasonStatusMissing)-deniedBefore)
		require.NoError(t, <-writerErr)
		require.NoError(t, err, "the move completes once the source host carries its status")
		require.GreaterOrEqual(t, calls.get("denied "+webhook.ReasonStatusMissing)-deniedBefore, 2, "the create was refused, then retried")
		require.GreaterOrEqual(t, calls.get("allowed "+webhook.ReasonReinspect)-warnedBefore, 1, "the spare host was allowed with a warning")

		// Every host arrived; the late one with exactly what the writer put
		// on the source, so clusterctl read the source again when it retried.
		var hosts bmov1alpha1.BareMetalHostList
		require.NoError(t, p.Target.Client.List(ctx, &hosts, client.InNamespace(ns)))
		require.Len(t, hosts.Items, len(res.Hosts))
		by := map[string]bmov1alpha1.BareMetalHost{}
		for _, h := range hosts.Items {
			by[h.Name] = h
		}
		require.Equal(t, written, by[late].Annotations[bmov1alpha1.StatusAnnotation])
		require.Contains(t, by[res.Hosts[0]].Annotations, bmov1alpha1.StatusAnnotation)
		require.NotContains(t, by[res.Hosts[2]].Annotations, bmov1alpha1.StatusAnnotation, "the spare host came without status")
		var left bmov1alpha1.BareMetalHostList
		require.NoError(t, p.Bootstrap.Client.List(ctx, &left, client.InNamespace(ns)))
		require.Empty(t, left.Items)
	})

	t.Run("without the guard the late host arrives without its status", func(t *testing.T) {
		// Same fixture and move; the target namespace carries the bypass
		// label, so the API server never calls the guard.
		const ns = "race-unguarded"
		ensureNamespace(t, p.Target.Client, ns, map[string]string{webhook.BypassNamespaceLabel: "control-run"})
		res, err := fixture.Build(ctx, p.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 1,
			Faults: fixture.Faults{StatusAnnotation: []int{0}}})
		require.NoError(t, err)
		before := calls.total()
		require.NoError(t, mover.Move(ctx, mover.Options{From: kubeTarget(p.Bootstrap), To: kubeTarget(p.Target), Namespace: ns, Log: logr.Discard()}))
		require.Equal(t, before, calls.total())
		h := &bmov1alpha1.BareMetalHost{}
		require.NoError(t, p.Target.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: res.Hosts[1]}, h))
		require.True(t, h.Spec.ConsumerRef != nil)
		require.NotContains(t, h.Annotations, bmov1alpha1.StatusAnnotation,
			"the consumed host arrived without status: the target's BMO would register it from scratch")
	})

	t.Run("CAPM3 1.14 closes the race: nothing to refuse", func(t *testing.T) {
		// CAPM3 1.14 blocks the move until it has paused and annotated each
		// consumed host, so clusterctl copies no host without its status.
		const ns = "race-114"
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		res, err := fixture.Build(ctx, p.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 2, Workers: 1, CAPM3v114: true})
		require.NoError(t, err)
		fixture.RunCAPM3v114(rctx, p.Bootstrap.Client, ns, 100*time.Millisecond, func(err error) { t.Logf("CAPM3 1.14 stand-in: %v", err) })
		snap := calls.snapshot()
		require.NoError(t, mover.Move(ctx, mover.Options{From: kubeTarget(p.Bootstrap), To: kubeTarget(p.Target), Namespace: ns, Log: logr.Discard()}))
		require.Equal(t, map[string]int{"allowed " + webhook.ReasonStatusCarried: 3}, calls.since(snap), "every host judged once, none refused")
		var hosts bmov1alpha1.BareMetalHostList
		require.NoError(t, p.Target.Client.List(ctx, &hosts, client.InNamespace(ns)))
		require.Len(t, hosts.Items, len(res.Hosts))
		for _, h := range hosts.Items {
			require.Equal(t, fixture.CAPM3PauseVal, h.Annotations[bmov1alpha1.PausedAnnotation], h.Name)
			require.Contains(t, h.Annotations, bmov1alpha1.StatusAnnotation, h.Name)
			require.NotContains(t, h.Annotations, fixture.BlockMoveAnnotation, h.Name)
		}
	})

	t.Run("fails closed while the guard is down", func(t *testing.T) {
		guard.stop(t)
		const ns = "guard"
		h := copiedHost(t, 0, false, false)
		h.Name, h.Namespace = "while-down", ns
		err := tc.Create(ctx, h)
		require.Error(t, err, "failurePolicy Fail: no host is created unjudged")
		require.Contains(t, err.Error(), "target-host.pivotcheck.dev")
		h.Annotations[webhook.BypassAnnotation] = "guard down, checked by hand"
		require.Error(t, tc.Create(ctx, h.DeepCopy()), "the bypass annotation is judged by the guard, so it fails closed too")
		ensureNamespace(t, tc, "guard-down-off", map[string]string{webhook.BypassNamespaceLabel: "guard-down-checked-by-hand"})
		h.Namespace = "guard-down-off"
		require.NoError(t, tc.Create(ctx, h), "the namespace label works without the guard")
	})
}

// ours keeps the warnings pivotcheck wrote.
func ours(ws []string) []string {
	var out []string
	for _, w := range ws {
		if strings.HasPrefix(w, "pivotcheck:") {
			out = append(out, w)
		}
	}
	return out
}

func kubeTarget(c *testenv.Cluster) kube.Cluster {
	return kube.Cluster{Kubeconfig: c.Kubeconfig, Context: c.Context}
}

// BenchmarkMove100MachinesTargetGuard: what the target guard adds to a
// plain clusterctl move. Two identical 100-machine fixtures (every host
// carrying its status annotation, as CAPM3 leaves them) per iteration are
// moved with the real clusterctl v1.14.2 library into the same guarded
// target: A with the target namespace labelled with the bypass (the API
// server never calls the guard), B through the guard (one admission call
// per BareMetalHost); the order alternates from one iteration to the next
// (A B, B A, ...: pairOrder). Reports both times, the ratio and the load
// average.
func BenchmarkMove100MachinesTargetGuard(b *testing.B) {
	p, _, calls := guardPair(b)
	ctx := context.Background()
	move := func(ns string) time.Duration {
		t0 := time.Now()
		if err := mover.Move(ctx, mover.Options{From: kubeTarget(p.Bootstrap), To: kubeTarget(p.Target), Namespace: ns, Log: logr.Discard()}); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	// Warm-up: the first LIST of each CRD type in envtest takes about 1 s.
	warm := fmt.Sprintf("warm-%d", time.Now().UnixNano())
	if _, err := fixture.Build(ctx, p.Bootstrap.Client, fixture.Options{Namespace: warm, ControlPlane: 1, Workers: 1, Faults: fixture.Faults{StatusAnnotation: []int{0, 1}}}); err != nil {
		b.Fatal(err)
	}
	move(warm)
	all := make([]int, 100)
	for i := range all {
		all[i] = i
	}
	for i := range b.N {
		b.StopTimer()
		stamp := time.Now().UnixNano()
		offNS, onNS := fmt.Sprintf("guard-bench-%d-%d-off", stamp, i), fmt.Sprintf("guard-bench-%d-%d-on", stamp, i)
		objects := 0
		for _, ns := range []string{offNS, onNS} {
			res, err := fixture.Build(ctx, p.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 3, Workers: 97, Faults: fixture.Faults{StatusAnnotation: all}})
			if err != nil {
				b.Fatal(err)
			}
			objects = len(res.Objects)
		}
		ensureNamespace(b, p.Target.Client, offNS, map[string]string{webhook.BypassNamespaceLabel: "bench-without-guard"})
		done := loadavg.Sample(b)
		b.StartTimer()
		var without, with time.Duration
		for _, baseline := range pairOrder() {
			before := calls.total()
			if baseline {
				without = move(offNS)
				if called := calls.total() - before; called != 0 {
					b.Fatalf("the guard was called %d times for a namespace out of its scope", called)
				}
				b.Logf("move of %s without the guard: %s", offNS, without.Round(time.Millisecond))
				continue
			}
			with = move(onNS)
			if called := calls.total() - before; called != 100 {
				b.Fatalf("the guard judged %d hosts, want 100", called)
			}
			b.Logf("move of %s through the guard: %s (100 hosts judged)", onNS, with.Round(time.Millisecond))
		}
		b.StopTimer()
		done()
		b.ReportMetric(float64(objects), "objects")
		b.ReportMetric(without.Seconds(), "s-without-guard")
		b.ReportMetric(with.Seconds(), "s-with-guard")
		b.ReportMetric(with.Seconds()/without.Seconds(), "ratio")
		b.Logf("%d objects: without the guard %s, with %s, ratio %.3f", objects, without.Round(time.Millisecond), with.Round(time.Millisecond), with.Seconds()/without.Seconds())
		b.StartTimer()
	}
}

// BenchmarkGuardedHostCreate: what the guard adds to one BareMetalHost
// create, the only write of a move it sees. 500 + 500 dry-run creates of a
// copied, annotated host, interleaved: into a namespace the guard judges
// and into one labelled with the bypass (the API server skips the guard).
// Same API server, same object: the difference is the admission call.
func BenchmarkGuardedHostCreate(b *testing.B) {
	p, _, calls := guardPair(b)
	ctx := context.Background()
	ensureNamespace(b, p.Target.Client, "create-on", nil)
	ensureNamespace(b, p.Target.Client, "create-off", map[string]string{webhook.BypassNamespaceLabel: "bench"})
	host := func(ns string, i int) *bmov1alpha1.BareMetalHost {
		h := copiedHost(b, 0, true, true)
		h.Namespace, h.Name = ns, fmt.Sprintf("host-%d", i)
		return h
	}
	create := func(ns string, i int) time.Duration {
		t0 := time.Now()
		if err := p.Target.Client.Create(ctx, host(ns, i), client.DryRunAll); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	for i := range 100 { // warm up both paths
		create("create-on", i)
		create("create-off", i)
	}
	const samples = 500
	var on, off []time.Duration
	b.ResetTimer()
	for range b.N {
		on, off = on[:0], off[:0]
		before := calls.total()
		for i := range samples {
			if i%2 == 0 {
				on = append(on, create("create-on", i))
				off = append(off, create("create-off", i))
			} else {
				off = append(off, create("create-off", i))
				on = append(on, create("create-on", i))
			}
		}
		if got := calls.total() - before; got != samples {
			b.Fatalf("the guard judged %d creates, want %d", got, samples)
		}
	}
	b.StopTimer()
	mean := func(d []time.Duration) time.Duration {
		var s time.Duration
		for _, x := range d {
			s += x
		}
		return s / time.Duration(len(d))
	}
	mOn, mOff := mean(on), mean(off)
	slices.Sort(on)
	slices.Sort(off)
	b.ReportMetric(ms(mOn), "mean-ms-guard")
	b.ReportMetric(ms(mOff), "mean-ms-no-guard")
	b.ReportMetric(ms(mOn-mOff), "mean-overhead-ms")
	b.ReportMetric(ms(percentile(on, 0.99)), "p99-ms-guard")
	b.ReportMetric(ms(percentile(off, 0.99)), "p99-ms-no-guard")
	b.Logf("dry-run BareMetalHost create: with the guard mean %.2f ms p50 %.2f p99 %.2f; without mean %.2f ms p50 %.2f p99 %.2f",
		ms(mOn), ms(percentile(on, 0.5)), ms(percentile(on, 0.99)), ms(mOff), ms(percentile(off, 0.5)), ms(percentile(off, 0.99)))
}

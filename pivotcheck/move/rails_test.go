package move

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/movelock"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// aliasOf writes a second kubeconfig for c: another file, another context
// name, and localhost instead of 127.0.0.1 (envtest's serving certificate
// names both). It reaches the same API server.
func aliasOf(t testing.TB, c *testenv.Cluster) kube.Cluster {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(c.Kubeconfig)
	require.NoError(t, err)
	ctx := kc.Contexts[c.Context]
	cl := kc.Clusters[ctx.Cluster]
	require.Contains(t, cl.Server, "127.0.0.1")
	cl.Server = strings.Replace(cl.Server, "127.0.0.1", "localhost", 1)
	kc.Contexts["another-name"] = ctx
	delete(kc.Contexts, c.Context)
	kc.CurrentContext = "another-name"
	path := filepath.Join(t.TempDir(), "alias.kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*kc, path))
	return kube.Cluster{Kubeconfig: path}
}

// clusterState is what a refusal must leave as it was: every object of
// the namespace and every Deployment in both clusters (resourceVersions),
// and the namespace's Leases by holder and acquire time (a Lease the other
// run renews changes its resourceVersion every few seconds).
func clusterState(t testing.TB, ns string) map[string]string {
	t.Helper()
	out := resourceVersions(t, ns)
	for side, c := range map[string]*testenv.Cluster{"source": pair.Bootstrap, "target": pair.Target} {
		err := c.Client.Get(context.Background(), client.ObjectKey{Name: ns}, &corev1.Namespace{})
		out[side+" namespace exists"] = map[bool]string{true: "yes", false: "no"}[err == nil]
		leases := &coordinationv1.LeaseList{}
		require.NoError(t, c.Client.List(context.Background(), leases, client.InNamespace(ns)))
		for _, l := range leases.Items {
			out[side+" Lease "+l.Name] = ptr.Deref(l.Spec.HolderIdentity, "") + " " + l.Spec.AcquireTime.UTC().String()
		}
	}
	return out
}

func requireNoLease(t testing.TB, ns string) {
	t.Helper()
	for _, c := range []*testenv.Cluster{pair.Bootstrap, pair.Target} {
		err := c.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: movelock.LeaseName}, &coordinationv1.Lease{})
		require.True(t, apierrors.IsNotFound(err), "%s: the Lease must be released: %v", c.Name, err)
	}
}

// TestSameClusterRefusedBeforeAnyWrite: the bootstrap reached a second
// time through another kubeconfig file, context name and host name is the
// same cluster: move (and its dry run) refuses before anything is written.
func TestSameClusterRefusedBeforeAnyWrite(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	const ns = "same-cluster"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, SpareHosts: 1})
	require.NoError(t, err)
	alias := aliasOf(t, pair.Bootstrap)

	require.NoError(t, RefuseSameCluster(ctx, target(pair.Bootstrap), target(pair.Target)))
	err = RefuseSameCluster(ctx, target(pair.Bootstrap), alias)
	var same *SameClusterError
	require.ErrorAs(t, err, &same)
	require.Contains(t, same.TargetID.Server, "localhost")

	before := clusterState(t, ns)
	for _, dry := range []bool{false, true} {
		opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
		opts.Target, opts.DryRun = alias, dry
		rep, err := Run(ctx, opts)
		require.ErrorAs(t, err, &same, "dry run %v", dry)
		require.Contains(t, err.Error(), "are the same cluster (kube-system Namespace UID ")
		require.Empty(t, rep.ResumeCommand, "nothing changed: nothing to resume")
		require.NoDirExists(t, opts.BackupDir)
		require.Equal(t, before, clusterState(t, ns), "dry run %v: nothing written", dry)
		t.Logf("refused: %v", err)
	}
}

// TestResumeWithoutStateRefused: --resume with a backup folder that holds
// no earlier attempt refuses with nothing changed (before, it skipped the
// preflight, annotated and paused every host, then failed in the backup).
func TestResumeWithoutStateRefused(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	const ns = "resume-no-state"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, SpareHosts: 1})
	require.NoError(t, err)
	before := clusterState(t, ns)
	opts := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	opts.Resume = true
	for _, prepare := range []func(){
		func() {}, // no folder at all
		func() { require.NoError(t, os.MkdirAll(opts.BackupDir, 0o700)) }, // an empty folder
	} {
		prepare()
		rep, err := Run(ctx, opts)
		require.EqualError(t, err, "phase lock failed: --resume needs the state of an earlier attempt, and backup folder "+opts.BackupDir+
			" holds no pivotcheck-state.json: nothing was changed; run without --resume to start a move")
		require.Equal(t, PhaseLock, rep.FailedPhase)
		require.Empty(t, rep.ResumeCommand)
		require.Equal(t, before, clusterState(t, ns), "nothing written")
	}
	hosts := &bmov1alpha1.BareMetalHostList{}
	require.NoError(t, pair.Bootstrap.Client.List(ctx, hosts, client.InNamespace(ns)))
	for _, h := range hosts.Items {
		require.NotContains(t, h.Annotations, bmov1alpha1.PausedAnnotation, h.Name)
	}
}

// TestSecondRunRefusedWhileFirstHoldsLock: a second move of the namespace
// (another backup folder), a second run on the same folder and a --resume
// are all refused while the first run holds the Lease, naming its holder
// and since when, with nothing written; the first run completes, records
// both clusters in its state and releases the Lease in both clusters.
func TestSecondRunRefusedWhileFirstHoldsLock(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	const ns = "one-at-a-time"
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", true)
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, SpareHosts: 1})
	require.NoError(t, err)

	first := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	first.WaitForHosts = false
	reached, resume := make(chan struct{}), make(chan struct{})
	first.OnPhase = func(p string) {
		if p == PhaseBackup {
			close(reached)
			<-resume
		}
	}
	var firstErr error
	ended := make(chan struct{})
	go func() { _, firstErr = Run(ctx, first); close(ended) }()
	// Whatever fails below, the first run is let go and waited for (it
	// logs through this test).
	letGo := sync.OnceFunc(func() { close(resume) })
	finished := func() error { letGo(); <-ended; return firstErr }
	defer func() { _ = finished() }()
	select {
	case <-reached:
	case <-ended:
		t.Fatalf("the first run ended before its backup: %v", firstErr)
	case <-time.After(2 * time.Minute):
		t.Fatal("the first run never reached its backup")
	}
	// The run holds a Lease in each cluster, taken one after the other (a
	// second boundary may fall between them); the refusal names one.
	var holder string
	var since []string
	for _, c := range []client.Client{pair.Bootstrap.Client, pair.Target.Client} {
		lease := &coordinationv1.Lease{}
		require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: movelock.LeaseName}, lease))
		holder = ptr.Deref(lease.Spec.HolderIdentity, "")
		require.NotEmpty(t, holder)
		since = append(since, "held by "+holder+" since "+lease.Spec.AcquireTime.UTC().Format(time.RFC3339))
	}

	before := clusterState(t, ns)
	second := baseOptions(t, ns, pair.Bootstrap, pair.Target)
	rep, err := Run(ctx, second)
	var held *movelock.HeldError
	require.ErrorAs(t, err, &held)
	require.True(t, strings.Contains(err.Error(), since[0]) || strings.Contains(err.Error(), since[1]), "%v names neither Lease: %q", err, since)
	require.Equal(t, PhaseLock, rep.FailedPhase)
	require.Empty(t, rep.ResumeCommand, "a refused fresh run changed nothing: re-run it later")
	require.NoDirExists(t, second.BackupDir)
	t.Logf("second run refused: %v", err)

	// The first run's own folder, and a --resume of it, are busy too.
	for _, resume := range []bool{false, true} {
		again := baseOptions(t, ns, pair.Bootstrap, pair.Target)
		again.BackupDir, again.Resume = first.BackupDir, resume
		_, err = Run(ctx, again)
		var busy *movelock.FolderBusyError
		require.ErrorAs(t, err, &busy, "resume %v", resume)
		require.Contains(t, err.Error(), holder)
	}
	require.Equal(t, before, clusterState(t, ns), "the refused runs wrote nothing")

	require.NoError(t, finished())
	requireMoved(t, res, pair.Bootstrap, pair.Target)
	requireNoLease(t, ns)

	st, err := readState(first.BackupDir)
	require.NoError(t, err)
	require.Equal(t, ns, st.Namespace)
	require.True(t, st.MoveStarted)
	srcID, dstID, err := ClusterIdentities(ctx, target(pair.Bootstrap), target(pair.Target))
	require.NoError(t, err)
	require.Equal(t, srcID.UID, st.Source.Identity.UID)
	require.Equal(t, dstID.UID, st.Target.Identity.UID)
	require.Equal(t, kube.Resolved{Kubeconfig: pair.Bootstrap.Kubeconfig, Files: []string{pair.Bootstrap.Kubeconfig}, Context: pair.Bootstrap.Context}, st.Source.Resolved)
	require.Equal(t, pair.Target.Kubeconfig, st.Target.Resolved.Kubeconfig)
}

// TestLeaseTakeOverAndLoss: an expired Lease is refused with the way to
// take it over, taken over only with TakeOver; a Lease taken over from
// under a run closes its Lost channel; Release deletes only its own.
func TestLeaseTakeOverAndLoss(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	const ns = "lease-takeover"
	c := pair.Target.Client
	require.NoError(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	old := metav1.NewMicroTime(time.Now().Add(-2 * time.Minute))
	require.NoError(t, c.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: movelock.LeaseName},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("elsewhere/42/dead"), LeaseDurationSeconds: ptr.To(int32(40)), AcquireTime: &old, RenewTime: &old}}))
	side := movelock.Side{Name: "target", Client: c, Namespace: ns}

	_, err := movelock.Acquire(ctx, movelock.Options{Holder: "me/1/a"}, side)
	require.ErrorContains(t, err, "held by elsewhere/42/dead since")
	require.ErrorContains(t, err, "if that run is gone, re-run with --take-over-lock")

	l, err := movelock.Acquire(ctx, movelock.Options{Holder: "me/1/a", TakeOver: true, RenewEvery: 100 * time.Millisecond}, side)
	require.NoError(t, err)
	got := &coordinationv1.Lease{}
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: movelock.LeaseName}, got))
	require.Equal(t, "me/1/a", *got.Spec.HolderIdentity)
	require.Equal(t, int32(1), ptr.Deref(got.Spec.LeaseTransitions, 0))

	// Renewed while held.
	first := got.Spec.RenewTime.Time
	require.Eventually(t, func() bool {
		_ = c.Get(ctx, client.ObjectKeyFromObject(got), got)
		return got.Spec.RenewTime.After(first)
	}, 5*time.Second, 50*time.Millisecond)

	// Someone takes it over: the run learns it, and its Release leaves
	// the new holder's Lease alone.
	got.Spec.HolderIdentity = ptr.To("thief/2/b")
	require.NoError(t, c.Update(ctx, got))
	select {
	case <-l.Lost():
		require.Contains(t, l.LostReason(), "taken over by thief/2/b")
	case <-time.After(5 * time.Second):
		t.Fatal("the loss of the Lease was not noticed")
	}
	require.NoError(t, l.Release(ctx))
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(got), got))
	require.Equal(t, "thief/2/b", *got.Spec.HolderIdentity)
}

// BenchmarkLeaseAcquireRelease: what the Leases add to a move — acquire in
// both clusters (namespace read, Lease read and create) and release (delete).
func BenchmarkLeaseAcquireRelease(b *testing.B) {
	needEnv(b)
	ctx := context.Background()
	const ns = "lease-bench"
	for _, c := range []client.Client{pair.Bootstrap.Client, pair.Target.Client} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			b.Fatal(err)
		}
	}
	src, _, err := target(pair.Bootstrap).Client(clientRate)
	if err != nil {
		b.Fatal(err)
	}
	dst, _, err := target(pair.Target).Client(clientRate)
	if err != nil {
		b.Fatal(err)
	}
	var worst, total time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		l, err := movelock.Acquire(ctx, movelock.Options{Holder: movelock.NewHolder()},
			movelock.Side{Name: "source", Client: src, Namespace: ns}, movelock.Side{Name: "target", Client: dst, Namespace: ns, CreateNamespace: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Release(ctx); err != nil {
			b.Fatal(err)
		}
		took := time.Since(t0)
		worst, total = max(worst, took), total+took
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
	// The budget is on the mean: a single worst case on a shared, loaded
	// machine measures the machine.
	if mean := total / time.Duration(b.N); mean > time.Second {
		b.Fatalf("acquire+release took %s on average, more than the 1 s budget", mean)
	}
}

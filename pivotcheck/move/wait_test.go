package move

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

// TestPollRetriesReads: failed reads do not end a wait (each is logged at
// V(1)); a stopWaiting decision does at once; a timeout names the last
// failed read.
func TestPollRetriesReads(t *testing.T) {
	var logged []string
	log := funcr.New(func(_, args string) { logged = append(logged, args) }, funcr.Options{Verbosity: 1})
	d := &driver{opts: Options{PollInterval: 10 * time.Millisecond}, log: log}
	calls := 0
	err := d.poll(t.Context(), 5*time.Second, func() (bool, error) {
		calls++
		if calls <= 3 {
			return false, errors.New("connection refused")
		}
		return calls == 5, nil
	})
	require.NoError(t, err)
	require.Equal(t, 5, calls)
	require.Len(t, logged, 3)
	require.Contains(t, logged[0], "connection refused")

	calls = 0
	err = d.poll(t.Context(), 5*time.Second, func() (bool, error) {
		calls++
		return false, stopWaiting{errors.New("host h0 is being re-provisioned")}
	})
	require.EqualError(t, err, "host h0 is being re-provisioned")
	require.Equal(t, 1, calls)

	err = d.poll(t.Context(), 100*time.Millisecond, func() (bool, error) { return false, errors.New("EOF") })
	require.ErrorContains(t, err, "timed out after 100ms (")
	require.ErrorContains(t, err, "read(s) failed, the last: EOF")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, d.poll(ctx, time.Minute, func() (bool, error) { return false, nil }), context.Canceled)
}

// TestIronicWaitSurvivesFailedReads: while the hand-over waits for the
// target's Ironic to become available, every read of the target API server
// fails for 3 s (an HTTP proxy answers 500 without Retry-After, which
// client-go does not retry itself). The wait reads again until its
// deadline instead of failing at the first error, and passes once the
// Ironic is available.
func TestIronicWaitSurvivesFailedReads(t *testing.T) {
	needEnv(t)
	ctx := t.Context()
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", false)
	proxy := newAPIProxy(t, "target", pair.Target)
	dst, _, err := kube.Cluster{Kubeconfig: proxy.kubeconfig(t), Context: "target"}.Client(clientRate)
	require.NoError(t, err)
	d := &driver{
		opts: Options{Namespace: "waits", IronicHandover: HandoverDelete, IronicWorkloads: ironic.DefaultWorkloads,
			IronicGoneTimeout: 20 * time.Second, TargetIronicTimeout: 40 * time.Second, PollInterval: 100 * time.Millisecond},
		src: pair.Bootstrap.Client, dst: dst, log: testLog(t), report: &Report{BackupDir: t.TempDir()},
	}
	ironicKey := client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}
	// Not available yet (an earlier test may have marked it available).
	dep := &appsv1.Deployment{}
	require.NoError(t, pair.Target.Client.Get(ctx, ironicKey, dep))
	dep.Status = appsv1.DeploymentStatus{Replicas: 1, UnavailableReplicas: 1}
	require.NoError(t, pair.Target.Client.Status().Update(ctx, dep))

	hits := make(chan int, 1)
	go func() {
		time.Sleep(time.Second)
		proxy.set(&proxyFault{match: func(r *http.Request) bool { return r.Method == http.MethodGet }, status: http.StatusInternalServerError, budget: -1})
		time.Sleep(3 * time.Second)
		hits <- proxy.set(nil)
		dep := &appsv1.Deployment{}
		if err := pair.Target.Client.Get(ctx, ironicKey, dep); err != nil {
			t.Errorf("reading the target Ironic: %v", err)
			return
		}
		dep.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 1}
		if err := pair.Target.Client.Status().Update(ctx, dep); err != nil {
			t.Errorf("marking the target Ironic available: %v", err)
		}
	}()
	detail, err := d.ironicHandover(ctx)
	require.NoError(t, err)
	require.Contains(t, detail, "target Ironic available")
	n := <-hits
	t.Logf("%d reads failed during the wait", n)
	require.Greater(t, n, 3, "the reads must have failed during the wait")
}

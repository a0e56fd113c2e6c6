package move

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/fixture"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
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

// TestIronicWaitSurvivesDroppedConnections: while the hand-over waits for
// the target's Ironic to become available, the target API server's
// connections are cut and refused for 3 s (a TCP fault proxy). The wait
// reads again until its deadline instead of failing at the first error,
// and passes once the Ironic is available.
func TestIronicWaitSurvivesDroppedConnections(t *testing.T) {
	needEnv(t)
	ctx := t.Context()
	installIronic(t, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(t, pair.Target.Client, "v0.13.2", false)
	tgt, proxy := proxiedTarget(t)
	dst, _, err := tgt.Client(clientRate)
	require.NoError(t, err)
	d := &driver{
		opts: Options{Namespace: "waits", IronicHandover: HandoverDelete, IronicWorkloads: ironic.DefaultWorkloads,
			IronicGoneTimeout: 20 * time.Second, TargetIronicTimeout: 40 * time.Second, PollInterval: 100 * time.Millisecond},
		src: pair.Bootstrap.Client, dst: dst, log: testLog(t), report: &Report{BackupDir: t.TempDir()},
	}
	ironicKey := client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}
	outage := make(chan time.Duration, 1)
	go func() {
		time.Sleep(time.Second)
		start := time.Now()
		proxy.Fail()
		time.Sleep(3 * time.Second)
		proxy.Heal()
		outage <- time.Since(start)
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
	start := time.Now()
	detail, err := d.ironicHandover(ctx)
	took := time.Since(start)
	require.NoError(t, err)
	require.Contains(t, detail, "target Ironic available")
	require.GreaterOrEqual(t, took, 4*time.Second, "the wait must have lasted through the outage")
	require.GreaterOrEqual(t, <-outage, 3*time.Second)
}

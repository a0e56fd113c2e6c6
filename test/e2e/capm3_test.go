package e2e

import (
	"context"
	"maps"
	"path/filepath"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/scenario"
)

const userPause = "maintenance-by-ops"

func pauseCluster(ctx context.Context, t *testing.T, c client.Client, ns, name string, paused bool) {
	t.Helper()
	patch := `{"spec":{"paused":null}}`
	if paused {
		patch = `{"spec":{"paused":true}}`
	}
	cl := &clusterv1.Cluster{}
	cl.Namespace, cl.Name = ns, name
	require.NoError(t, c.Patch(ctx, cl, client.RawPatch(types.MergePatchType, []byte(patch))))
}

func annotateHost(ctx context.Context, t *testing.T, c client.Client, ns, name string, ann map[string]string) {
	t.Helper()
	h := &bmov1alpha1.BareMetalHost{}
	require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, h))
	base := h.DeepCopy()
	if h.Annotations == nil {
		h.Annotations = map[string]string{}
	}
	maps.Copy(h.Annotations, ann)
	require.NoError(t, c.Patch(ctx, h, client.MergeFrom(base)))
}

// waitHost waits until cond holds for the recorder's latest copy of host.
func waitHost(ctx context.Context, t *testing.T, r *scenario.Recorder, host, what string, cond func(*bmov1alpha1.BareMetalHost) bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		if h, ok := r.Last()[host]; ok && cond(h) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("host %s: %s not observed within 90s; pause values seen: %v", host, what, r.Pauses()[host])
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestLabCAPM3PausesOnlyWhatItOwns: with the real CAPM3, pausing a Cluster
// makes CAPM3 write its own pause and the status annotation on the hosts
// it consumes, in one patch; a host a user paused gets nothing (so it has
// no status to carry); a spare host gets nothing. Unpausing removes only
// CAPM3's own pause.
func TestLabCAPM3PausesOnlyWhatItOwns(t *testing.T) {
	ctx := labTest(t)
	opts := fixture.Options{Namespace: "capm3-alone", ClusterName: "lab2", ControlPlane: 1, Workers: 1, SpareHosts: 1}
	res, _ := build(ctx, t, opts)
	src := pair.Bootstrap.Client
	own, user, spare := res.Hosts[0], res.Hosts[1], res.Hosts[2]
	annotateHost(ctx, t, src, opts.Namespace, user, map[string]string{bmov1alpha1.PausedAnnotation: userPause})
	rec, err := scenario.Record(ctx, pair.Bootstrap.Config, opts.Namespace)
	require.NoError(t, err)
	defer func() { require.NoError(t, rec.Stop()) }()

	pauseCluster(ctx, t, src, opts.Namespace, opts.ClusterName, true)
	waitHost(ctx, t, rec, own, "CAPM3's pause with a valid status annotation", func(h *bmov1alpha1.BareMetalHost) bool {
		raw, ok := h.Annotations[bmov1alpha1.StatusAnnotation]
		if h.Annotations[bmov1alpha1.PausedAnnotation] != hostsafety.CAPM3PauseValue || !ok {
			return false
		}
		st, err := bmo.DecodeStatus(raw, nil)
		return err == nil && st.Provisioning.State == bmov1alpha1.StateProvisioned
	})
	pauseCluster(ctx, t, src, opts.Namespace, opts.ClusterName, false)
	waitHost(ctx, t, rec, own, "CAPM3 removing its pause", func(h *bmov1alpha1.BareMetalHost) bool {
		_, paused := h.Annotations[bmov1alpha1.PausedAnnotation]
		return !paused
	})
	last := rec.Last()
	require.Equal(t, userPause, last[user].Annotations[bmov1alpha1.PausedAnnotation], "CAPM3 never removes a user's pause")
	require.NotContains(t, last[user].Annotations, bmov1alpha1.StatusAnnotation, "CAPM3 writes no status on a host it did not pause")
	pauses := rec.Pauses()
	require.Equal(t, []string{scenario.NotPaused, hostsafety.CAPM3PauseValue, scenario.NotPaused}, pauses[own])
	require.Equal(t, []string{userPause}, pauses[user])
	require.Equal(t, []string{scenario.NotPaused}, pauses[spare], "CAPM3 never pauses a host it does not consume")
}

// TestLabPivotcheckAndCAPM3DoNotFight: during a real pivotcheck move, with
// CAPM3 running on both sides, the pauses on every host are recorded in
// both clusters. pivotcheck pauses the hosts before clusterctl pauses the
// Cluster, so CAPM3 finds them paused and writes nothing; in the target,
// CAPM3 (on the unpaused Cluster) leaves pivotcheck's pause alone and
// pivotcheck removes it; a user's pause (on a host whose status the user
// annotated) is left to the user by both.
func TestLabPivotcheckAndCAPM3DoNotFight(t *testing.T) {
	ctx := labTest(t)
	opts := fixture.Options{Namespace: "capm3-pivot", ClusterName: "lab3", ControlPlane: 1, Workers: 1, SpareHosts: 1}
	res, before := build(ctx, t, opts)
	src := pair.Bootstrap.Client
	own, user, spare := res.Hosts[0], res.Hosts[1], res.Hosts[2]
	h := &bmov1alpha1.BareMetalHost{}
	require.NoError(t, src.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: user}, h))
	userStatus, err := bmo.EncodeStatus(h.Status, nil)
	require.NoError(t, err)
	annotateHost(ctx, t, src, opts.Namespace, user, map[string]string{bmov1alpha1.PausedAnnotation: userPause, bmov1alpha1.StatusAnnotation: userStatus})

	srcRec, err := scenario.Record(ctx, pair.Bootstrap.Config, opts.Namespace)
	require.NoError(t, err)
	dstRec, err := scenario.Record(ctx, pair.Target.Config, opts.Namespace)
	require.NoError(t, err)
	args := append([]string{"move"}, pivotcheckArgs(opts.Namespace)...)
	args = append(args, "--wait-for-hosts", "--host-timeout", "3m", "--backup-dir", filepath.Join(t.TempDir(), "backup"))
	out, code := run(ctx, t, pivotcheck, args...)
	require.NoError(t, srcRec.Stop())
	require.NoError(t, dstRec.Stop())
	srcPauses, dstPauses := srcRec.Pauses(), dstRec.Pauses()
	t.Logf("pauses in the source: %v\npauses in the target: %v", srcPauses, dstPauses)
	require.Zero(t, code, out)

	for _, host := range []string{own, spare} {
		require.Contains(t, srcPauses[host], hostsafety.PivotcheckPauseValue, host)
		// CAPM3 never replaces pivotcheck's pause: in the source, the pause
		// only goes when clusterctl's delete-for-move patch replaces every
		// annotation (CAPM3, seeing the paused Cluster, may then pause again).
		for i := 1; i < len(srcPauses[host]); i++ {
			if srcPauses[host][i-1] == hostsafety.PivotcheckPauseValue {
				require.Equal(t, scenario.NotPaused+scenario.DeleteForMoveSuffix, srcPauses[host][i], "%s: pivotcheck's pause in the source replaced by someone other than clusterctl's delete", host)
			}
		}
		require.NotContains(t, dstPauses[host], hostsafety.CAPM3PauseValue, host)
		require.Equal(t, []string{hostsafety.PivotcheckPauseValue, scenario.NotPaused}, dstPauses[host], "%s: arrives paused by pivotcheck, which unpauses it", host)
	}
	require.Equal(t, []string{userPause}, dstPauses[user], "nobody touches the user's pause in the target")
	last := dstRec.Last()[user]
	require.Equal(t, userStatus, last.Annotations[bmov1alpha1.StatusAnnotation], "the user's status annotation arrives unchanged")
	delete(before, user) // still paused by its user: BMO must not act on it
	require.Empty(t, scenario.Disturbed(before, dstRec.States()))
	require.Equal(t, userPause, srcPauses[user][0])
	require.NotContains(t, srcPauses[user][1:], hostsafety.PivotcheckPauseValue, "pivotcheck never replaces a user's pause")
}

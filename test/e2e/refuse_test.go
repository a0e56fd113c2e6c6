package e2e

import (
	"path/filepath"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/scenario"
)

// TestLabRefusesUnannotatableHostBeforeIronic: a host whose status BMO's
// webhook would refuse in a status annotation (servicing, servicing error) is
// refused by `pivotcheck move` before anything irreversible, even with the
// preflight check that reports it skipped: the source's Ironic Deployment is
// untouched and its real Ironic process still runs (it never stopped), no
// host is paused, the Cluster is not paused, and neither Ironic writes to
// any BMC. BMO runs without test mode against each cluster's own Ironic;
// the bootstrap's Ironic deployed the hosts.
//
// The status is written by hand through the status subresource: a real
// Ironic without a servicing step to run never leaves a host in either
// state long enough to be caught. BMO ignores status-only updates, but its
// own periodic reconcile may rewrite the status: a try counts only when the
// written status held until pivotcheck returned.
func TestLabRefusesUnannotatableHostBeforeIronic(t *testing.T) {
	ctx, ip := ironicTest(t)
	cases := []struct {
		name, skip string
		set        func(*bmov1alpha1.BareMetalHostStatus)
	}{
		// "detach error" itself is not an errorType the v0.13.2 CRD accepts in
		// status, so no host can be in it; "servicing error" is, and BMO's
		// webhook refuses it in a status annotation just the same.
		{name: "servicing-error", skip: "host-error", set: func(st *bmov1alpha1.BareMetalHostStatus) {
			st.OperationalStatus, st.ErrorType, st.ErrorMessage, st.ErrorCount = bmov1alpha1.OperationalStatusError, bmov1alpha1.ServicingError, "servicing failed", 1
		}},
		{name: "servicing", skip: "host-busy", set: func(st *bmov1alpha1.BareMetalHostStatus) {
			st.OperationalStatus = bmov1alpha1.OperationalStatusServicing
		}},
	}
	optsOf := func(name string) fixture.Options {
		return fixture.Options{Namespace: "refuse-" + name, ClusterName: "lab7", ControlPlane: 1, SpareHosts: 1, Hardware: ip.Hardware()}
	}
	clusters := buildAll(ctx, t, optsOf(cases[0].name), optsOf(cases[1].name))
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := optsOf(tc.name)
			res := clusters[i].res
			waitPoweredOn(ctx, t, pair.Bootstrap, opts.Namespace, res.Hosts[:opts.Machines()])
			src := pair.Bootstrap.Client
			key := client.ObjectKey{Namespace: opts.Namespace, Name: res.Hosts[0]}
			rec, err := scenario.Record(ctx, pair.Bootstrap.Config, opts.Namespace)
			require.NoError(t, err)
			w, err := ip.Watch(ctx, opts.Namespace)
			require.NoError(t, err)
			start := time.Now()

			args := append([]string{"move"}, pivotcheckArgs(opts.Namespace)...)
			args = append(args, "--skip-check", tc.skip, "--backup-dir", filepath.Join(t.TempDir(), "backup"))
			// BMO ignores the status write itself, but its own periodic
			// reconcile of the host may land during the run and rewrite the
			// status (a servicing error is retried). The refusal counts only
			// when the written status held from the write until pivotcheck
			// returned; otherwise the status is written again and the move
			// tried again (each refused try changes nothing, which the
			// checks below cover for all of them).
			// Under load BMO's reconcile landed inside three tries in a row
			// (one run of eight), so a few more are allowed; each refused try
			// changes nothing.
			const maxTries = 8
			var out string
			for try := 1; ; try++ {
				h := &bmov1alpha1.BareMetalHost{}
				require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
					if err := src.Get(ctx, key, h); err != nil {
						return err
					}
					tc.set(&h.Status)
					return src.Status().Update(ctx, h)
				}))
				var code int
				out, code = run(ctx, t, pivotcheck, args...)
				t.Logf("pivotcheck move (try %d):\n%s", try, out)
				require.NotZero(t, code, "the move must be refused")
				require.Contains(t, out, res.Hosts[0])
				got := &bmov1alpha1.BareMetalHost{}
				require.NoError(t, src.Get(ctx, key, got))
				if got.Status.OperationalStatus == h.Status.OperationalStatus && got.Status.ErrorType == h.Status.ErrorType {
					break
				}
				require.Less(t, try, maxTries, "BMO rewrote the written status during every try (now %q, %q)", got.Status.OperationalStatus, got.Status.ErrorType)
				t.Logf("BMO rewrote the written status during try %d (now %q, %q): writing it again", try, got.Status.OperationalStatus, got.Status.ErrorType)
			}
			pauses := rec.Pauses()
			require.NoError(t, rec.Stop())

			dep := &appsv1.Deployment{}
			require.NoError(t, src.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, dep), "the source's Ironic is untouched")
			require.Equal(t, int32(1), ptr.Deref(dep.Spec.Replicas, 1))
			require.True(t, pair.Bootstrap.Lab.IronicRuns(), "the source's Ironic process still runs")
			for _, e := range pair.Bootstrap.Lab.IronicEvents() {
				require.False(t, !e.Started && !e.Time.Before(start), "the source's Ironic stopped at %s, after the move began", e.Time.Format(time.RFC3339Nano))
			}
			// Long enough for BMO's next reconcile of the hosts and a power
			// change Ironic asked for to land (1–11 s in the emulator).
			time.Sleep(max(0, 10*time.Second-time.Since(start)))
			require.NoError(t, w.Stop())
			rep := w.Report()
			logReports(t, "refused move", rep)
			require.Zero(t, rep.WritesBy(pair.Bootstrap.Lab.IronicName()), "BMC writes by the source's Ironic")
			require.Zero(t, rep.WritesBy(pair.Target.Lab.IronicName()), "BMC writes by the target's Ironic")
			for _, r := range rep {
				require.Empty(t, r.NodeStates, "%s: the target's Ironic never saw it", r.Host)
			}
			for host, ps := range pauses {
				require.Equal(t, []string{scenario.NotPaused}, ps, "%s: no host is paused", host)
			}
			cl := &clusterv1.Cluster{}
			require.NoError(t, src.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: opts.ClusterName}, cl))
			require.False(t, ptr.Deref(cl.Spec.Paused, false), "the Cluster is not paused")
		})
	}
}

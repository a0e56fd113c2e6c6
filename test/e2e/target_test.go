package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/scenario"
)

// startTargetGuard runs `pivotcheck webhook --mode target` against the
// target on loopback and registers config/target's webhook configuration
// pointing at it (the lab's CA in its caBundle). It returns the guard's
// metrics URL; the test's cleanup unregisters and stops it.
func startTargetGuard(ctx context.Context, t *testing.T) string {
	t.Helper()
	dst := pair.Target
	certDir := t.TempDir()
	serving, err := dst.Lab.CA.Issue([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	require.NoError(t, serving.WriteDir(certDir, dst.Lab.CA))
	ports := make([]int, 3)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		require.NoError(t, ln.Close())
	}
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	args := []string{"webhook", "--mode", "target", "--kubeconfig", dst.Kubeconfig, "--host", "127.0.0.1",
		"--port", strconv.Itoa(ports[0]), "--cert-dir", certDir,
		"--metrics-bind-address", addr(1), "--metrics-secure=false", "--health-probe-bind-address", addr(2)}
	stop, err := dst.Lab.Run(ctx, "target-guard", pivotcheck, args, 60*time.Second, lab.HTTPReady("http://"+addr(2)+"/readyz"))
	require.NoError(t, err)
	f, err := os.Open("../../config/target/manifests.yaml")
	require.NoError(t, err)
	defer f.Close()
	cfgs, err := lab.ReadWebhookConfigs(f)
	require.NoError(t, err)
	require.NotEmpty(t, cfgs.Validating)
	cfgs.PointAt(addr(0), dst.Lab.CA.CertPEM)
	require.NoError(t, cfgs.Install(ctx, dst.Client))
	t.Cleanup(func() {
		for _, v := range cfgs.Validating {
			if err := dst.Client.Delete(context.Background(), v); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("removing %s: %v", v.Name, err)
			}
		}
		stop()
	})
	return "http://" + addr(1) + "/metrics"
}

// TestLabTargetGuard: a plain `clusterctl move` (the real binary) into a
// target whose BMO (without test mode, against the target's own real
// Ironic) and CAPM3 run; the bootstrap's Ironic deployed the hosts and,
// as nothing hands it over in a plain move, keeps running. One consumed
// host carries no status annotation when clusterctl copies it: its user
// paused it, so CAPM3 never annotates it, the way a host CAPM3 has not
// annotated yet looks (CAPM3 ≤ 1.13's race). A test writer plays the late
// CAPM3: once the guard has refused a create, it writes the host's status
// annotation in the source.
//
// With the target guard installed, the create is refused, clusterctl
// retries and reads the source host again, the host arrives with the
// written annotation, and once its user unpauses it the target's Ironic
// adopts its node: 0 BMC writes to it by either Ironic. Without the guard,
// the same move copies it bare, the target's BMO registers and deploys it
// again, and the target's Ironic writes to its BMC.
func TestLabTargetGuard(t *testing.T) {
	ctx, ip := ironicTest(t)
	optsOf := func(name string) fixture.Options {
		return fixture.Options{Namespace: "target-" + name, ClusterName: "lab8", ControlPlane: 2, Hardware: ip.Hardware()}
	}
	clusters := buildAll(ctx, t, optsOf("guarded"), optsOf("unguarded"))
	for i, guarded := range []bool{true, false} {
		name := map[bool]string{true: "guarded", false: "unguarded"}[guarded]
		t.Run(name, func(t *testing.T) {
			opts := optsOf(name)
			res, before := clusters[i].res, clusters[i].before
			waitPoweredOn(ctx, t, pair.Bootstrap, opts.Namespace, res.Hosts)
			src, dst := pair.Bootstrap.Client, pair.Target.Client
			late := res.Hosts[1]
			annotateHost(ctx, t, src, opts.Namespace, late, map[string]string{bmov1alpha1.PausedAnnotation: userPause})
			h := &bmov1alpha1.BareMetalHost{}
			require.NoError(t, src.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: late}, h))
			written, err := bmo.EncodeStatus(h.Status, nil)
			require.NoError(t, err)

			var metrics string
			if guarded {
				metrics = startTargetGuard(ctx, t)
			}
			writerDone := make(chan struct{})
			wctx, stopWriter := context.WithCancel(ctx)
			go func() {
				defer close(writerDone)
				for wctx.Err() == nil {
					if metrics != "" {
						if _, denied, err := readDecisions(metrics); err == nil && denied > 0 {
							h := &bmov1alpha1.BareMetalHost{}
							h.Namespace, h.Name = opts.Namespace, late
							patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, bmov1alpha1.StatusAnnotation, written)
							if err := src.Patch(ctx, h, client.RawPatch(types.MergePatchType, []byte(patch))); err == nil {
								return
							}
						}
					}
					select {
					case <-wctx.Done():
					case <-time.After(50 * time.Millisecond):
					}
				}
			}()
			rec, err := scenario.Record(ctx, pair.Target.Config, opts.Namespace)
			require.NoError(t, err)
			w, err := ip.Watch(ctx, opts.Namespace)
			require.NoError(t, err)
			out, code := run(ctx, t, clusterctl, append([]string{"move", "-v", "5"}, clusterctlArgs(opts.Namespace)...)...)
			stopWriter()
			<-writerDone
			require.Zero(t, code, out)

			got := &bmov1alpha1.BareMetalHost{}
			require.NoError(t, dst.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: late}, got))
			if guarded {
				allowed, denied := decisions(t, metrics)
				t.Logf("target guard: %d allowed, %d denied", allowed, denied)
				require.Positive(t, denied, "the guard refused the bare host at least once")
				require.Contains(t, strings.ToLower(out), "retry", "clusterctl retried the refused create")
				require.Equal(t, written, got.Annotations[bmov1alpha1.StatusAnnotation], "the host arrived with the annotation written late")
			} else {
				require.NotContains(t, got.Annotations, bmov1alpha1.StatusAnnotation, "without the guard the host arrives bare")
			}
			// The user lifts the pause in the target.
			patch := []byte(`{"metadata":{"annotations":{"` + bmov1alpha1.PausedAnnotation + `":null}}}`)
			require.NoError(t, dst.Patch(ctx, got, client.RawPatch(types.MergePatchType, patch)))
			if guarded {
				require.NoError(t, scenario.WaitSettled(ctx, rec, before, 3*time.Minute), "journeys: %v", scenario.Journeys(rec.States()))
				require.NoError(t, rec.Stop())
				require.Empty(t, scenario.Disturbed(before, rec.States()), "journeys: %v", scenario.Journeys(rec.States()))
				rep := waitNodesSettled(t, w, "guarded move", 3*time.Minute)
				r := reportOf(t, rep, late)
				require.Empty(t, r.Writes, "%s: BMC writes after the move began", late)
				require.True(t, scenario.OnAdoptionPath(r.NodeStates), "%s: node went %v", late, r.NodeStates)
				require.Equal(t, "active", r.NodeStates[len(r.NodeStates)-1], "%s: adopted by the target's Ironic", late)
				require.Empty(t, rep.Disturbed())
				return
			}
			// Without the guard: wait for the target's Ironic to write to the
			// bare host's BMC.
			target := pair.Target.Lab.IronicName()
			deadline := time.Now().Add(4 * time.Minute)
			for len(reportOf(t, w.Report(), late).Writes[target]) == 0 {
				require.True(t, time.Now().Before(deadline), "without the guard, the target's Ironic should deploy the bare host again; journeys: %v", scenario.Journeys(rec.States()))
				time.Sleep(250 * time.Millisecond)
			}
			require.NoError(t, rec.Stop())
			require.NoError(t, w.Stop())
			rep := w.Report()
			logReports(t, "unguarded move", rep)
			r := reportOf(t, rep, late)
			require.True(t, r.Disturbed, "%s is disturbed", late)
			require.Contains(t, rep.Disturbed(), late)
			t.Logf("without the guard: %s; %d BMC write(s) by the target's Ironic, %d by the source's", r, len(r.Writes[target]), len(r.Writes[pair.Bootstrap.Lab.IronicName()]))
		})
	}
}

// reportOf returns host's report.
func reportOf(t *testing.T, rep scenario.HostReports, host string) scenario.HostReport {
	t.Helper()
	for _, r := range rep {
		if r.Host == host {
			return r
		}
	}
	require.Failf(t, "no report", "no report for host %s", host)
	return scenario.HostReport{}
}

// TestLabAdoptionVerified: with BMO without test mode on both sides, each
// against its own real Ironic, --wait-for-hosts waits until the target's
// BMO registered each host with its own Ironic: goodCredentials names the
// host's BMC Secret at its target resourceVersion, and the target's Ironic
// adopted the node (enroll → manageable → adopting → active) without a
// BMC write. A host whose BMC Secret loses its password on the way fails
// to register (the target's Ironic never gets its node), and the wait
// names it with its registration error.
func TestLabAdoptionVerified(t *testing.T) {
	ctx, ip := ironicTest(t)
	opts := fixture.Options{Namespace: "adoption", ClusterName: "lab9", ControlPlane: 2, Hardware: ip.Hardware()}
	res, _ := build(ctx, t, opts)
	waitPoweredOn(ctx, t, pair.Bootstrap, opts.Namespace, res.Hosts)
	src, dst := pair.Bootstrap.Client, pair.Target.Client
	good, broken := res.Hosts[0], res.Hosts[1]
	require.NoError(t, src.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: broken}, &bmov1alpha1.BareMetalHost{}))

	// Break the broken host's BMC Secret as soon as it arrives in the target
	// (the hosts are still paused then; the move unpauses them in verify).
	wctx, stopWriter := context.WithCancel(ctx)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for wctx.Err() == nil {
			sec := &corev1.Secret{}
			if err := dst.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: broken + "-bmc-secret"}, sec); err == nil {
				patch := []byte(`[{"op":"remove","path":"/data/password"}]`)
				if err := dst.Patch(ctx, sec, client.RawPatch(types.JSONPatchType, patch)); err == nil {
					return
				}
			}
			select {
			case <-wctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	w, err := ip.Watch(ctx, opts.Namespace)
	require.NoError(t, err)
	args := append([]string{"move"}, pivotcheckArgs(opts.Namespace)...)
	args = append(args, "--wait-for-hosts", "--host-timeout", "90s", "--backup-dir", filepath.Join(t.TempDir(), "backup"))
	out, code := run(ctx, t, pivotcheck, args...)
	stopWriter()
	<-writerDone
	t.Logf("pivotcheck move:\n%s", out)
	require.NotZero(t, code, "the wait must fail for the host that cannot register")
	require.Contains(t, out, broken)
	require.Contains(t, out, "registration error")
	require.NotContains(t, out, good+": ", "the wait does not list %s as pending", good)

	h := &bmov1alpha1.BareMetalHost{}
	require.NoError(t, dst.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: good}, h))
	sec := &corev1.Secret{}
	require.NoError(t, dst.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: good + "-bmc-secret"}, sec))
	require.NotNil(t, h.Status.GoodCredentials.Reference)
	require.Equal(t, sec.Name, h.Status.GoodCredentials.Reference.Name)
	require.Equal(t, sec.ResourceVersion, h.Status.GoodCredentials.Version, "the target's BMO registered %s with the target's Secret", good)
	require.Equal(t, bmov1alpha1.StateProvisioned, h.Status.Provisioning.State)

	// The good host's node was adopted by the target's Ironic; the broken
	// one never reached it; no BMC was written.
	deadline := time.Now().Add(2 * time.Minute)
	for r := reportOf(t, w.Report(), good); len(r.NodeStates) == 0 || r.NodeStates[len(r.NodeStates)-1] != "active"; r = reportOf(t, w.Report(), good) {
		require.True(t, time.Now().Before(deadline), "%s: node %v not active in the target's Ironic", good, r.NodeStates)
		time.Sleep(250 * time.Millisecond)
	}
	require.NoError(t, w.Stop())
	rep := w.Report()
	logReports(t, "move", rep)
	r := reportOf(t, rep, good)
	require.True(t, scenario.OnAdoptionPath(r.NodeStates), "%s: node went %v", good, r.NodeStates)
	require.Empty(t, r.Errors, good)
	require.Empty(t, reportOf(t, rep, broken).NodeStates, "%s: registered in the target's Ironic without a password", broken)
	require.Zero(t, rep.WritesBy(pair.Bootstrap.Lab.IronicName()), "BMC writes by the source's Ironic")
	require.Zero(t, rep.WritesBy(pair.Target.Lab.IronicName()), "BMC writes by the target's Ironic")
}

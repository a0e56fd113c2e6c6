package webhook_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/loadavg"
	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/pivotcheck/move"
	"github.com/pivotcheck/pivotcheck/pivotcheck/preflight"
)

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := max(int(p*float64(len(sorted))+0.5)-1, 0)
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var hostsOnce sync.Once

// createHosts creates n BareMetalHosts with a realistic status in ns, the
// first `busy` of them provisioning, the rest provisioned. Once per process.
func createHosts(t testing.TB, c *testenv.Cluster, ns string, n, busy int) {
	t.Helper()
	var err error
	hostsOnce.Do(func() {
		ctx := context.Background()
		start := time.Now()
		if err = c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			return
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(16)
		now := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
		for i := range n {
			g.Go(func() error {
				name := fmt.Sprintf("bench-host-%05d", i)
				h := &bmov1alpha1.BareMetalHost{
					ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
					Spec: bmov1alpha1.BareMetalHostSpec{
						Online: true, BootMACAddress: fmt.Sprintf("00:5c:52:%02x:%02x:%02x", (i>>16)&0xff, (i>>8)&0xff, i&0xff),
						BMC: bmov1alpha1.BMCDetails{Address: "redfish+http://192.168.111.1:8000/redfish/v1/Systems/" + name, CredentialsName: name + "-bmc"},
					},
				}
				if err := c.Client.Create(gctx, h); err != nil && !apierrors.IsAlreadyExists(err) {
					return err
				}
				state := bmov1alpha1.StateProvisioned
				if i < busy {
					state = bmov1alpha1.StateProvisioning
				}
				h.Status = bmov1alpha1.BareMetalHostStatus{
					OperationalStatus: bmov1alpha1.OperationalStatusOK, LastUpdated: &now, PoweredOn: true, HardwareProfile: "unknown",
					Provisioning: bmov1alpha1.ProvisionStatus{State: state, ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), BootMode: bmov1alpha1.UEFI},
					HardwareDetails: &bmov1alpha1.HardwareDetails{
						Hostname: name, RAMMebibytes: 16384,
						CPU: bmov1alpha1.CPU{Arch: "x86_64", Model: "Intel Xeon", Count: 8, ClockMegahertz: 2600},
						NIC: []bmov1alpha1.NIC{{Name: "enp1s0", MAC: h.Spec.BootMACAddress, IP: "172.22.0.55", SpeedGbps: 1, PXE: true}},
					},
				}
				return c.Client.Status().Update(gctx, h)
			})
		}
		err = g.Wait()
		fmt.Fprintf(os.Stderr, "created %d BareMetalHosts in %s\n", n, time.Since(start).Round(time.Millisecond))
	})
	require.NoError(t, err)
}

// BenchmarkHandlerDenyPath5000Hosts: one pause decision on the deny path in
// a namespace of 5,000 BareMetalHosts (10 provisioning), served by the real
// informer cache with the HostIndex: no full list. The cluster also holds
// what a management cluster runs besides its hosts (createRealisticCluster:
// 2,000 Pods, 200 Deployments, 20 DaemonSets, 400 ConfigMaps in 40
// namespaces), which the cache and the Ironic check read. Reports p50/p99 of the
// Handle call (decode, classify, cache reads, verdict, message).
func BenchmarkHandlerDenyPath5000Hosts(b *testing.B) {
	p := envPair(b)
	const ns = "bench-hosts"
	createHosts(b, p.Bootstrap, ns, 5000, 10)
	createRealisticCluster(b, p.Bootstrap)
	wh := startWebhook(b, p.Bootstrap)
	defer wh.stop(b)
	ctx := context.Background()
	req := pauseRequest(b, ns)
	// The cache must hold all 5,000 hosts before timing.
	require.Eventually(b, func() bool {
		var l bmov1alpha1.BareMetalHostList
		return wh.h.Cache.List(ctx, &l, client.InNamespace(ns)) == nil && len(l.Items) == 5000
	}, time.Minute, 100*time.Millisecond)
	for range 200 { // warm up
		wh.h.Handle(ctx, req)
	}
	const samples = 5000
	lat := make([]time.Duration, 0, samples)
	done := loadavg.Sample(b)
	b.ResetTimer()
	for range b.N {
		lat = lat[:0]
		for range samples {
			s := time.Now()
			resp := wh.h.Handle(ctx, req)
			lat = append(lat, time.Since(s))
			if resp.Allowed {
				b.Fatal("expected a denial")
			}
		}
	}
	b.StopTimer()
	done()
	slices.Sort(lat)
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}

// BenchmarkHandlerAllowPath5000Hosts: the same namespace with every host
// safe, in the same realistic cluster (createRealisticCluster). First the pause (the point of no return), confirmed live: host
// metadata compared with the cache by resourceVersion; reported for
// sizing, 50 samples. Then the allow path a move repeats for every Metal3
// object, the delete-for-move annotation and DELETE after that pause,
// answered from the cache alone: p50/p99 of 5,000 Handle calls (target
// p99 ≤ 2 ms); each must be a cache-only verdict.
func BenchmarkHandlerAllowPath5000Hosts(b *testing.B) {
	p := envPair(b)
	const ns = "bench-hosts"
	createHosts(b, p.Bootstrap, ns, 5000, 10)
	createRealisticCluster(b, p.Bootstrap)
	ctx := context.Background()
	for i := range 10 {
		setHostState(ctx, b, p.Bootstrap.Client, ns, fmt.Sprintf("bench-host-%05d", i), bmov1alpha1.StateProvisioned)
	}
	defer func() {
		for i := range 10 {
			setHostState(ctx, b, p.Bootstrap.Client, ns, fmt.Sprintf("bench-host-%05d", i), bmov1alpha1.StateProvisioning)
		}
	}()
	live := &liveCounter{}
	wh := startWebhook(b, p.Bootstrap, countLive(live))
	defer wh.stop(b)
	dryPause, realPause := pauseRequest(b, ns), pauseRequest(b, ns)
	realPause.DryRun = ptr.To(false)
	require.Eventually(b, func() bool { return wh.h.Handle(ctx, dryPause).Allowed }, time.Minute, 100*time.Millisecond)
	deletes := deleteForMoveRequests(b, ns)

	const pauseSamples, deleteSamples = 50, 5000
	pauses := make([]time.Duration, 0, pauseSamples)
	lat := make([]time.Duration, 0, deleteSamples)
	failed := 0
	done := loadavg.Sample(b)
	b.ResetTimer()
	for range b.N {
		pauses, lat = pauses[:0], lat[:0]
		for range pauseSamples {
			s := time.Now()
			resp := wh.h.Handle(ctx, realPause)
			pauses = append(pauses, time.Since(s))
			if !resp.Allowed {
				// Only a read timeout can deny here: it fails closed. Count it.
				failed++
				b.Logf("denied: %s", resp.Result.Message)
			}
		}
		before := live.confirmations.Load()
		for i := range deleteSamples {
			req := deletes[i%len(deletes)]
			s := time.Now()
			resp := wh.h.Handle(ctx, req)
			lat = append(lat, time.Since(s))
			if !resp.Allowed || resp.AuditAnnotations["read"] != "cache" {
				b.Fatalf("expected an allow from the cache alone, got allowed=%v read=%q: %v", resp.Allowed, resp.AuditAnnotations["read"], resp.Result)
			}
		}
		if d := live.confirmations.Load() - before; d != 0 {
			b.Fatalf("%d live confirmations on the delete-for-move path", d)
		}
	}
	b.StopTimer()
	done()
	for _, l := range [][]time.Duration{pauses, lat} {
		slices.Sort(l)
	}
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.ReportMetric(ms(percentile(pauses, 0.50)), "pause-p50-ms")
	b.ReportMetric(ms(percentile(pauses, 0.99)), "pause-p99-ms")
	b.ReportMetric(float64(failed), "pause-failed-closed")
}

// deleteForMoveRequests are clusterctl's two gated writes for a Metal3Machine
// and a BareMetalHost: the annotation JSON patch (UPDATE) and the DELETE.
func deleteForMoveRequests(t testing.TB, ns string) []admission.Request {
	docs := []struct{ group, version, kind, name, doc string }{
		{"infrastructure.cluster.x-k8s.io", "v1beta2", "Metal3Machine", "m0",
			fmt.Sprintf(`{"apiVersion":"infrastructure.cluster.x-k8s.io/v1beta2","kind":"Metal3Machine","metadata":{"name":"m0","namespace":%q,"finalizers":["metal3machine.infrastructure.cluster.x-k8s.io"]},"spec":{}}`, ns)},
		{"metal3.io", "v1alpha1", "BareMetalHost", "bench-host-00042",
			fmt.Sprintf(`{"apiVersion":"metal3.io/v1alpha1","kind":"BareMetalHost","metadata":{"name":"bench-host-00042","namespace":%q,"annotations":{"baremetalhost.metal3.io/paused":"metal3.io/capm3","baremetalhost.metal3.io/status":"{}"}},"spec":{"online":true}}`, ns)},
	}
	var out []admission.Request
	for _, d := range docs {
		p, err := jsonpatch.DecodePatch([]byte(`[{"op": "add", "path":"/metadata/annotations", "value":{"clusterctl.cluster.x-k8s.io/delete-for-move":""}}]`))
		require.NoError(t, err)
		marked, err := p.Apply([]byte(d.doc))
		require.NoError(t, err)
		gvk := metav1.GroupVersionKind{Group: d.group, Version: d.version, Kind: d.kind}
		out = append(out,
			admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{UID: "bench", Kind: gvk, Namespace: ns, Name: d.name, Operation: admissionv1.Update,
				Object: runtime.RawExtension{Raw: marked}, OldObject: runtime.RawExtension{Raw: []byte(d.doc)}, DryRun: ptr.To(false)}},
			admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{UID: "bench", Kind: gvk, Namespace: ns, Name: d.name, Operation: admissionv1.Delete,
				OldObject: runtime.RawExtension{Raw: marked}, DryRun: ptr.To(false)}})
	}
	return out
}

func pauseRequest(t testing.TB, ns string) admission.Request {
	old := fmt.Sprintf(`{"apiVersion":"cluster.x-k8s.io/v1beta2","kind":"Cluster","metadata":{"name":"test1","namespace":%q},"spec":{"controlPlaneRef":{"apiGroup":"controlplane.cluster.x-k8s.io","kind":"KubeadmControlPlane","name":"test1"}}}`, ns)
	patched, err := jsonpatch.MergePatch([]byte(old), []byte(`{"spec":{"paused":true}}`))
	require.NoError(t, err)
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "bench", Kind: metav1.GroupVersionKind{Group: "cluster.x-k8s.io", Version: "v1beta2", Kind: "Cluster"},
		Namespace: ns, Name: "test1", Operation: admissionv1.Update,
		Object: runtime.RawExtension{Raw: patched}, OldObject: runtime.RawExtension{Raw: []byte(old)}, DryRun: ptr.To(true),
	}}
}

var apiNamespacesOnce sync.Once

// apiNamespaces builds two identical small workload clusters: "bench-on"
// goes through the webhook (allow path: cache + live confirm), "bench-off"
// carries the bypass namespace label so the namespaceSelector keeps the
// webhook out. Same API server, same patch: the difference is the webhook.
func apiNamespaces(t testing.TB, c *testenv.Cluster) {
	t.Helper()
	var err error
	apiNamespacesOnce.Do(func() {
		ctx := context.Background()
		for _, ns := range []string{"bench-on", "bench-off"} {
			if _, err = fixture.Build(ctx, c.Client, fixture.Options{Namespace: ns}); err != nil {
				return
			}
		}
		n := &corev1.Namespace{}
		if err = c.Client.Get(ctx, client.ObjectKey{Name: "bench-off"}, n); err != nil {
			return
		}
		n.Labels["pivotcheck.dev/allow-unsafe-move"] = "benchmark-baseline"
		err = c.Client.Update(ctx, n)
	})
	require.NoError(t, err)
}

// BenchmarkPauseDryRunThroughAPIServer: `kubectl patch cluster --type merge
// -p '{"spec":{"paused":true}}' --dry-run=server`, with and without the
// webhook, interleaved in one run, in the realistic cluster
// (createRealisticCluster: the Ironic check lists its Deployments,
// DaemonSets and Ironic-labelled Pods). Reports p50/p99 of both and the p99
// overhead.
func BenchmarkPauseDryRunThroughAPIServer(b *testing.B) {
	p := envPair(b)
	apiNamespaces(b, p.Bootstrap)
	createRealisticCluster(b, p.Bootstrap)
	wh := startWebhook(b, p.Bootstrap)
	defer wh.stop(b)
	ctx := context.Background()
	c := p.Bootstrap.Client
	for range 50 { // warm up both paths (first LISTs are slow in envtest)
		require.NoError(b, pause(ctx, c, "bench-on", "test1", true))
		require.NoError(b, pause(ctx, c, "bench-off", "test1", true))
	}
	const samples = 500
	var on, off []time.Duration
	done := loadavg.Sample(b)
	b.ResetTimer()
	for range b.N {
		on, off = on[:0], off[:0]
		for range samples {
			s := time.Now()
			if err := pause(ctx, c, "bench-on", "test1", true); err != nil {
				b.Fatal(err)
			}
			on = append(on, time.Since(s))
			s = time.Now()
			if err := pause(ctx, c, "bench-off", "test1", true); err != nil {
				b.Fatal(err)
			}
			off = append(off, time.Since(s))
		}
	}
	b.StopTimer()
	done()
	for _, l := range [][]time.Duration{on, off} {
		slices.Sort(l)
	}
	b.ReportMetric(ms(percentile(on, 0.50)), "webhook-p50-ms")
	b.ReportMetric(ms(percentile(on, 0.99)), "webhook-p99-ms")
	b.ReportMetric(ms(percentile(off, 0.50)), "baseline-p50-ms")
	b.ReportMetric(ms(percentile(off, 0.99)), "baseline-p99-ms")
	b.ReportMetric(ms(percentile(on, 0.99)-percentile(off, 0.99)), "overhead-p99-ms")

	// Split: the handler alone (cache read + live confirmation) on the same request.
	req := pauseRequest(b, "bench-on")
	handler := make([]time.Duration, 0, samples)
	for range samples {
		s := time.Now()
		if resp := wh.h.Handle(ctx, req); !resp.Allowed {
			b.Fatalf("expected an allow: %v", resp.Result)
		}
		handler = append(handler, time.Since(s))
	}
	slices.Sort(handler)
	b.ReportMetric(ms(percentile(handler, 0.50)), "handler-p50-ms")
	b.ReportMetric(ms(percentile(handler, 0.99)), "handler-p99-ms")
}

// BenchmarkSustainedLoad offers dry-run pause patches at 200 requests/s
// for 30 s from 64 concurrent clients through the API server and the
// webhook (allow path), and fails unless the webhook kept up: every request
// answered without an error and started within 1 s of its slot. Reported
// per iteration: on-schedule-req/s (requests that succeeded and started
// within 1 s of their slot, per second of the 30 s schedule: 200 when it
// keeps up), errors, late (started more than 1 s after the slot),
// p50/p99/max-ms, throughput-req/s (all requests over the whole run, its
// tail included) and the load average. A benchmark, so plain `go test`
// leaves it out; `make bench-report` runs it.
// PIVOTCHECK_WEBHOOK_LOAD_NS=bench-off offers the same load to the
// namespace the webhook skips (the API server alone, as a baseline).
func BenchmarkSustainedLoad(b *testing.B) {
	p := envPair(b)
	apiNamespaces(b, p.Bootstrap)
	wh := startWebhook(b, p.Bootstrap)
	defer wh.stop(b)
	ctx := context.Background()
	c := p.Bootstrap.Client
	ns := "bench-on"
	if v := os.Getenv("PIVOTCHECK_WEBHOOK_LOAD_NS"); v != "" {
		ns = v
	}
	for range 50 {
		require.NoError(b, pause(ctx, c, ns, "test1", true))
	}
	b.ResetTimer()
	for range b.N {
		done := loadavg.Sample(b)
		r := offerLoad(ctx, func(ctx context.Context) error { return pause(ctx, c, ns, "test1", true) })
		b.StopTimer()
		done()
		b.ReportMetric(r.onSchedule, "on-schedule-req/s")
		b.ReportMetric(float64(r.errors), "errors")
		b.ReportMetric(float64(r.late), "late")
		b.ReportMetric(r.throughput, "throughput-req/s")
		b.ReportMetric(ms(percentile(r.lat, 0.5)), "p50-ms")
		b.ReportMetric(ms(percentile(r.lat, 0.99)), "p99-ms")
		b.ReportMetric(ms(r.lat[len(r.lat)-1]), "max-ms")
		summary := fmt.Sprintf("load on %s: %d requests in %s (%.1f req/s on schedule, %.1f req/s overall), %d errors, %d started > 1 s late; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms",
			ns, len(r.lat), r.elapsed.Round(time.Millisecond), r.onSchedule, r.throughput, r.errors, r.late,
			ms(percentile(r.lat, 0.5)), ms(percentile(r.lat, 0.99)), ms(r.lat[len(r.lat)-1]))
		if r.errors > 0 {
			summary += fmt.Sprintf("; first error: %v", r.firstErr)
		}
		if r.errors > 0 || r.onSchedule < loadRate {
			b.Fatalf("the webhook did not sustain %d requests/s for %s: %s", loadRate, loadDuration, summary)
		}
		b.Log(summary)
		b.StartTimer()
	}
}

const (
	loadRate     = 200
	loadDuration = 30 * time.Second
	loadWorkers  = 64
)

type loadResult struct {
	lat                    []time.Duration // sorted
	errors, late           int64
	onSchedule, throughput float64 // requests/s
	elapsed                time.Duration
	firstErr               any
}

// offerLoad calls req loadRate times a second for loadDuration from
// loadWorkers goroutines. A request counts as on schedule when it succeeds
// and starts within 1 s of its slot; when the workers fall behind, the
// later requests start late.
func offerLoad(ctx context.Context, req func(context.Context) error) loadResult {
	total := int(loadRate * loadDuration / time.Second)
	jobs := make(chan time.Time, total)
	var (
		errs, late, ok atomic.Int64
		mu             sync.Mutex
		lat            = make([]time.Duration, 0, total)
		firstEr        atomic.Value
		wg             sync.WaitGroup
	)
	for range loadWorkers {
		wg.Go(func() {
			for sched := range jobs {
				onTime := time.Since(sched) <= time.Second
				if !onTime {
					late.Add(1)
				}
				s := time.Now()
				err := req(ctx)
				d := time.Since(s)
				switch {
				case err != nil:
					errs.Add(1)
					firstEr.CompareAndSwap(nil, err.Error())
				case onTime:
					ok.Add(1)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	tick := time.NewTicker(time.Second / loadRate)
	for range total {
		jobs <- <-tick.C
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	return loadResult{lat: lat, errors: errs.Load(), late: late.Load(), elapsed: elapsed, firstErr: firstEr.Load(),
		onSchedule: float64(ok.Load()) / loadDuration.Seconds(), throughput: float64(len(lat)) / elapsed.Seconds()}
}

func benchTarget(c *testenv.Cluster) kube.Cluster {
	return kube.Cluster{Kubeconfig: c.Kubeconfig, Context: c.Context}
}

// benchManagement gives a cluster BMO and its Ironic Deployment, reported
// available (no controller runs in envtest), as pivotcheck move's Ironic
// and host hand-over expect on both sides.
func benchManagement(b *testing.B, c client.Client) {
	b.Helper()
	ctx := context.Background()
	if err := fixture.InstallManagement(ctx, c, fixture.Management{Ironic: ptr.To(int32(1)), Keepalived: true, BMOVersion: fixture.BMODefaultVersion}); err != nil {
		b.Fatal(err)
	}
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}, d); err != nil {
		b.Fatal(err)
	}
	d.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 1}
	if err := c.Status().Update(ctx, d); err != nil {
		b.Fatal(err)
	}
}

// movePreflight runs the real preflight engine (both clusters listed,
// clusterctl's dry run, every check) inside pivotcheck move and logs its
// findings without enforcing them: the fixture has no provider inventory.
func movePreflight(b *testing.B, p *testenv.Pair, ns string) move.PreflightFunc {
	return func(ctx context.Context, skip []string) ([]string, []string, error) {
		rep, err := preflight.Run(ctx, preflight.Options{Source: benchTarget(p.Bootstrap), Target: benchTarget(p.Target),
			Namespace: ns, Skip: skip, Log: logr.Discard()})
		if err != nil {
			return nil, nil, err
		}
		move.OfferPlan(ctx, rep.Plan)
		b.Logf("preflight of %s: %d error(s), %d warning(s) (logged, not enforced)", ns, rep.Errors(), rep.Warnings())
		return nil, nil, nil
	}
}

// BenchmarkMoveWithWebhook compares, in one run, `pivotcheck move` (every
// phase, the real preflight engine, as BenchmarkMove100Machines in
// pivotcheck/move) with the webhook installed from
// config/webhook/manifests.yaml and served by the real manager on envtest's
// local URL, against a bare clusterctl library Move of an identical
// fixture in a namespace the webhook's namespaceSelector leaves out (the
// bypass label), so the API server never calls the webhook for it. Each
// iteration is one pair; the order alternates from one iteration to the
// next (bare first, then pivotcheck first, ...), so with -count or
// -benchtime a target growing by thousands of objects, or a neighbour's
// load, weighs on both. Each pivotcheck move finds a running source Ironic
// and removes it, as in a real pivot. Reports both times, their ratio,
// pivotcheck's phases, the webhook's live confirmations and the load
// average.
//
//	100Machines: 100 machines (1,314 objects)
//	1000Hosts:   200 machines and 800 spare hosts (≈ 5,000 objects)
//	2000Hosts:   400 machines and 1,600 spare hosts (≈ 10,000 objects; long)
func BenchmarkMoveWithWebhook(b *testing.B) {
	for _, size := range []struct {
		name string
		opts fixture.Options
	}{
		{"100Machines", fixture.Options{ControlPlane: 3, Workers: 97}},
		{"1000Hosts", fixture.Options{ControlPlane: 3, Workers: 197, SpareHosts: 800}},
		{"2000Hosts", fixture.Options{ControlPlane: 3, Workers: 397, SpareHosts: 1600}},
	} {
		b.Run(size.name, func(b *testing.B) { benchMoveWithWebhook(b, size.opts) })
	}
}

func benchMoveWithWebhook(b *testing.B, size fixture.Options) {
	p := envPair(b)
	ctx := context.Background()
	log := logr.Discard()
	src := p.Bootstrap
	benchManagement(b, p.Target.Client)
	live := &liveCounter{}
	wh := startWebhook(b, src, countLive(live))
	defer wh.stop(b)

	opts := func(ns string) move.Options {
		return move.Options{Source: benchTarget(src), Target: benchTarget(p.Target), Namespace: ns,
			Preflight: movePreflight(b, p, ns), BackupDir: filepath.Join(b.TempDir(), "backup"), Log: log,
			PollInterval: 100 * time.Millisecond}
	}
	build := func(ns string, o fixture.Options, bare bool) int {
		o.Namespace, o.Concurrency = ns, 16
		res, err := fixture.Build(ctx, src.Client, o)
		if err != nil {
			b.Fatal(err)
		}
		if bare {
			nsLabel(ctx, b, src.Client, ns, ptrTo("benchmark-baseline"))
		}
		return len(res.Objects)
	}
	var reqs map[string]testenv.Requests
	pivot := func(ns string) (time.Duration, *move.Report) {
		benchManagement(b, src.Client) // a source Ironic for the hand-over to remove
		o := opts(ns)
		// Round trips per phase (both API servers, the webhook's own
		// reads included): a phase that is slow for its count waits on
		// something else.
		pc := testenv.NewPhaseCounter(ctx, src, p.Target)
		o.OnPhase = pc.OnPhase
		t0 := time.Now()
		rep, err := move.Run(ctx, o)
		if err != nil {
			b.Fatal(err)
		}
		d := time.Since(t0)
		_, reqs = pc.Done()
		if pc.Err != nil {
			b.Logf("request counts incomplete: %v", pc.Err)
		}
		return d, rep
	}
	bare := func(ns string) time.Duration {
		t0 := time.Now()
		if err := (mover.Library{Stock: true}).Move(ctx, mover.Options{From: benchTarget(src), To: benchTarget(p.Target), Namespace: ns, Log: log}); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	// Warm-up: the first LIST of each CRD type in envtest takes ≈ 1 s (cold
	// watch cache); both code paths list every type in both clusters.
	stamp := time.Now().UnixNano()
	small := fixture.Options{ControlPlane: 1, Workers: 1}
	build(fmt.Sprintf("warm-bare-%d", stamp), small, true)
	build(fmt.Sprintf("warm-pivot-%d", stamp), small, false)
	bare(fmt.Sprintf("warm-bare-%d", stamp))
	pivot(fmt.Sprintf("warm-pivot-%d", stamp))

	for i := range b.N {
		b.StopTimer()
		stamp := time.Now().UnixNano()
		bareNS, pivotNS := fmt.Sprintf("wbench-%d-%d-bare", stamp, i), fmt.Sprintf("wbench-%d-%d-pivot", stamp, i)
		objects := build(bareNS, size, true)
		build(pivotNS, size, false)
		done := loadavg.Sample(b)
		b.StartTimer()
		var bareT, fullT time.Duration
		var confirmations int64
		var rep *move.Report
		for _, bareSide := range pairOrder() {
			if bareSide {
				bareT = bare(bareNS)
				b.Logf("bare clusterctl Move of %s (webhook not called): %s", bareNS, bareT.Round(time.Millisecond))
				continue
			}
			before := live.confirmations.Load()
			fullT, rep = pivot(pivotNS)
			confirmations = live.confirmations.Load() - before
			b.Logf("pivotcheck move of %s with the webhook: %s, %d live confirmation(s)", pivotNS, fullT.Round(time.Millisecond), confirmations)
		}
		b.StopTimer()
		done()
		b.ReportMetric(float64(objects), "objects")
		b.ReportMetric(bareT.Seconds(), "s-bare-clusterctl-move")
		b.ReportMetric(fullT.Seconds(), "s-pivotcheck-move-webhook")
		b.ReportMetric(fullT.Seconds()/bareT.Seconds(), "ratio")
		b.ReportMetric(float64(confirmations), "live-confirmations/move")
		for _, ph := range rep.Phases {
			if ph.Status == "ok" {
				b.ReportMetric(ph.Seconds, "s-"+ph.Name)
			}
			b.Logf("  %-16s %-8s %6.2fs %6.0f requests %v %s", ph.Name, ph.Status, ph.Seconds, reqs[ph.Name].Total(), reqs[ph.Name], ph.Detail)
		}
		b.Logf("%d objects: bare clusterctl Move %s, pivotcheck move with the webhook %s, ratio %.2f",
			objects, bareT.Round(time.Millisecond), fullT.Round(time.Millisecond), fullT.Seconds()/bareT.Seconds())
		b.StartTimer()
	}
}

// timedPairs counts the A/B pairs this process has timed, for pairOrder.
var timedPairs int

// pairOrder is the order of the next pair's two sides, true for the
// baseline (the side without the webhook or guard): baseline first in
// even pairs, second in odd ones, so consecutive pairs interleave as
// A B B A A B ...
func pairOrder() []bool {
	timedPairs++
	if timedPairs%2 == 1 {
		return []bool{true, false}
	}
	return []bool{false, true}
}

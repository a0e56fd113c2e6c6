package webhook_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/pivotcheck/pivotcheck/internal/fixture"
	"github.com/pivotcheck/pivotcheck/internal/testenv"
)

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	if i < 0 {
		i = 0
	}
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
		for i := 0; i < n; i++ {
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
// informer cache with the HostIndex: no full list. Reports p50/p99 of the
// Handle call (decode, classify, cache reads, verdict, message).
func BenchmarkHandlerDenyPath5000Hosts(b *testing.B) {
	p := envPair(b)
	const ns = "bench-hosts"
	createHosts(b, p.Bootstrap, ns, 5000, 10)
	wh := startWebhook(b, p.Bootstrap)
	defer wh.stop(b)
	ctx := context.Background()
	req := pauseRequest(b, ns)
	// The cache must hold all 5,000 hosts before timing.
	require.Eventually(b, func() bool {
		var l bmov1alpha1.BareMetalHostList
		return wh.h.Cache.List(ctx, &l, client.InNamespace(ns)) == nil && len(l.Items) == 5000
	}, time.Minute, 100*time.Millisecond)
	for i := 0; i < 200; i++ { // warm up
		wh.h.Handle(ctx, req)
	}
	const samples = 5000
	lat := make([]time.Duration, 0, samples)
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		lat = lat[:0]
		for i := 0; i < samples; i++ {
			s := time.Now()
			resp := wh.h.Handle(ctx, req)
			lat = append(lat, time.Since(s))
			if resp.Allowed {
				b.Fatal("expected a denial")
			}
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}

// BenchmarkHandlerAllowPath5000Hosts: the same namespace with every host
// safe is the allow path, which confirms with a live LIST of all 5,000
// hosts. Reported for sizing (not a target of the issue).
func BenchmarkHandlerAllowPath5000Hosts(b *testing.B) {
	p := envPair(b)
	const ns = "bench-hosts"
	createHosts(b, p.Bootstrap, ns, 5000, 10)
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		setHostState(ctx, b, p.Bootstrap.Client, ns, fmt.Sprintf("bench-host-%05d", i), bmov1alpha1.StateProvisioned)
	}
	defer func() {
		for i := 0; i < 10; i++ {
			setHostState(ctx, b, p.Bootstrap.Client, ns, fmt.Sprintf("bench-host-%05d", i), bmov1alpha1.StateProvisioning)
		}
	}()
	wh := startWebhook(b, p.Bootstrap)
	defer wh.stop(b)
	req := pauseRequest(b, ns)
	require.Eventually(b, func() bool { return wh.h.Handle(ctx, req).Allowed }, time.Minute, 100*time.Millisecond)
	const samples = 50
	lat := make([]time.Duration, 0, samples)
	failed := 0
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		lat = lat[:0]
		for i := 0; i < samples; i++ {
			s := time.Now()
			resp := wh.h.Handle(ctx, req)
			lat = append(lat, time.Since(s))
			if !resp.Allowed {
				// Only a read timeout can deny here: it fails closed. Count it.
				failed++
				b.Logf("denied: %s", resp.Result.Message)
			}
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(float64(failed), "failed-closed")
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
// webhook, interleaved in one run. Reports p50/p99 of both and the p99
// overhead.
func BenchmarkPauseDryRunThroughAPIServer(b *testing.B) {
	p := envPair(b)
	apiNamespaces(b, p.Bootstrap)
	wh := startWebhook(b, p.Bootstrap)
	defer wh.stop(b)
	ctx := context.Background()
	c := p.Bootstrap.Client
	for i := 0; i < 50; i++ { // warm up both paths (first LISTs are slow in envtest)
		require.NoError(b, pause(ctx, c, "bench-on", "test1", true))
		require.NoError(b, pause(ctx, c, "bench-off", "test1", true))
	}
	const samples = 500
	var on, off []time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		on, off = on[:0], off[:0]
		for i := 0; i < samples; i++ {
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
	for _, l := range [][]time.Duration{on, off} {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	}
	b.ReportMetric(ms(percentile(on, 0.50)), "webhook-p50-ms")
	b.ReportMetric(ms(percentile(on, 0.99)), "webhook-p99-ms")
	b.ReportMetric(ms(percentile(off, 0.50)), "baseline-p50-ms")
	b.ReportMetric(ms(percentile(off, 0.99)), "baseline-p99-ms")
	b.ReportMetric(ms(percentile(on, 0.99)-percentile(off, 0.99)), "overhead-p99-ms")

	// Split: the handler alone (cache read + live confirmation) on the same request.
	req := pauseRequest(b, "bench-on")
	handler := make([]time.Duration, 0, samples)
	for i := 0; i < samples; i++ {
		s := time.Now()
		if resp := wh.h.Handle(ctx, req); !resp.Allowed {
			b.Fatalf("expected an allow: %v", resp.Result)
		}
		handler = append(handler, time.Since(s))
	}
	sort.Slice(handler, func(i, j int) bool { return handler[i] < handler[j] })
	b.ReportMetric(ms(percentile(handler, 0.50)), "handler-p50-ms")
	b.ReportMetric(ms(percentile(handler, 0.99)), "handler-p99-ms")
}

// TestSustainedLoad sends dry-run pause patches at 200 requests/s for 30 s
// from 64 concurrent clients through the API server and the webhook (allow
// path) and wants zero errors. Long: runs only with PIVOTCHECK_WEBHOOK_LOAD=1.
// PIVOTCHECK_WEBHOOK_LOAD_NS=bench-off runs the same load on the namespace
// the webhook skips (baseline of the API server alone).
func TestSustainedLoad(t *testing.T) {
	if os.Getenv("PIVOTCHECK_WEBHOOK_LOAD") == "" {
		t.Skip("set PIVOTCHECK_WEBHOOK_LOAD=1 to run the 30 s load test")
	}
	p := envPair(t)
	apiNamespaces(t, p.Bootstrap)
	wh := startWebhook(t, p.Bootstrap)
	defer wh.stop(t)
	ctx := context.Background()
	c := p.Bootstrap.Client
	ns := "bench-on"
	if v := os.Getenv("PIVOTCHECK_WEBHOOK_LOAD_NS"); v != "" {
		ns = v
	}
	for i := 0; i < 50; i++ {
		require.NoError(t, pause(ctx, c, ns, "test1", true))
	}
	const (
		rate     = 200
		duration = 30 * time.Second
		workers  = 64
	)
	total := int(rate * duration / time.Second)
	jobs := make(chan time.Time, total)
	var (
		errs    atomic.Int64
		late    atomic.Int64
		mu      sync.Mutex
		lat     = make([]time.Duration, 0, total)
		firstEr atomic.Value
		wg      sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sched := range jobs {
				if time.Since(sched) > time.Second {
					late.Add(1)
				}
				s := time.Now()
				err := pause(ctx, c, ns, "test1", true)
				d := time.Since(s)
				if err != nil {
					errs.Add(1)
					firstEr.CompareAndSwap(nil, err.Error())
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	tick := time.NewTicker(time.Second / rate)
	for i := 0; i < total; i++ {
		jobs <- <-tick.C
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("load on %s: %d requests in %s (%.1f req/s), %d errors, %d started > 1 s late; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms",
		ns, len(lat), elapsed.Round(time.Millisecond), float64(len(lat))/elapsed.Seconds(), errs.Load(), late.Load(),
		ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)), ms(lat[len(lat)-1]))
	require.Zero(t, errs.Load(), "first error: %v", firstEr.Load())
	require.Len(t, lat, total)
}

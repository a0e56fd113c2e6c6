package preflight_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/loadavg"
	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/pivotcheck/preflight"
)

// benchFixtures are built once per process: the framework calls a
// benchmark more than once.
var benchFixtures = map[int]*fixture.Result{}

// BenchmarkPreflight: preflight end to end (both clusters listed,
// clusterctl's dry run, every check) side by side with clusterctl v1.13.6's
// dry-run discovery alone (mover.Plan), interleaved ABBA in one run, so the
// ratio is preflight's own overhead beyond the discovery it cannot avoid
// (that discovery is quadratic in move-hierarchy roots, and every
// BareMetalHost is one; clusterctl move pays it too). Also reported:
// preflight with the dry run's answer replayed (its own reads and checks),
// and the load average.
//
//	1000Hosts: 200 machines with their CAPM3/IPAM chain + 800 spare hosts (5,014 objects)
//	2000Hosts: 400 machines + 1,600 spare hosts (≈ 10,000 objects)
func BenchmarkPreflight(b *testing.B) {
	for _, hosts := range []int{1000, 2000} {
		b.Run(fmt.Sprintf("%dHosts", hosts), func(b *testing.B) { benchPreflight(b, hosts) })
	}
}

func benchPreflight(b *testing.B, hosts int) {
	if pair == nil {
		b.Skip("needs envtest (run without -short)")
	}
	ctx := context.Background()
	ns := fmt.Sprintf("bench-%d", hosts)
	res := benchFixtures[hosts]
	if res == nil {
		machines := hosts / 5
		start := time.Now()
		var err error
		res, err = fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 3, Workers: machines - 3, SpareHosts: hosts - machines, Concurrency: 16})
		require.NoError(b, err)
		b.Logf("built %d objects in %s", len(res.Objects), time.Since(start).Round(time.Millisecond))
		benchFixtures[hosts] = res
	}
	o := preflight.Options{Source: target(pair.Bootstrap), Target: target(pair.Target), Namespace: ns, Log: logr.Discard()}
	// Warm-up: the first LIST of each CRD type fills envtest's watch cache.
	r, err := preflight.Run(ctx, o)
	require.NoError(b, err)
	require.True(b, r.Ready, "%d errors", r.Errors())
	require.Len(b, r.Plan, len(res.Objects))
	var plan []mover.Object
	runPreflight := func() time.Duration {
		s := time.Now()
		if _, err := preflight.Run(ctx, o); err != nil {
			b.Fatal(err)
		}
		return time.Since(s)
	}
	runDryRun := func() time.Duration {
		s := time.Now()
		var err error
		if plan, err = mover.Plan(ctx, o.Source, ns, logr.Discard()); err != nil {
			b.Fatal(err)
		}
		return time.Since(s)
	}
	var pre, dry []time.Duration
	done := loadavg.Sample(b)
	b.ResetTimer()
	for range b.N {
		pre = append(pre, runPreflight())
		dry = append(dry, runDryRun(), runDryRun())
		pre = append(pre, runPreflight())
	}
	b.StopTimer()
	done()
	require.Len(b, plan, len(res.Objects))
	mp, md := mean(pre), mean(dry)
	b.ReportMetric(mp.Seconds(), "s/preflight")
	b.ReportMetric(md.Seconds(), "s/dry-run")
	b.ReportMetric(mp.Seconds()/md.Seconds(), "ratio")
	b.ReportMetric(median(pre).Seconds()/median(dry).Seconds(), "ratio-of-medians")
	b.ReportMetric(float64(len(res.Objects)), "objects")
	b.Logf("%d hosts, %d objects: preflight %s, clusterctl dry run alone %s (means of %d, ABBA), ratio %.2f",
		hosts, len(res.Objects), mp.Round(time.Millisecond), md.Round(time.Millisecond), len(pre), mp.Seconds()/md.Seconds())

	// Preflight's own reads and checks, with the dry run's answer replayed.
	restore := preflight.SetPlanFunc(func(context.Context, kube.Cluster, string, logr.Logger) ([]mover.Object, error) { return plan, nil })
	defer restore()
	var own []time.Duration
	for range 3 {
		own = append(own, runPreflight())
	}
	b.ReportMetric(mean(own).Seconds(), "s/own-reads+checks")
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[len(s)/2]
}

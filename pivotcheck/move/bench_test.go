package move

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/pivotcheck/pivotcheck/internal/loadavg"
	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/pivotcheck/preflight"
)

// realPreflight runs the whole preflight engine (both clusters listed,
// clusterctl's dry run, every check) so its cost is in the comparison.
func realPreflight(b *testing.B, ns string) PreflightFunc {
	return func(ctx context.Context, skip []string) ([]string, []string, error) {
		rep, err := preflight.Run(ctx, preflight.Options{Source: target(pair.Bootstrap), Target: target(pair.Target),
			Namespace: ns, Skip: skip, Log: logr.Discard()})
		if err != nil {
			return nil, nil, err
		}
		OfferPlan(ctx, rep.Plan)
		b.Logf("preflight of %s: %d error(s), %d warning(s) (logged, not enforced)", ns, rep.Errors(), rep.Warnings())
		return nil, nil, nil
	}
}

// BenchmarkMove100Machines compares, in one run and after the same warm-up,
// a bare clusterctl library Move of a 100-machine fixture with a full
// `pivotcheck move` (every phase, verify included, and the real preflight
// engine, whose findings are logged but not enforced: this fixture has no
// provider inventory) of an identical fixture in another namespace. Each
// iteration is one pair; the order alternates from one iteration to the
// next (bare first, then pivotcheck first, ...), so with -count or
// -benchtime a target growing by thousands of objects, or a neighbour's
// load, weighs on both. Reports both times, their ratio, pivotcheck's
// phases and the load average.
func BenchmarkMove100Machines(b *testing.B) {
	needEnv(b)
	ctx := context.Background()
	log := logr.Discard()
	installIronic(b, pair.Bootstrap.Client, "v0.13.2", true)
	installIronic(b, pair.Target.Client, "v0.13.2", true)
	opts := func(ns string) Options {
		return Options{Source: target(pair.Bootstrap), Target: target(pair.Target), Namespace: ns,
			Preflight: realPreflight(b, ns), BackupDir: filepath.Join(b.TempDir(), "backup"), Log: log,
			PollInterval: 100 * time.Millisecond}
	}
	// Warm-up: the first LIST of each CRD type in envtest takes ≈ 1 s (cold
	// watch cache); both code paths list every type in both clusters.
	warm := fmt.Sprintf("warm-%d", time.Now().UnixNano())
	if _, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: warm, ControlPlane: 1, Workers: 1}); err != nil {
		b.Fatal(err)
	}
	if _, err := Run(ctx, opts(warm)); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		b.StopTimer()
		stamp := time.Now().UnixNano()
		bareNS, fullNS := fmt.Sprintf("bench-%d-%d-bare", stamp, i), fmt.Sprintf("bench-%d-%d-full", stamp, i)
		var objects int
		for _, ns := range []string{bareNS, fullNS} {
			res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 3, Workers: 97})
			if err != nil {
				b.Fatal(err)
			}
			objects = len(res.Objects)
		}
		// The previous pivotcheck move stopped the source Ironic; a source
		// without one is refused until the operator says why.
		installIronic(b, pair.Bootstrap.Client, "v0.13.2", true)
		done := loadavg.Sample(b)
		b.StartTimer()
		var bare, full time.Duration
		var rep *Report
		var reqs map[string]testenv.Requests
		benchPairs++
		for _, bareSide := range []bool{benchPairs%2 == 1, benchPairs%2 == 0} {
			t0 := time.Now()
			if bareSide {
				if err := (mover.Library{Stock: true}).Move(ctx, mover.Options{From: target(pair.Bootstrap), To: target(pair.Target), Namespace: bareNS, Log: log}); err != nil {
					b.Fatal(err)
				}
				bare = time.Since(t0)
				b.Logf("bare clusterctl Move of %s: %s", bareNS, bare.Round(time.Millisecond))
				continue
			}
			o := opts(fullNS)
			// Round trips per phase (both API servers): a phase that is slow
			// for its count waits on something else.
			pc := testenv.NewPhaseCounter(ctx, pair.Bootstrap, pair.Target)
			o.OnPhase = pc.OnPhase
			var err error
			if rep, err = Run(ctx, o); err != nil {
				b.Fatal(err)
			}
			full = time.Since(t0)
			_, reqs = pc.Done()
			if pc.Err != nil {
				b.Logf("  (request counts incomplete: %v)", pc.Err)
			}
			b.Logf("pivotcheck move of %s: %s", fullNS, full.Round(time.Millisecond))
		}
		b.StopTimer()
		done()
		b.ReportMetric(float64(objects), "objects")
		b.ReportMetric(bare.Seconds(), "s-bare-clusterctl-move")
		b.ReportMetric(full.Seconds(), "s-pivotcheck-move")
		b.ReportMetric(full.Seconds()/bare.Seconds(), "ratio")
		for _, p := range rep.Phases {
			if p.Status == statusOK {
				b.ReportMetric(p.Seconds, "s-"+p.Name)
			}
			b.Logf("  %-16s %-8s %6.2fs %6.0f requests %v %s", p.Name, p.Status, p.Seconds, reqs[p.Name].Total(), reqs[p.Name], p.Detail)
		}
		b.Logf("%d objects: bare clusterctl Move %s, pivotcheck move %s, ratio %.2f", objects, bare.Round(time.Millisecond), full.Round(time.Millisecond), full.Seconds()/bare.Seconds())
		b.StartTimer()
	}
}

// benchPairs counts the pairs this process has timed: odd ones run the
// bare move first, even ones pivotcheck move first.
var benchPairs int

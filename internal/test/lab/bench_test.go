package lab_test

import (
	"context"
	"testing"
	"time"

	"github.com/pivotcheck/pivotcheck/internal/loadavg"
	"github.com/pivotcheck/pivotcheck/internal/test/lab"
	"github.com/pivotcheck/pivotcheck/internal/test/scenario"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// BenchmarkLabPair: a bootstrap and a target cluster, from nothing to
// ready; the binaries are already built (warm). Reported as seconds per
// pair, with the load average.
//   - test-mode: each cluster with every lab controller
//     (kube-controller-manager, kube-scheduler, kwok with a Ready node, BMO
//     in test mode, CAPM3, IPAM, webhooks registered);
//   - ironic: scenario.StartIronicPair: the same with BMO against each
//     cluster's own real Ironic, which starts once its Deployment (installed
//     with Metal3's management components) has a Running pod, plus the BMC
//     emulator and the image server.
func BenchmarkLabPair(b *testing.B) {
	ctx := context.Background()
	b.Run("test-mode", func(b *testing.B) {
		all := lab.Options{Kubernetes: true, BMO: true, CAPM3: true}
		bench(b, func() (interface{ Stop() error }, error) {
			return testenv.StartPair(ctx,
				testenv.Options{LabelCRD: testenv.LabelLikeClusterctl, Lab: &all},
				testenv.Options{LabelCRD: testenv.LabelLikeClusterctl, Lab: &all})
		})
	})
	b.Run("ironic", func(b *testing.B) {
		bench(b, func() (interface{ Stop() error }, error) {
			return scenario.StartIronicPair(ctx, testenv.Options{}, testenv.Options{})
		})
	})
}

func bench(b *testing.B, start func() (interface{ Stop() error }, error)) {
	var total time.Duration
	done := loadavg.Sample(b)
	for b.Loop() {
		begin := time.Now()
		p, err := start()
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(begin)
		b.StopTimer()
		if err := p.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	done()
	b.ReportMetric(total.Seconds()/float64(b.N), "s/pair")
}

package lab_test

import (
	"context"
	"testing"
	"time"

	"github.com/pivotcheck/pivotcheck/internal/lab"
	"github.com/pivotcheck/pivotcheck/internal/testenv"
)

// BenchmarkLabPair: a bootstrap and a target cluster, each with every lab
// controller (kube-controller-manager, kube-scheduler, kwok with a Ready
// node, BMO, CAPM3, IPAM, webhooks registered), from nothing to ready; the
// binaries are already built (warm). Reported as seconds per pair.
func BenchmarkLabPair(b *testing.B) {
	ctx := context.Background()
	all := lab.Options{Kubernetes: true, BMO: true, CAPM3: true}
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		p, err := testenv.StartPair(ctx,
			testenv.Options{LabelCRD: testenv.LabelLikeClusterctl, Lab: &all},
			testenv.Options{LabelCRD: testenv.LabelLikeClusterctl, Lab: &all})
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		if err := p.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/pair")
}

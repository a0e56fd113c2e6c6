package main

import (
	"math"
	"strings"
	"testing"
)

// benchOutput is `go test -bench` output as a test binary prints it:
// sub-benchmarks, -GOMAXPROCS suffixes, logs, a failure.
const benchOutput = `goos: linux
goarch: amd64
pkg: github.com/pivotcheck/pivotcheck/webhook
cpu: Intel(R) Xeon(R) CPU @ 2.20GHz
BenchmarkTargetGuardDecision/consumed-annotated-2         	       1	 2271458 ns/op	         1.250 load-after	         1.100 load-before	         0.2100 max-ms	         0.04500 p50-ms	         0.1700 p99-ms	      2871 request-bytes
BenchmarkTargetGuardDecision/consumed-annotated-2         	       1	 2271458 ns/op	         1.300 load-after	         1.200 load-before	         0.2100 max-ms	         0.04500 p50-ms	         0.4400 p99-ms	      2871 request-bytes
BenchmarkTargetGuardDecision/consumed-missing-2           	       1	 2000000 ns/op	         0.3000 p99-ms
--- BENCH: BenchmarkTargetGuardDecision/consumed-missing-2
    target_bench_test.go:99: a log line
BenchmarkSustainedLoad-2   	--- FAIL: BenchmarkSustainedLoad-2
    bench_test.go:370: the webhook did not sustain 200 requests/s for 30s: load on bench-on: 6000 requests
    bench_test.go:371: second line
BenchmarkLabPair/test-mode 	       1	12400000000 ns/op	        12.40 s/pair
PASS
ok  	github.com/pivotcheck/pivotcheck/webhook	12.3s
`

func TestParseBench(t *testing.T) {
	got, err := ParseBench(strings.NewReader(benchOutput))
	if err != nil {
		t.Fatal(err)
	}
	want := []Result{
		{Name: "BenchmarkTargetGuardDecision/consumed-annotated", Metrics: map[string]float64{"p99-ms": 0.17, "load-before": 1.1}},
		{Name: "BenchmarkTargetGuardDecision/consumed-annotated", Metrics: map[string]float64{"p99-ms": 0.44, "load-after": 1.3}},
		{Name: "BenchmarkTargetGuardDecision/consumed-missing", Metrics: map[string]float64{"p99-ms": 0.3}},
		{Name: "BenchmarkSustainedLoad", Failed: true, Message: "bench_test.go:370: the webhook did not sustain 200 requests/s for 30s: load on bench-on: 6000 requests bench_test.go:371: second line"},
		{Name: "BenchmarkLabPair/test-mode", Metrics: map[string]float64{"s/pair": 12.4}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.Name || g.Failed != w.Failed || g.Message != w.Message {
			t.Errorf("result %d: %q failed=%v %q; want %q failed=%v %q", i, g.Name, g.Failed, g.Message, w.Name, w.Failed, w.Message)
		}
		for k, v := range w.Metrics {
			if math.Abs(g.Metrics[k]-v) > 1e-9 {
				t.Errorf("result %d: %s = %v, want %v", i, k, g.Metrics[k], v)
			}
		}
	}
}

func TestParseBenchBadMetric(t *testing.T) {
	_, err := ParseBench(strings.NewReader("BenchmarkX-2 \t 1\t 12 ns/op\t abc p99-ms\n"))
	if err == nil || !strings.Contains(err.Error(), "BenchmarkX") || !strings.Contains(err.Error(), "p99-ms") {
		t.Fatalf("want an error naming the benchmark and the metric, got %v", err)
	}
}

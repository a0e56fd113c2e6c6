package main

import (
	"math"
	"strings"
	"testing"
)

func TestRowSamplesWorst(t *testing.T) {
	rs := []Result{
		{Name: "BenchmarkG/a", Metrics: map[string]float64{"p99-ms": 0.2, "load-before": 1, "load-after": 2}},
		{Name: "BenchmarkG/a", Metrics: map[string]float64{"p99-ms": 0.3, "load-before": 3, "load-after": 3}},
		{Name: "BenchmarkG/b", Metrics: map[string]float64{"p99-ms": 0.5, "load-before": 0.5, "load-after": 4}},
		{Name: "BenchmarkG/b", Metrics: map[string]float64{"p99-ms": 0.1}},
		{Name: "BenchmarkG/c", Metrics: map[string]float64{"p99-ms": 0.4}},
		{Name: "BenchmarkG/c", Failed: true, Message: "boom"},
	}
	row := Row{Metric: "p99-ms", Worst: true, Target: Target{Op: AtMost, Value: 1}}
	got := RowSamples(row, rs)
	if len(got) != 2 {
		t.Fatalf("got %d samples, want 2: %+v", len(got), got)
	}
	if got[0].Failed || got[0].Value != 0.5 || got[0].LoadBefore != 0.5 || got[0].LoadAfter != 4 {
		t.Errorf("sample 1 = %+v, want the worst 0.5 with load 0.5–4", got[0])
	}
	if !got[1].Failed || !strings.Contains(got[1].Message, "BenchmarkG/c: boom") {
		t.Errorf("sample 2 = %+v, want the failure of BenchmarkG/c", got[1])
	}
	// At least: the worst is the smallest.
	row.Target.Op = AtLeast
	if got := RowSamples(row, rs[:3]); got[0].Value != 0.2 {
		t.Errorf("at least: sample 1 = %v, want 0.2", got[0].Value)
	}
}

func TestRowSamplesPairAndMissingMetric(t *testing.T) {
	rs := []Result{
		{Name: "BenchmarkM", Metrics: map[string]float64{"ratio": 1.1, "s-a": 60, "s-b": 66}},
		{Name: "BenchmarkM", Metrics: map[string]float64{"s-a": 60}},
	}
	got := RowSamples(Row{Metric: "ratio", A: "s-a", B: "s-b"}, rs)
	if len(got) != 2 || got[0].Value != 1.1 || got[0].A != 60 || got[0].B != 66 || !math.IsNaN(got[0].LoadBefore) {
		t.Fatalf("got %+v", got)
	}
	if !got[1].Failed || !strings.Contains(got[1].Message, `no metric "ratio"`) {
		t.Errorf("a result without the row's metric must be a failed sample, got %+v", got[1])
	}
}

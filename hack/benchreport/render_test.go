package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	move := Row{ID: "move", Part: "move", Title: "100 machines: pivotcheck / bare", Run: "move", Metric: "ratio",
		Target: Target{Op: AtMost, Value: 1.2, Unit: "×"}, MinSamples: 5, A: "s-bare-clusterctl-move", B: "s-pivotcheck-move"}
	demo := Row{ID: "demo", Part: "demo", Title: "make demo", Run: "demo", Target: Target{Op: AtMost, Value: 240, Unit: "s"}, MinSamples: 5}
	pairs := []Sample{
		{Value: 1.08, A: 60, B: 64.8, LoadBefore: 1.5, LoadAfter: 2},
		{Value: 1.1, A: 61, B: 67.1, LoadBefore: 2, LoadAfter: 2.5},
		{Value: 1.05, A: 62, B: 65.1, LoadBefore: 2.5, LoadAfter: 3},
		{Value: 1.12, A: 60, B: 67.2, LoadBefore: 3, LoadAfter: 3.5},
		{Value: 1.07, A: 59, B: 63.1, LoadBefore: 3.5, LoadAfter: 3.25},
	}
	demos := []Sample{{Value: 230, LoadBefore: 1, LoadAfter: 4, A: math.NaN(), B: math.NaN()},
		{Failed: true, Message: "make demo: exit status 2 | last line", LoadBefore: 4, LoadAfter: 5, A: math.NaN(), B: math.NaN()}}
	r := Report{
		Start: time.Date(2026, 12, 6, 14, 30, 0, 0, time.UTC), Duration: 2*time.Hour + 3*time.Minute,
		Commit: "0123456789ab", Dirty: true, LoadStart: 0.5, LoadEnd: 1.25,
		Machine: Machine{CPUs: 2, CPUModel: "Test CPU @ 2.20GHz", MemBytes: 8 << 30, GoVersion: "go1.26.8 linux/amd64"},
		Rows: []RowReport{
			{Row: move, Run: Run{ID: "move", About: "one pair"}, Samples: pairs, Summary: Summarize(pairs, move.Target, 5)},
			{Row: demo, Run: Run{ID: "demo", About: "make demo"}, Samples: demos, Summary: Summarize(demos, demo.Target, 5)},
		},
		Commands: []string{"go test -c -o $BIN/pivotcheck-move.test ./pivotcheck/move", "make demo   # 5 times, each timed"},
	}
	md := Render(r)
	for _, want := range []string{
		"# Performance\n",
		"Generated 2026-12-06 14:30 UTC by `make bench-report` in 2h3m0s at commit `0123456789ab` (with uncommitted changes).",
		"Machine: 2 CPUs (nproc), Test CPU @ 2.20GHz, 8.0 GiB memory, go1.26.8 linux/amd64.",
		"0.50 at the start, 1.25 at the end, 1.00 – 5.00 over the samples.",
		"| part | figure | target | median | min–max | samples | load | verdict |",
		"| move | 100 machines: pivotcheck / bare | ≤ 1.2× | 1.08× | 1.05× – 1.12× | 5 | 1.50 – 3.50 | met |",
		"| demo | make demo | ≤ 240 s | 230 s | 230 s – 230 s | 2 | 1.00 – 5.00 | not shown |",
		"**Met**: median 1.08×, 1.05× – 1.12×.",
		"Medians of the two sides: `s-bare-clusterctl-move` 60.0 s, `s-pivotcheck-move` 65.1 s.",
		"| 1 | 1.08× | 60.0 s | 64.8 s | 1.50 | 2.00 |",
		`**Not shown**: 1 of 2 samples failed: make demo: exit status 2 \| last line.`,
		`| 2 | failed: make demo: exit status 2 \| last line | 4.00 | 5.00 |`,
		"go test -c -o $BIN/pivotcheck-move.test ./pivotcheck/move\nmake demo   # 5 times, each timed\n```\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "Smoke run") {
		t.Error("a full run's report calls itself a smoke run")
	}
	r.Quick, r.Args = true, []string{"-rows=demo", "-quick=true"}
	md = Render(r)
	for _, want := range []string{"> **Smoke run** (`-quick`)", "by `go run ./hack/benchreport -rows=demo -quick=true`"} {
		if !strings.Contains(md, want) {
			t.Errorf("a smoke run's report lacks %q", want)
		}
	}
}

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRowsMatchTheBenchmarks keeps the table honest against the code: every
// row's run exists, every run is used, every benchmark the pattern names
// is declared in its package's tests, and every metric a row reads is
// reported there.
func TestRowsMatchTheBenchmarks(t *testing.T) {
	used := map[string]bool{}
	seen := map[string]bool{}
	for _, row := range rows {
		if seen[row.ID] {
			t.Errorf("row %s is listed twice", row.ID)
		}
		seen[row.ID] = true
		r, ok := findRun(row.Run)
		if !ok {
			t.Errorf("row %s: no run %q", row.ID, row.Run)
			continue
		}
		used[r.ID] = true
		if row.MinSamples < 3 || r.Count < row.MinSamples {
			t.Errorf("row %s needs %d samples, its run takes %d", row.ID, row.MinSamples, r.Count)
		}
		if r.Command != nil {
			if row.Metric != "" {
				t.Errorf("row %s reads metric %q of a timed command", row.ID, row.Metric)
			}
			continue
		}
		src := testSources(t, r.Pkg)
		for _, m := range []string{row.Metric, row.A, row.B, "load-before", "load-after"} {
			if m != "" && !strings.Contains(src, `"`+m+`"`) && !strings.Contains(src, `"s-"+`) {
				t.Errorf("row %s: %s reports no metric %q", row.ID, r.Pkg, m)
			}
		}
		if m := regexp.MustCompile(`^\^(Benchmark\w+)\$`).FindStringSubmatch(r.Bench); m == nil || !strings.Contains(src, "func "+m[1]+"(b *testing.B)") {
			t.Errorf("run %s: %s declares no benchmark matching %q", r.ID, r.Pkg, r.Bench)
		}
	}
	for _, r := range runs {
		if !used[r.ID] {
			t.Errorf("run %s feeds no row", r.ID)
		}
		if r.Timeout <= 0 || r.About == "" {
			t.Errorf("run %s has no timeout or no description", r.ID)
		}
	}
}

// testSources is the text of a package's _test.go files plus
// internal/loadavg (which reports the load metrics).
func testSources(t *testing.T, pkg string) string {
	t.Helper()
	var b strings.Builder
	for _, pattern := range []string{filepath.Join("..", "..", pkg, "*_test.go"), filepath.Join("..", "..", "internal", "loadavg", "loadavg.go")} {
		files, err := filepath.Glob(pattern)
		if err != nil || len(files) == 0 {
			t.Fatalf("no files %s", pattern)
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(raw)
		}
	}
	return b.String()
}

func TestSelectRows(t *testing.T) {
	sel, rs, err := selectRows([]string{"webhook-pause", " webhook-allow", "fn-rate"})
	if err != nil {
		t.Fatal(err)
	}
	var ids, runIDs []string
	for _, r := range sel {
		ids = append(ids, r.ID)
	}
	for _, r := range rs {
		runIDs = append(runIDs, r.ID)
	}
	if strings.Join(ids, ",") != "fn-rate,webhook-allow,webhook-pause" || strings.Join(runIDs, ",") != "fn,webhook-allow" {
		t.Errorf("rows %v, runs %v", ids, runIDs)
	}
	if _, _, err := selectRows([]string{"fn-rate", "nope"}); err == nil || !strings.Contains(err.Error(), `unknown row "nope"`) {
		t.Errorf("an unknown row: got %v", err)
	}
	all, allRuns, err := selectRows(nil)
	if err != nil || len(all) != len(rows) || len(allRuns) != len(runs) {
		t.Errorf("every row: %d rows, %d runs, %v", len(all), len(allRuns), err)
	}
}

func TestMachineParsers(t *testing.T) {
	if got := cpuModel("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nprocessor\t: 1\nmodel name\t: other\n"); got != "Intel(R) Xeon(R) CPU @ 2.20GHz" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := cpuModel("processor : 0\n"); got != "" {
		t.Errorf("cpuModel without a model = %q", got)
	}
	if got := memTotal("MemTotal:        8130636 kB\nMemFree:          123 kB\n"); got != 8130636*1024 {
		t.Errorf("memTotal = %d", got)
	}
	if got := memTotal("MemFree: 1 kB\n"); got != 0 {
		t.Errorf("memTotal without MemTotal = %d", got)
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"(cd", "./webhook", "&&", "$BIN/webhook.test", "-test.run", "^$", "-test.bench", "^BenchmarkX$/^100Machines$", "it's"})
	want := `(cd ./webhook && $BIN/webhook.test -test.run '^$' -test.bench '^BenchmarkX$/^100Machines$' 'it'\''s'`
	if got != want {
		t.Errorf("shellJoin = %s\nwant        %s", got, want)
	}
}

package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBenchRunFakeBinary drives benchRun with a script standing in for a
// test binary: the flags it is given, its directory, samples parsed from
// its output with the process's load average, and a binary that exits
// non-zero without a FAIL line still failing the row.
func TestBenchRunFakeBinary(t *testing.T) {
	repo, logs := t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(logs, "pkg.test")
	script := "#!/bin/sh\npwd > args.txt\necho \"$@\" >> args.txt\n" +
		"printf 'BenchmarkX-2 \\t 1\\t 5 ns/op\\t 0.5 p99-ms\\t 2 s-a\\n'\n" +
		"echo 'panic: boom' >&2\necho 'goroutine 1 [running]:' >&2\nexit 2\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r := Run{ID: "x", Pkg: "./pkg", Bench: "^BenchmarkX$", Timeout: 3 * time.Minute}
	row := Row{ID: "x-p99", Run: "x", Metric: "p99-ms", A: "s-a", Target: Target{Op: AtMost, Value: 1, Unit: "ms"}, MinSamples: 1}
	got, line, err := benchRun(context.Background(), r, 2, repo, bin, logs, []Row{row})
	if err != nil {
		t.Fatal(err)
	}
	args, err := os.ReadFile(filepath.Join(repo, "pkg", "args.txt"))
	if err != nil {
		t.Fatalf("the binary did not run in its package's directory: %v", err)
	}
	if want := "-test.run ^$ -test.bench ^BenchmarkX$ -test.benchtime 1x -test.count 2 -test.timeout 3m0s"; !strings.Contains(string(args), want) {
		t.Errorf("the binary got %q, want %q", args, want)
	}
	if want := "(cd ./pkg && $BIN/pkg.test -test.run '^$' -test.bench '^BenchmarkX$' -test.benchtime 1x -test.count 2 -test.timeout 3m0s)"; line != want {
		t.Errorf("command line %q, want %q", line, want)
	}
	ss := got["x-p99"]
	if len(ss) != 2 {
		t.Fatalf("got %d samples, want the result and the exit: %+v", len(ss), ss)
	}
	if ss[0].Failed || ss[0].Value != 0.5 || ss[0].A != 2 || ss[0].LoadBefore < 0 {
		t.Errorf("sample 1 = %+v", ss[0])
	}
	if !ss[1].Failed || !strings.Contains(ss[1].Message, "exit status 2") || !strings.Contains(ss[1].Message, "panic: boom") {
		t.Errorf("sample 2 = %+v, want the exit with the binary's last output", ss[1])
	}
	if s := Summarize(ss, row.Target, row.MinSamples); s.Met {
		t.Error("a row whose binary died is met")
	}
}

func TestTimeCommand(t *testing.T) {
	logs := t.TempDir()
	r := Run{ID: "c", Command: []string{"sh", "-c", "echo out; test -e fail && exit 3; touch fail"}, Timeout: time.Minute}
	row := Row{ID: "c", Run: "c", Target: Target{Op: AtMost, Value: 60, Unit: "s"}, MinSamples: 2}
	repo := t.TempDir()
	got, line, err := timeCommand(context.Background(), r, 2, repo, logs, []Row{row})
	if err != nil {
		t.Fatal(err)
	}
	ss := got["c"]
	if len(ss) != 2 || ss[0].Failed || ss[0].Value <= 0 || ss[0].Value > 60 || !ss[1].Failed || !strings.Contains(ss[1].Message, "exit status 3") {
		t.Fatalf("samples %+v: want a timed run, then the failing one", ss)
	}
	if !strings.Contains(line, "# 2 times, each timed") {
		t.Errorf("command line %q", line)
	}
}

// TestSmoke runs one cheap row end to end: builds the webhook package's
// test binary, runs BenchmarkTargetGuardDecision twice, and checks the
// Markdown it writes.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the webhook package's test binary; skipped with -short")
	}
	out := filepath.Join(t.TempDir(), "performance.md")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err := run(ctx, options{Repo: filepath.Join("..", ".."), Out: out, Rows: []string{"guard-decision"}, Quick: true, Logs: t.TempDir(),
		Args: []string{"-rows=guard-decision", "-quick=true"}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(raw)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile("(?m)^> \\*\\*Smoke run\\*\\* \\(`-quick`\\)"),
		regexp.MustCompile("Generated \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC by `go run ./hack/benchreport -rows=guard-decision -quick=true` in \\S+ at commit `([0-9a-f]{12}|unknown)`"),
		regexp.MustCompile(`Machine: \d+ CPUs \(nproc\), .+, [\d.]+ GiB memory, go1\.`),
		regexp.MustCompile(`(?m)^\| target guard \| decision p99 \(worst of the three outcomes\) \| ≤ 1 ms \| [\d.]+ ms \| [\d.]+ ms – [\d.]+ ms \| 2 \| [\d.]+ – [\d.]+ \| not shown \|$`),
		regexp.MustCompile(`\*\*Not shown\*\*: 2 of the 5 samples a verdict needs\.`),
		regexp.MustCompile(`(?m)^\| 1 \| [\d.]+ ms \| [\d.]+ \| [\d.]+ \|$`),
		regexp.MustCompile(`(?m)^\| 2 \| [\d.]+ ms \| [\d.]+ \| [\d.]+ \|$`),
		regexp.MustCompile(`(?m)^go test -c -o \$BIN/webhook\.test \./webhook$`),
		regexp.MustCompile(`(?m)^\(cd \./webhook && \$BIN/webhook\.test -test\.run '\^\$' -test\.bench '\^BenchmarkTargetGuardDecision\$' -test\.benchtime 1x -test\.count 2 -test\.timeout 30m0s\)$`),
	} {
		if !want.MatchString(md) {
			t.Errorf("the report does not match %s:\n%s", want, md)
		}
	}
}

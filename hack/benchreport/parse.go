package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Result is one line of `go test -bench` output: one sample of one
// benchmark, or its failure.
type Result struct {
	// Name without the -GOMAXPROCS suffix, e.g. "BenchmarkLabPair/test-mode".
	Name    string
	Metrics map[string]float64
	Failed  bool
	Message string
}

var (
	// "BenchmarkX/sub-2   	       1	 123 ns/op	  0.23 p99-ms ..."; a failure
	// follows the name the framework printed before running it:
	// "BenchmarkX-2   	--- FAIL: BenchmarkX-2".
	resultLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(\S+ ns/op.*)$`)
	failLine   = regexp.MustCompile(`--- FAIL: (Benchmark\S+?)(?:-\d+)?\s*$`)
)

// ParseBench reads `go test -bench` output and returns its results in
// order. A failure's message is the indented output that follows its
// "--- FAIL" line.
func ParseBench(r io.Reader) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	failing := -1 // index in out of the failure collecting its message
	for sc.Scan() {
		line := sc.Text()
		if failing >= 0 {
			if strings.HasPrefix(line, "    ") {
				msg := strings.TrimSpace(line)
				if out[failing].Message == "" {
					out[failing].Message = msg
				} else if len(out[failing].Message) < 400 {
					out[failing].Message += " " + msg
				}
				continue
			}
			failing = -1
		}
		if m := failLine.FindStringSubmatch(line); m != nil {
			out = append(out, Result{Name: m[1], Failed: true})
			failing = len(out) - 1
			continue
		}
		m := resultLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		metrics, err := parseMetrics(m[3])
		if err != nil {
			return nil, fmt.Errorf("parsing the result of %s: %w", m[1], err)
		}
		out = append(out, Result{Name: m[1], Metrics: metrics})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading benchmark output: %w", err)
	}
	return out, nil
}

// parseMetrics reads "123 ns/op\t0.23 p99-ms\t..." into unit → value.
func parseMetrics(s string) (map[string]float64, error) {
	f := strings.Fields(s)
	if len(f)%2 != 0 {
		return nil, fmt.Errorf("%q is not value-unit pairs", s)
	}
	out := make(map[string]float64, len(f)/2)
	for i := 0; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", f[i+1], err)
		}
		out[f[i+1]] = v
	}
	return out, nil
}

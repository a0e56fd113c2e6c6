// Package loadavg reads the machine's load average. Benchmarks report it
// with every sample (before and after), so a figure can be judged by how
// busy the shared machine was while it was taken; hack/benchreport reads it
// around the commands it times itself.
package loadavg

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Path is where Linux publishes the load average.
const Path = "/proc/loadavg"

// Read returns the 1-minute load average.
func Read() (float64, error) {
	raw, err := os.ReadFile(Path)
	if err != nil {
		return 0, fmt.Errorf("reading the load average: %w", err)
	}
	return Parse(string(raw))
}

// Parse returns the 1-minute load average of /proc/loadavg's content
// ("0.52 0.58 0.59 1/467 12345").
func Parse(s string) (float64, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return 0, fmt.Errorf("parsing the load average %q: empty", s)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0, fmt.Errorf("parsing the load average %q: %w", s, err)
	}
	return v, nil
}

// Sample reads the load average now and returns a function that reports
// it, and the load average at the time of that call, as the metrics
// "load-before" and "load-after" of b. Call Sample where the timed part of
// an iteration starts and the returned function where it ends. Without a
// load average (not Linux) nothing is reported.
func Sample(b *testing.B) func() {
	before, err := Read()
	return func() {
		after, err2 := Read()
		if err != nil || err2 != nil {
			return
		}
		b.ReportMetric(before, "load-before")
		b.ReportMetric(after, "load-after")
	}
}

package main

import (
	"math"
	"strings"
	"testing"
)

func vals(vs ...float64) []Sample {
	out := make([]Sample, len(vs))
	for i, v := range vs {
		out[i] = Sample{Value: v, LoadBefore: 1 + float64(i), LoadAfter: 2 + float64(i), A: math.NaN(), B: math.NaN()}
	}
	return out
}

func TestSummarize(t *testing.T) {
	atMost := Target{Op: AtMost, Value: 1.2, Unit: "×"}
	atLeast := Target{Op: AtLeast, Value: 200, Unit: "/s"}
	failed := append(vals(1.0, 1.1, 1.0, 1.1), Sample{Failed: true, Message: "boom", LoadBefore: math.NaN(), LoadAfter: 9})
	for _, c := range []struct {
		name        string
		samples     []Sample
		target      Target
		min         int
		met         bool
		reason      string
		median      float64
		lo, hi      float64
		loadLo, hi2 float64
	}{
		{"all under", vals(1.1, 1.0, 1.15, 1.05, 1.2), atMost, 5, true, "", 1.1, 1.0, 1.2, 1, 6},
		{"the bound itself meets", vals(1.2, 1.2, 1.2, 1.2, 1.2), atMost, 5, true, "", 1.2, 1.2, 1.2, 1, 6},
		{"median over", vals(1.3, 1.25, 1.1, 1.3, 1.0), atMost, 5, false, "median 1.25×, target ≤ 1.2×", 1.25, 1.0, 1.3, 1, 6},
		{"median under, spread over", vals(1.1, 1.0, 1.25, 1.05, 1.1), atMost, 5, false, "max 1.25×, target ≤ 1.2×", 1.1, 1.0, 1.25, 1, 6},
		{"too few", vals(1.0, 1.0), atMost, 5, false, "2 of the 5 samples a verdict needs", 1.0, 1.0, 1.0, 1, 3},
		{"three suffice where the row says so", vals(1.0, 1.1, 1.2), atMost, 3, true, "", 1.1, 1.0, 1.2, 1, 4},
		{"a failure", failed, atMost, 5, false, "1 of 5 samples failed: boom", 1.05, 1.0, 1.1, 1, 9},
		{"at least: all over", vals(200, 201, 200, 250, 200), atLeast, 5, true, "", 200, 200, 250, 1, 6},
		{"at least: min under", vals(200, 199.9, 200, 250, 200), atLeast, 5, false, "min 200/s, target ≥ 200/s", 200, 199.9, 250, 1, 6},
		{"even count: mean of the middle two", vals(1.0, 1.1, 1.2, 1.3, 0.9, 1.0), atMost, 5, false, "max 1.30×, target ≤ 1.2×", 1.05, 0.9, 1.3, 1, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := Summarize(c.samples, c.target, c.min)
			if s.Met != c.met || s.Reason != c.reason {
				t.Errorf("met %v, reason %q; want %v, %q", s.Met, s.Reason, c.met, c.reason)
			}
			if !near(s.Median, c.median) || !near(s.Min, c.lo) || !near(s.Max, c.hi) {
				t.Errorf("median %v, spread %v–%v; want %v, %v–%v", s.Median, s.Min, s.Max, c.median, c.lo, c.hi)
			}
			if s.LoadMin != c.loadLo || s.LoadMax != c.hi2 {
				t.Errorf("load %v–%v, want %v–%v", s.LoadMin, s.LoadMax, c.loadLo, c.hi2)
			}
			if s.N != len(c.samples) {
				t.Errorf("N = %d, want %d", s.N, len(c.samples))
			}
		})
	}
}

func TestSummarizeNoSamples(t *testing.T) {
	s := Summarize(nil, Target{Op: AtMost, Value: 1}, 5)
	if s.Met || !math.IsNaN(s.Median) || !math.IsNaN(s.LoadMin) || !strings.Contains(s.Reason, "0 of the 5") {
		t.Errorf("got %+v", s)
	}
}

func TestSummarizePairMedians(t *testing.T) {
	ss := []Sample{{Value: 1.1, A: 10, B: 11}, {Value: 1.2, A: 20, B: 24}, {Value: 1.0, A: 30, B: 30}}
	s := Summarize(ss, Target{Op: AtMost, Value: 2, Unit: "×"}, 3)
	if s.MedianA != 20 || s.MedianB != 24 || !s.Met {
		t.Errorf("got %+v", s)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 || (math.IsNaN(a) && math.IsNaN(b)) }

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{1.0849, "×", "1.08×"},
		{0.054, "ms", "0.0540 ms"},
		{0.23, "ms", "0.230 ms"},
		{1.56, "ms", "1.56 ms"},
		{69.12, "s", "69.1 s"},
		{261, "ms", "261 ms"},
		{5988.4, "/s", "5,988/s"},
		{1234567, "", "1,234,567"},
		{19200, "B", "19.2 KB"},
		{0, "ms", "0.00 ms"},
		{-1.5, "ms", "-1.50 ms"},
		{math.NaN(), "ms", "–"},
	} {
		if got := formatValue(c.v, c.unit); got != c.want {
			t.Errorf("formatValue(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
	for _, c := range []struct {
		t    Target
		want string
	}{
		{Target{AtMost, 1.3, "×"}, "≤ 1.3×"},
		{Target{AtLeast, 5000, "/s"}, "≥ 5,000/s"},
		{Target{AtMost, 60000, "B"}, "≤ 60 KB"},
		{Target{AtMost, 1, "ms"}, "≤ 1 ms"},
		{Target{AtMost, 240, "s"}, "≤ 240 s"},
	} {
		if got := c.t.String(); got != c.want {
			t.Errorf("%+v = %q, want %q", c.t, got, c.want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
}

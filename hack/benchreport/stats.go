package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Op is the direction of a target.
type Op int

const (
	// AtMost: a value meets the target when it is ≤ Value.
	AtMost Op = iota
	// AtLeast: a value meets the target when it is ≥ Value.
	AtLeast
)

// Target is what a row's figure must stay on the right side of.
type Target struct {
	Op    Op
	Value float64
	// Unit is how values print: "×", "ms", "s", "/s" or "B" (as KB).
	Unit string
}

// Meets reports whether v is on the right side of t (the bound included).
func (t Target) Meets(v float64) bool {
	if t.Op == AtLeast {
		return v >= t.Value
	}
	return v <= t.Value
}

func (t Target) String() string {
	op := "≤"
	if t.Op == AtLeast {
		op = "≥"
	}
	v := strconv.FormatFloat(t.Value, 'f', -1, 64)
	if t.Unit == "B" {
		v = strconv.FormatFloat(t.Value/1000, 'f', -1, 64)
	} else if t.Value >= 1000 && t.Value == math.Trunc(t.Value) {
		v = thousands(int64(t.Value))
	}
	switch t.Unit {
	case "×", "/s":
		return op + " " + v + t.Unit
	case "B":
		return op + " " + v + " KB"
	}
	return op + " " + v + " " + t.Unit
}

// Sample is one measurement of a row: a value or a failure, with the load
// average around it (NaN when unknown).
type Sample struct {
	Value                 float64
	Failed                bool
	Message               string
	LoadBefore, LoadAfter float64
	// A and B are the pair's two sides (NaN when the row has none).
	A, B float64
}

// Summary is a row's statistics and verdict over its samples.
type Summary struct {
	N, Failed        int
	Median, Min, Max float64 // over the samples that did not fail
	LoadMin, LoadMax float64 // NaN when no sample knows its load
	MedianA, MedianB float64 // NaN when the row has no pair
	Met              bool
	// Reason says why a row is not shown (empty when met).
	Reason string
}

// Summarize computes the median, the min–max spread and the verdict: met
// only when at least minSamples samples ran, none failed, and the median
// and the whole spread meet the target.
func Summarize(samples []Sample, t Target, minSamples int) Summary {
	s := Summary{N: len(samples), LoadMin: math.NaN(), LoadMax: math.NaN(), Median: math.NaN(), Min: math.NaN(), Max: math.NaN(),
		MedianA: math.NaN(), MedianB: math.NaN()}
	var vals, as, bs []float64
	var firstFail string
	for _, x := range samples {
		for _, l := range []float64{x.LoadBefore, x.LoadAfter} {
			if !math.IsNaN(l) {
				s.LoadMin = nanMin(s.LoadMin, l)
				s.LoadMax = nanMax(s.LoadMax, l)
			}
		}
		if x.Failed {
			s.Failed++
			if firstFail == "" {
				firstFail = x.Message
			}
			continue
		}
		vals = append(vals, x.Value)
		if !math.IsNaN(x.A) {
			as = append(as, x.A)
		}
		if !math.IsNaN(x.B) {
			bs = append(bs, x.B)
		}
	}
	if len(vals) > 0 {
		s.Median, s.Min, s.Max = Median(vals), slices.Min(vals), slices.Max(vals)
	}
	if len(as) > 0 {
		s.MedianA = Median(as)
	}
	if len(bs) > 0 {
		s.MedianB = Median(bs)
	}
	worst, worstName := s.Max, "max"
	if t.Op == AtLeast {
		worst, worstName = s.Min, "min"
	}
	switch {
	case s.Failed > 0:
		s.Reason = fmt.Sprintf("%d of %d samples failed: %s", s.Failed, s.N, firstFail)
	case s.N < minSamples:
		s.Reason = fmt.Sprintf("%d of the %d samples a verdict needs", s.N, minSamples)
	case !t.Meets(s.Median):
		s.Reason = fmt.Sprintf("median %s, target %s", formatValue(s.Median, t.Unit), t)
	case !t.Meets(worst):
		s.Reason = fmt.Sprintf("%s %s, target %s", worstName, formatValue(worst, t.Unit), t)
	default:
		s.Met = true
	}
	return s
}

// Median of vs (the mean of the middle two for an even count); NaN for none.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(vs))
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func nanMin(a, b float64) float64 {
	if math.IsNaN(a) || b < a {
		return b
	}
	return a
}

func nanMax(a, b float64) float64 {
	if math.IsNaN(a) || b > a {
		return b
	}
	return a
}

// formatValue prints v in unit: "1.08×", "0.23 ms", "69.1 s", "5,988/s",
// "19.2 KB" (unit "B"); "–" for NaN.
func formatValue(v float64, unit string) string {
	if math.IsNaN(v) {
		return "–"
	}
	switch unit {
	case "×":
		return strconv.FormatFloat(v, 'f', 2, 64) + "×"
	case "/s":
		return formatNumber(v) + "/s"
	case "B":
		return formatNumber(v/1000) + " KB"
	case "":
		return formatNumber(v)
	}
	return formatNumber(v) + " " + unit
}

// formatNumber prints about three significant digits, thousands with
// separators: 12,345 / 123 / 12.3 / 1.23 / 0.123 / 0.0123.
func formatNumber(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1000:
		return thousands(int64(math.Round(v)))
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1 || a == 0:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	// Below 1: three significant digits.
	digits := max(2-int(math.Floor(math.Log10(a))), 2)
	return strconv.FormatFloat(v, 'f', digits, 64)
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

package main

import (
	"fmt"
	"math"
)

// RowSamples picks a row's samples out of its run's benchmark results: the
// row's metric of each result, in order, with the load average each
// result reported. When the run has several benchmarks and the row takes
// the worst, sample i is the worst of every benchmark's sample i.
func RowSamples(row Row, results []Result) []Sample {
	var names []string
	byName := map[string][]Result{}
	for _, r := range results {
		if _, ok := byName[r.Name]; !ok {
			names = append(names, r.Name)
		}
		byName[r.Name] = append(byName[r.Name], r)
	}
	var out []Sample
	if !row.Worst {
		for _, n := range names {
			for _, r := range byName[n] {
				out = append(out, sampleOf(row, r))
			}
		}
		return out
	}
	for i := 0; ; i++ {
		var s *Sample
		for _, n := range names {
			if i >= len(byName[n]) {
				continue
			}
			x := sampleOf(row, byName[n][i])
			if s == nil {
				s = &x
				continue
			}
			s.LoadBefore, s.LoadAfter = nanMin(s.LoadBefore, x.LoadBefore), nanMax(s.LoadAfter, x.LoadAfter)
			switch {
			case s.Failed:
			case x.Failed:
				*s = Sample{Failed: true, Message: x.Message, LoadBefore: s.LoadBefore, LoadAfter: s.LoadAfter, A: math.NaN(), B: math.NaN()}
			case row.Target.Op == AtMost && x.Value > s.Value,
				row.Target.Op == AtLeast && x.Value < s.Value:
				s.Value = x.Value
			}
		}
		if s == nil {
			return out
		}
		out = append(out, *s)
	}
}

func sampleOf(row Row, r Result) Sample {
	s := Sample{LoadBefore: metric(r, "load-before"), LoadAfter: metric(r, "load-after"), A: math.NaN(), B: math.NaN()}
	if r.Failed {
		s.Failed, s.Message = true, r.Name+": "+r.Message
		return s
	}
	v, ok := r.Metrics[row.Metric]
	if !ok {
		s.Failed, s.Message = true, fmt.Sprintf("%s reported no metric %q", r.Name, row.Metric)
		return s
	}
	s.Value = v
	if row.A != "" {
		s.A = metric(r, row.A)
	}
	if row.B != "" {
		s.B = metric(r, row.B)
	}
	return s
}

func metric(r Result, unit string) float64 {
	if v, ok := r.Metrics[unit]; ok {
		return v
	}
	return math.NaN()
}

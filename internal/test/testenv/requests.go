package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// Requests counts the requests an API server has served, by verb (GET,
// LIST, PATCH, ...), from its apiserver_request_total metric. Benchmarks
// take it before and after a step to see how many round trips it made.
type Requests map[string]float64

// Sub is r - before, verb by verb.
func (r Requests) Sub(before Requests) Requests {
	out := Requests{}
	for v, n := range r {
		if d := n - before[v]; d != 0 {
			out[v] = d
		}
	}
	return out
}

// Total is the sum over verbs.
func (r Requests) Total() float64 {
	t := 0.0
	for _, n := range r {
		t += n
	}
	return t
}

// RequestCount reads c's apiserver_request_total, summed per verb.
func (c *Cluster) RequestCount(ctx context.Context) (Requests, error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	raw, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading %s's metrics: %w", c.Name, err)
	}
	return parseRequestTotal(raw)
}

// parseRequestTotal sums apiserver_request_total samples by their verb label.
func parseRequestTotal(raw []byte) (Requests, error) {
	out := Requests{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		labels, ok := strings.CutPrefix(line, "apiserver_request_total{")
		if !ok {
			continue
		}
		end := strings.LastIndex(labels, "} ")
		if end < 0 {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(labels[end+2:]), 64)
		if err != nil {
			return nil, fmt.Errorf("apiserver_request_total sample %q: %w", line, err)
		}
		verb := "?"
		for kv := range strings.SplitSeq(labels[:end], ",") {
			if v, ok := strings.CutPrefix(kv, `verb="`); ok {
				verb = strings.TrimSuffix(v, `"`)
			}
		}
		out[verb] += n
	}
	return out, sc.Err()
}

// PhaseCounter attributes the requests of the given clusters to the phase
// that was running (its OnPhase is a move.Options.OnPhase hook). A failed
// metrics read is recorded, not fatal: the counts are for profiling.
type PhaseCounter struct {
	ctx      context.Context
	clusters []*Cluster
	phase    string
	last     Requests
	order    []string
	byPhase  map[string]Requests
	Err      error
}

// NewPhaseCounter starts counting now.
func NewPhaseCounter(ctx context.Context, clusters ...*Cluster) *PhaseCounter {
	p := &PhaseCounter{ctx: ctx, clusters: clusters, byPhase: map[string]Requests{}}
	p.last = p.read()
	return p
}

func (p *PhaseCounter) read() Requests {
	sum := Requests{}
	for _, c := range p.clusters {
		r, err := c.RequestCount(p.ctx)
		if err != nil {
			p.Err = err
			continue
		}
		for v, n := range r {
			sum[v] += n
		}
	}
	return sum
}

// OnPhase closes the running phase and opens the named one.
func (p *PhaseCounter) OnPhase(name string) {
	now := p.read()
	if p.phase != "" {
		p.byPhase[p.phase] = now.Sub(p.last)
	}
	p.phase, p.last = name, now
	p.order = append(p.order, name)
}

// Done closes the last phase and returns the requests per phase, in the
// order the phases ran.
func (p *PhaseCounter) Done() ([]string, map[string]Requests) {
	p.OnPhase("")
	return p.order[:len(p.order)-1], p.byPhase
}

package scenario

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/lab"
)

// HostReport is what happened to one host after a HostWatch began.
type HostReport struct {
	Host string
	// Role is "node of <cluster>" (the host has a consumer) or "spare".
	Role string
	// Journey is the BMO provisioning states seen in the target, in order
	// ("" is a host with no status yet).
	Journey []string
	// Writes are the BMC writes to the host's BMC (logins left out) by
	// Ironic name ("bootstrap", "target").
	Writes map[string][]lab.BMCWrite
	// NodeStates are the provision states of the host's node in the
	// target's Ironic, in the order seen; Errors the ERROR entries of that
	// node's history.
	NodeStates []string
	Errors     []string
	// Disturbed: any BMC write, a node state off AdoptionPath, or a BMO
	// state other than the host's state when the watch began. Why has one
	// short phrase per reason.
	Disturbed bool
	Why       []string
}

func (r HostReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): BMO %s", r.Host, r.Role, arrows(r.Journey, "(none)"))
	fmt.Fprintf(&b, "; target Ironic node %s", arrows(r.NodeStates, "(not seen)"))
	for _, name := range slices.Sorted(maps.Keys(r.Writes)) {
		fmt.Fprintf(&b, "; %d BMC write(s) by Ironic %s", len(r.Writes[name]), name)
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(&b, "; errors: %s", strings.Join(r.Errors, " | "))
	}
	if r.Disturbed {
		fmt.Fprintf(&b, "; DISTURBED: %s", strings.Join(r.Why, "; "))
	}
	return b.String()
}

func arrows(states []string, none string) string {
	if len(states) == 0 {
		return none
	}
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = cmp.Or(s, "(new)")
	}
	return strings.Join(out, " → ")
}

// HostReports are the reports of a namespace's hosts, sorted by name.
type HostReports []HostReport

// Disturbed returns the names of the disturbed hosts.
func (r HostReports) Disturbed() []string {
	var out []string
	for _, h := range r {
		if h.Disturbed {
			out = append(out, h.Host)
		}
	}
	return out
}

// WritesBy is the number of BMC writes by the Ironic called ironic.
func (r HostReports) WritesBy(ironic string) int {
	n := 0
	for _, h := range r {
		n += len(h.Writes[ironic])
	}
	return n
}

// WatchRecord is everything a HostWatch recorded: the input of Judge.
type WatchRecord struct {
	Namespace string
	// Begin is when the watch began: writes before it are not counted.
	Begin time.Time
	// Before is each host's BMO state when the watch began (in the
	// source, else in the target), Roles each host's role.
	Before map[string]bmov1alpha1.ProvisioningState
	Roles  map[string]string
	// Journeys are BMO's states per host in the target (Recorder.States).
	Journeys map[string][]bmov1alpha1.ProvisioningState
	// Writes are the emulator's BMC writes (any host, any time).
	Writes []lab.BMCWrite
	// NodeStates and Errors are per node name (NodeName) of the target's
	// Ironic.
	NodeStates map[string][]string
	Errors     map[string][]string
}

// Judge reports on every host of the record: a pure function of it.
func Judge(r WatchRecord) HostReports {
	hosts := map[string]bool{}
	for h := range r.Before {
		hosts[h] = true
	}
	for h := range r.Journeys {
		hosts[h] = true
	}
	var out HostReports
	for _, host := range slices.Sorted(maps.Keys(hosts)) {
		rep := HostReport{Host: host, Role: cmp.Or(r.Roles[host], "spare"), Writes: map[string][]lab.BMCWrite{}}
		for _, s := range r.Journeys[host] {
			rep.Journey = append(rep.Journey, string(s))
		}
		node := NodeName(r.Namespace, host)
		rep.NodeStates = slices.Clone(r.NodeStates[node])
		rep.Errors = slices.Clone(r.Errors[node])
		for _, w := range r.Writes {
			if w.Host == BMCHost(r.Namespace, host) && w.Kind != lab.BMCSession && !w.Time.Before(r.Begin) {
				rep.Writes[w.Ironic] = append(rep.Writes[w.Ironic], w)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(rep.Writes)) {
			var kinds []string
			for _, w := range rep.Writes[name] {
				kinds = append(kinds, w.Kind)
			}
			rep.Why = append(rep.Why, fmt.Sprintf("%d BMC write(s) by Ironic %s (%s)", len(kinds), name, strings.Join(kinds, ", ")))
		}
		if len(rep.NodeStates) > 0 && !OnAdoptionPath(rep.NodeStates) {
			rep.Why = append(rep.Why, "target Ironic node went "+arrows(rep.NodeStates, ""))
		}
		want, known := r.Before[host]
		for _, s := range r.Journeys[host] {
			if s == "" {
				continue
			}
			if !known {
				// Not seen before the watch: its first state is the baseline.
				want, known = s, true
			}
			if s != want {
				rep.Why = append(rep.Why, fmt.Sprintf("BMO state %s → %s", cmp.Or(string(want), "(new)"), s))
				break
			}
		}
		rep.Disturbed = len(rep.Why) > 0
		out = append(out, rep)
	}
	return out
}

// OnAdoptionPath reports whether the states seen are, in order, a part of
// ironic.AdoptionPath (a poll can miss a short state, never reorder them)
// and at least one was seen.
func OnAdoptionPath(seen []string) bool {
	return len(seen) > 0 && ironic.OnPath(seen, ironic.AdoptionPath)
}

// HostWatch records, from its start, what happens to the hosts of one
// namespace: BMO's states in the target, every BMC write, the target
// Ironic's node states; Stop adds the nodes' ERROR history.
type HostWatch struct {
	ns     string
	begin  time.Time
	emu    *lab.BMCEmulator
	ironic *lab.IronicClient
	rec    *Recorder
	before map[string]bmov1alpha1.ProvisioningState
	roles  map[string]string
	nodes  *NodePoll

	mu   sync.Mutex
	errs map[string][]string
	err  error
	once sync.Once
}

// Watch starts a HostWatch of namespace ns for a move into the target:
// each host's state and role now (in the bootstrap, else in the target) is
// its baseline.
func (p *IronicPair) Watch(ctx context.Context, ns string) (*HostWatch, error) {
	return p.WatchIn(ctx, ns, p.Target)
}

func role(h *bmov1alpha1.BareMetalHost) string {
	if h.Spec.ConsumerRef == nil {
		return "spare"
	}
	if c := h.Labels[fixture.ClusterLabel]; c != "" {
		return "node of " + c
	}
	return "node of " + h.Spec.ConsumerRef.Kind + " " + h.Spec.ConsumerRef.Name
}

// Stop ends the watch and reads each node's ERROR history from the
// target's Ironic; it returns what went wrong on the way.
func (w *HostWatch) Stop() error {
	w.once.Do(func() {
		w.nodes.Stop()
		errs := []error{w.rec.Stop()}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, node := range w.nodes.Nodes() {
			history, err := w.ironic.History(ctx, node)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading the history of node %s: %w", node, err))
				continue
			}
			for _, e := range history {
				if e.Severity == "ERROR" {
					w.mu.Lock()
					w.errs[node] = append(w.errs[node], e.EventType+": "+e.Event)
					w.mu.Unlock()
				}
			}
		}
		w.err = errors.Join(errs...)
	})
	return w.err
}

// Record is what the watch recorded so far.
func (w *HostWatch) Record() WatchRecord {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := WatchRecord{
		Namespace: w.ns, Begin: w.begin, Before: w.before, Roles: w.roles,
		Journeys: w.rec.States(), Writes: w.emu.Recorder.Writes(nil),
		NodeStates: map[string][]string{}, Errors: map[string][]string{},
	}
	maps.Copy(r.NodeStates, w.nodes.States())
	for k, v := range w.errs {
		r.Errors[k] = slices.Clone(v)
	}
	return r
}

// Report judges what was recorded (see Judge).
func (w *HostWatch) Report() HostReports { return Judge(w.Record()) }

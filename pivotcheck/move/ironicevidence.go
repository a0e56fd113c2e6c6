package move

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

// The target's Ironic as evidence (--wait-for-hosts with --ironic-url).
//
// BMO's view of a host lags behind its Ironic node and can look clean
// while Ironic has already refused the host (see DefaultHostSettle). With
// the target's Ironic API at hand, a host BMO adopts (provisioned or
// externally provisioned before the move) counts adopted only when, in
// that Ironic, its node (BMO names it namespace~name):
//
//   - is active and idle, having gone only enroll → verifying → manageable
//     → adopting → active (the provision states seen while polling, in
//     that order; a poll may miss a state, never reorder them);
//   - has no ERROR entry in its history since the move began;
//   - shows no sign this Ironic deployed it. Ironic 39 leaves after a
//     deploy a deploy_steps key in driver_internal_info (set to null by
//     wipe_deploy_internal_info), agent_* keys after an agent's
//     heartbeats, and deployment_start/deployment_end history entries;
//     an adoption leaves none of them (tried against the lab's Ironic).
//
// A node in adopt failed, or stuck idle in enroll or manageable with a
// last_error, or in any state off that path, was not adopted: the wait
// names the host with Ironic's own reason. Hosts BMO only registers
// (available ones) must reach manageable or available without a failed
// state; hosts BMO never registers (no BMC, detached) need no node.

// registrationPath is the way a host BMO registers without adopting goes.
var registrationPath = []string{"enroll", "verifying", "manageable", "cleaning", "clean wait", "available"}

// deployTraces are the driver_internal_info keys a deploy by this Ironic
// leaves behind and an adoption does not.
var deployTraces = []string{"deploy_steps", "deploy_step_index", "agent_last_heartbeat", "agent_url", "agent_version", "agent_secret_token"}

// IronicEvidence is what the target's Ironic showed of one host's node
// (pivotcheck-report.json).
type IronicEvidence struct {
	Node           string   `json:"node"`
	ProvisionState string   `json:"provisionState,omitempty"`
	StatesSeen     []string `json:"statesSeen,omitempty"`
	LastError      string   `json:"lastError,omitempty"`
	// HistoryErrors are the ERROR entries of the node's history since the
	// move began; DeployTraces the signs this Ironic deployed the node.
	HistoryErrors []string `json:"historyErrors,omitempty"`
	DeployTraces  []string `json:"deployTraces,omitempty"`
}

// HostEvidence is the outcome of --wait-for-hosts for one host.
type HostEvidence struct {
	Name    string `json:"name"`
	Adopted bool   `json:"adopted"`
	// Evidence is "bmo" (BMO's view alone) or "bmo+ironic".
	Evidence string `json:"evidence"`
	// BMO is BMO's view of the host when the wait ended.
	BMO    string          `json:"bmo,omitempty"`
	Failed string          `json:"failed,omitempty"`
	Ironic *IronicEvidence `json:"ironic,omitempty"`
}

// Evidence values.
const (
	EvidenceBMO       = "bmo"
	EvidenceBMOIronic = "bmo+ironic"
)

// nodeExpectation is what Ironic must show for a host, from its pre-move status.
type nodeExpectation int

const (
	expectNoNode   nodeExpectation = iota // BMO does not register it
	expectAdopted                         // BMO adopts it
	expectRegister                        // BMO registers it, nothing more
)

func expectationOf(h *bmov1alpha1.BareMetalHost, before bmov1alpha1.BareMetalHostStatus) nodeExpectation {
	switch {
	case !h.HasBMCDetails() || before.Provisioning.State == bmov1alpha1.StateUnmanaged,
		before.OperationalStatus == bmov1alpha1.OperationalStatusDetached:
		return expectNoNode
	case before.Provisioning.State == bmov1alpha1.StateProvisioned, before.Provisioning.State == bmov1alpha1.StateExternallyProvisioned:
		return expectAdopted
	}
	return expectRegister
}

// NodeSnapshot is everything read of one host's node so far.
type NodeSnapshot struct {
	Name string
	// Node is the node as last read; nil when the target's Ironic has none.
	Node *ironic.Node
	// Seen are the provision states polled, in order (SeeState).
	Seen []string
	// History is the node's history, when it was read (HistoryRead).
	History     []ironic.Event
	HistoryRead bool
	// ErrorSince is when the node was first seen idle in enroll or
	// manageable with a last_error (zero otherwise): stuck, once that
	// lasts the settle window.
	ErrorSince time.Time
}

// SeeNode records a polled node in s (pure but for the time given).
func (s *NodeSnapshot) SeeNode(n *ironic.Node, now time.Time) {
	s.Node = n
	if n == nil {
		s.ErrorSince = time.Time{}
		return
	}
	s.Seen = ironic.SeeState(s.Seen, n.ProvisionState)
	stuck := (n.ProvisionState == "enroll" || n.ProvisionState == "manageable") && n.Idle() && n.LastError != ""
	switch {
	case !stuck:
		s.ErrorSince = time.Time{}
	case s.ErrorSince.IsZero():
		s.ErrorSince = now
	}
}

// IronicVerdict is the decision over one node.
type IronicVerdict struct {
	Adopted bool
	// Failed is why the node will not be adopted (Ironic's reason).
	Failed string
	// Pending describes the node while undecided.
	Pending string
	// NeedHistory: the node looks adopted; its history decides.
	NeedHistory bool
	Evidence    IronicEvidence
}

// IronicVerdictOf decides over a node snapshot (pure); since is when the
// move began (earlier history entries are not this move's); a node idle
// in enroll or manageable with an error is stuck once it stayed so for
// window until now.
func IronicVerdictOf(exp nodeExpectation, s NodeSnapshot, since, now time.Time, window time.Duration) IronicVerdict {
	v := IronicVerdict{Evidence: IronicEvidence{Node: s.Name, StatesSeen: slices.Clone(s.Seen)}}
	if exp == expectNoNode {
		v.Adopted = true
		return v
	}
	if s.Node == nil {
		v.Pending = fmt.Sprintf("node %s not in the target's Ironic yet", s.Name)
		return v
	}
	n := s.Node
	v.Evidence.ProvisionState = n.ProvisionState
	v.Evidence.LastError = n.LastError
	for _, k := range deployTraces {
		if _, ok := n.DriverInternalInfo[k]; ok {
			v.Evidence.DeployTraces = append(v.Evidence.DeployTraces, "driver_internal_info."+k)
		}
	}
	for _, e := range s.History {
		if strings.HasPrefix(e.EventType, "deploy") {
			v.Evidence.DeployTraces = append(v.Evidence.DeployTraces, "history: "+e.EventType)
		}
		if strings.EqualFold(e.Severity, "ERROR") && (e.CreatedAt.IsZero() || !e.CreatedAt.Before(since)) {
			v.Evidence.HistoryErrors = append(v.Evidence.HistoryErrors, strings.TrimSpace(e.CreatedAt.UTC().Format(time.RFC3339)+" "+e.EventType+": "+e.Event))
		}
	}
	path, goal, verb := ironic.AdoptionPath, []string{"active"}, "adopt"
	if exp == expectRegister {
		path, goal, verb = registrationPath, []string{"manageable", "available"}, "register"
	}
	reason := func(what string) string {
		msg := fmt.Sprintf("the target's Ironic did not %s node %s (%s)", verb, s.Name, what)
		if n.LastError != "" {
			msg += ": " + n.LastError
		}
		return msg
	}
	switch {
	case !ironic.OnPath(s.Seen, path):
		what := n.ProvisionState
		// A failed state reached along the path says it all; a detour or
		// a step back needs the states seen.
		if last := s.Seen[len(s.Seen)-1]; last != n.ProvisionState || slices.Contains(path, last) || !ironic.OnPath(s.Seen[:len(s.Seen)-1], path) {
			what += ", states seen " + strings.Join(s.Seen, " → ")
		}
		v.Failed = reason(what)
	case !s.ErrorSince.IsZero() && !slices.Contains(goal, n.ProvisionState) && now.Sub(s.ErrorSince) >= window:
		v.Failed = reason(fmt.Sprintf("stuck in %s for %s", n.ProvisionState, now.Sub(s.ErrorSince).Round(time.Second)))
	case !s.ErrorSince.IsZero() && !slices.Contains(goal, n.ProvisionState):
		v.Pending = fmt.Sprintf("node %s is %s with last_error %q since %s", s.Name, n.ProvisionState, n.LastError, s.ErrorSince.UTC().Format(time.RFC3339))
	case len(v.Evidence.DeployTraces) > 0:
		sort.Strings(v.Evidence.DeployTraces)
		v.Failed = fmt.Sprintf("node %s shows the target's Ironic deployed it (%s): it did not adopt it", s.Name, strings.Join(v.Evidence.DeployTraces, ", "))
	case len(v.Evidence.HistoryErrors) > 0:
		v.Failed = fmt.Sprintf("the target's Ironic recorded an error for node %s since the move began: %s", s.Name, strings.Join(v.Evidence.HistoryErrors, "; "))
	case !slices.Contains(goal, n.ProvisionState) || !n.Idle():
		v.Pending = fmt.Sprintf("node %s is %s", s.Name, n.ProvisionState)
		if !n.Idle() {
			v.Pending += " (target " + n.TargetProvisionState + ")"
		}
	case !s.HistoryRead:
		v.Pending = fmt.Sprintf("node %s is %s; its history is not read yet", s.Name, n.ProvisionState)
		v.NeedHistory = true
	default:
		v.Adopted = true
	}
	return v
}

package hostsafety

import (
	"fmt"
	"slices"
	"strings"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
)

// Reason is a stable identifier of one hazard.
type Reason string

// Reasons. Blocking ones make clusterctl move unsafe right now; the others
// are risks an operator or the move driver must handle.
const (
	InProgressState     Reason = "in-progress-state"       // registering, provisioning, inspecting...
	BusyOperational     Reason = "busy-operational-status" // servicing, delayed
	PendingReboot       Reason = "pending-reboot"          // reboot.metal3.io[/key]
	ReinspectRequested  Reason = "reinspect-requested"     // inspect.metal3.io: ""
	Deleting            Reason = "deleting"                // deletionTimestamp set
	ErrorStatus         Reason = "error-status"            // operationalStatus error
	UserPaused          Reason = "user-paused"             // consumed host paused by someone else: CAPM3 never writes its status
	UserPausedCarried   Reason = "user-paused-with-status" // the same, but it carries a status annotation: it moves safely and stays paused
	NoStatusAnnotation  Reason = "no-status-annotation"    // consumed host without baremetalhost.metal3.io/status
	PausedWithoutStatus Reason = "paused-without-status"   // consumed host paused by CAPM3/pivotcheck but no status: nobody will write it
	PoweredOnAvailable  Reason = "powered-on-available"    // likely running IPA under fast-track
	DetachedOperational Reason = "detached"                // informational
)

// Pause values whose owners hand the host over themselves.
const (
	CAPM3PauseValue      = "metal3.io/capm3"
	PivotcheckPauseValue = "pivotcheck.dev/move"
	RebootAnnotation     = "reboot.metal3.io"
	InspectAnnotation    = "inspect.metal3.io"
)

// Hazard is one finding about one host.
type Hazard struct {
	Reason Reason
	// Blocking hazards make a move unsafe now (the webhook denies on them).
	Blocking bool
	// Detail is a short human phrase: "is provisioning", "has operationalStatus servicing".
	Detail string
}

// steady are the provisioning states in which BMO itself allows detaching,
// i.e. no Ironic operation is under way.
var steady = map[bmov1alpha1.ProvisioningState]bool{
	bmov1alpha1.StateProvisioned:           true,
	bmov1alpha1.StateExternallyProvisioned: true,
	bmov1alpha1.StateAvailable:             true,
	bmov1alpha1.StateReady:                 true,
	bmov1alpha1.StateUnmanaged:             true,
}

// Steady reports whether a provisioning state is safe to move. Unknown
// (future) states count as in progress: failing safe costs a retry, failing
// open costs a reprovisioned node.
func Steady(s bmov1alpha1.ProvisioningState) bool { return steady[s] }

// Consumed reports whether a host backs a machine (CAPM3 set consumerRef).
func Consumed(h *bmov1alpha1.BareMetalHost) bool { return h.Spec.ConsumerRef != nil }

// ForeignPause returns the pause value when the host is paused by someone
// other than CAPM3 or pivotcheck.
func ForeignPause(h *bmov1alpha1.BareMetalHost) (string, bool) {
	v, ok := h.Annotations[bmov1alpha1.PausedAnnotation]
	if !ok || v == CAPM3PauseValue || v == PivotcheckPauseValue {
		return "", false
	}
	return v, true
}

// Assess returns every hazard of h, blocking ones first, in a fixed order.
func Assess(h *bmov1alpha1.BareMetalHost) []Hazard {
	var out []Hazard
	st := h.Status
	if h.DeletionTimestamp != nil {
		out = append(out, Hazard{Reason: Deleting, Blocking: true, Detail: "is being deleted"})
	}
	if !Steady(st.Provisioning.State) {
		state := string(st.Provisioning.State)
		if state == "" {
			state = "new (no provisioning state yet)"
		}
		out = append(out, Hazard{Reason: InProgressState, Blocking: true, Detail: "is " + state})
	}
	switch st.OperationalStatus {
	case bmov1alpha1.OperationalStatusServicing, bmov1alpha1.OperationalStatusDelayed:
		out = append(out, Hazard{Reason: BusyOperational, Blocking: true, Detail: "has operationalStatus " + string(st.OperationalStatus)})
	}
	if keys := rebootKeys(h.Annotations); len(keys) > 0 {
		out = append(out, Hazard{Reason: PendingReboot, Blocking: true, Detail: "has a pending reboot (" + strings.Join(keys, ", ") + ")"})
	}
	if v, ok := h.Annotations[InspectAnnotation]; ok && v == "" {
		out = append(out, Hazard{Reason: ReinspectRequested, Blocking: true, Detail: "has re-inspection requested (" + InspectAnnotation + ")"})
	}
	if st.OperationalStatus == bmov1alpha1.OperationalStatusError {
		d := "is in error"
		if st.ErrorType != "" {
			d = fmt.Sprintf("is in error (%s)", st.ErrorType)
		}
		out = append(out, Hazard{Reason: ErrorStatus, Detail: d})
	}
	if st.OperationalStatus == bmov1alpha1.OperationalStatusDetached {
		out = append(out, Hazard{Reason: DetachedOperational, Detail: "is detached from Ironic"})
	}
	if Consumed(h) {
		if v, ok := ForeignPause(h); ok {
			if _, carried := h.Annotations[bmov1alpha1.StatusAnnotation]; carried {
				out = append(out, Hazard{Reason: UserPausedCarried, Detail: fmt.Sprintf("is paused by %q and carries its %s annotation: it moves without losing its status, and stays paused in the target until that pause is removed", v, bmov1alpha1.StatusAnnotation)})
			} else {
				out = append(out, Hazard{Reason: UserPaused, Detail: fmt.Sprintf("is paused by %q, so CAPM3 will never write its status annotation", v)})
			}
		} else if _, ok := h.Annotations[bmov1alpha1.StatusAnnotation]; !ok {
			if v, paused := h.Annotations[bmov1alpha1.PausedAnnotation]; paused {
				// CAPM3 writes pause and status in one patch, and only on hosts
				// it pauses itself: this host will never get a status.
				out = append(out, Hazard{Reason: PausedWithoutStatus, Detail: fmt.Sprintf("is consumed and already paused by %q but has no %s annotation, which nobody will write now: the target would re-provision the live node", v, bmov1alpha1.StatusAnnotation)})
			} else {
				out = append(out, Hazard{Reason: NoStatusAnnotation, Detail: "is consumed but has no " + bmov1alpha1.StatusAnnotation + " annotation yet"})
			}
		}
	}
	if (st.Provisioning.State == bmov1alpha1.StateAvailable || st.Provisioning.State == bmov1alpha1.StateReady) && st.PoweredOn {
		out = append(out, Hazard{Reason: PoweredOnAvailable, Detail: "is available and powered on (probably running IPA under fast-track; its IP may change after the move)"})
	}
	return out
}

// Blocking returns only the blocking hazards of h.
func Blocking(h *bmov1alpha1.BareMetalHost) []Hazard {
	var out []Hazard
	for _, hz := range Assess(h) {
		if hz.Blocking {
			out = append(out, hz)
		}
	}
	return out
}

func rebootKeys(ann map[string]string) []string {
	var keys []string
	for k := range ann {
		if k == RebootAnnotation || strings.HasPrefix(k, RebootAnnotation+"/") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Summarize renders "ns/a is provisioning; ns/b is inspecting; and 3 more",
// listing at most max hosts (the webhook's and preflight's message style).
func Summarize(items []string, max int) string {
	if len(items) <= max {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:max], "; "), len(items)-max)
}

package move

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"k8s.io/apimachinery/pkg/util/version"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
)

// StatusAnnotation renders host status the way baremetalhost.metal3.io/status
// carries it, for the target's BMO (nil when its version is unknown).
func StatusAnnotation(st bmov1alpha1.BareMetalHostStatus, targetBMO *version.Version) (string, error) {
	return bmo.EncodeStatus(st, targetBMO)
}

// HostAction is what the host hand-over does to one host.
type HostAction struct {
	Name string
	// Patch is the merge patch to send (nil: nothing to write).
	Patch map[string]any
	// Skip explains why the host is left alone.
	Skip string
	// ResourceVersion is the version of the host the decision was made on:
	// the patch carries it, so the API server refuses it (409) if the host
	// changed since (see ReplanHost).
	ResourceVersion string
	// targetBMO is the target BMO version the status was encoded for.
	targetBMO *version.Version
}

// ReplanHost decides again, on its current state, for a host whose
// hand-over patch met a conflict: the same hazard assessment as preflight
// and the webhook (a host that is now busy is refused, naming its new
// state), then the same patch decision. nil means nothing to write any
// more (someone else handed it over).
func ReplanHost(h *bmov1alpha1.BareMetalHost, targetBMO *version.Version) (*HostAction, error) {
	if hz := hostsafety.Blocking(h); len(hz) > 0 {
		var now []string
		for _, x := range hz {
			now = append(now, x.Detail)
		}
		return nil, fmt.Errorf("BareMetalHost %s/%s changed after the checks and now %s: it was not handed over; resume once it is steady again", h.Namespace, h.Name, strings.Join(now, " and "))
	}
	actions, _, err := PlanHostHandover([]bmov1alpha1.BareMetalHost{*h}, targetBMO)
	if err != nil {
		return nil, err
	}
	if len(actions) == 0 || actions[0].Patch == nil {
		return nil, nil
	}
	return &actions[0], nil
}

// PlanHostHandover decides, per host, the one patch that writes the status
// annotation and pivotcheck's pause together: BMO deletes the annotation of
// an unpaused host with status at once, so both must land in one write.
// Foreign pauses are never overwritten; a CAPM3 pause is kept (CAPM3 in the
// target removes it) and only the status annotation is added when missing.
func PlanHostHandover(hosts []bmov1alpha1.BareMetalHost, targetBMO *version.Version) ([]HostAction, []string, error) {
	var out []HostAction
	var warnings []string
	for i := range hosts {
		h := &hosts[i]
		key := h.Namespace + "/" + h.Name
		pause, paused := h.Annotations[bmov1alpha1.PausedAnnotation]
		if v, foreign := hostsafety.ForeignPause(h); foreign {
			out = append(out, HostAction{Name: h.Name, Skip: fmt.Sprintf("paused by %q", v)})
			if _, ok := h.Annotations[bmov1alpha1.StatusAnnotation]; !ok {
				if hostsafety.Consumed(h) {
					// Without status the target BMO re-registers and reprovisions
					// the live node once the pause goes: refuse before any move write.
					return nil, nil, fmt.Errorf("BareMetalHost %s is consumed, paused by %q and has no %s annotation: its status would be lost and the node reprovisioned in the target; remove that pause or add the annotation first", key, v, bmov1alpha1.StatusAnnotation)
				}
				warnings = append(warnings, fmt.Sprintf("BareMetalHost %s is paused by %q and has no status annotation: the target BMO will re-inspect it", key, v))
			}
			continue
		}
		ann, err := StatusAnnotation(h.Status, targetBMO)
		if err != nil {
			return nil, nil, fmt.Errorf("BareMetalHost %s: %w", key, err)
		}
		if h.Status.LastUpdated == nil && h.Status.Provisioning.State == "" {
			// Nothing to hand over: an empty status would only wipe the target's.
			warnings = append(warnings, fmt.Sprintf("BareMetalHost %s has no status yet: the target BMO will register it from scratch", key))
			ann = ""
		}
		want := map[string]any{}
		if ann != "" && h.Annotations[bmov1alpha1.StatusAnnotation] != ann {
			want[bmov1alpha1.StatusAnnotation] = ann
		}
		if !paused {
			want[bmov1alpha1.PausedAnnotation] = hostsafety.PivotcheckPauseValue
		} else if pause == hostsafety.CAPM3PauseValue && ann != "" {
			if _, has := h.Annotations[bmov1alpha1.StatusAnnotation]; has {
				// CAPM3 already handed this host over; its annotation stands.
				delete(want, bmov1alpha1.StatusAnnotation)
			}
		}
		if len(want) == 0 {
			out = append(out, HostAction{Name: h.Name, Skip: "already handed over"})
			continue
		}
		out = append(out, HostAction{Name: h.Name, Patch: map[string]any{"metadata": map[string]any{"annotations": want}}, ResourceVersion: h.ResourceVersion, targetBMO: targetBMO})
	}
	slices.SortFunc(out, func(a, b HostAction) int { return cmp.Compare(a.Name, b.Name) })
	return out, warnings, nil
}

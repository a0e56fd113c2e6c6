package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// What a host is, for the guard: the four combinations of consumed and
// externally provisioned.
var hostShapes = map[string]func(*bmov1alpha1.BareMetalHost){
	"spare": func(*bmov1alpha1.BareMetalHost) {},
	"consumed": func(h *bmov1alpha1.BareMetalHost) {
		h.Spec.ConsumerRef = &corev1.ObjectReference{APIVersion: "infrastructure.cluster.x-k8s.io/v1beta2", Kind: "Metal3Machine", Name: "m3m-0", Namespace: "metal3"}
	},
	"externally provisioned": func(h *bmov1alpha1.BareMetalHost) { h.Spec.ExternallyProvisioned = true },
	"consumed and externally provisioned": func(h *bmov1alpha1.BareMetalHost) {
		h.Spec.ExternallyProvisioned = true
		h.Spec.ConsumerRef = &corev1.ObjectReference{Kind: "Metal3Machine", Name: "m3m-0"}
	},
}

func statusJSON(t testing.TB, st bmov1alpha1.BareMetalHostStatus) string {
	raw, err := json.Marshal(st)
	require.NoError(t, err)
	return string(raw)
}

func newHost(shape string, ann map[string]string) *bmov1alpha1.BareMetalHost {
	h := &bmov1alpha1.BareMetalHost{ObjectMeta: metav1.ObjectMeta{Namespace: "metal3", Name: "host-0", Annotations: ann}}
	hostShapes[shape](h)
	return h
}

// annotationCase is one value of baremetalhost.metal3.io/status (absent
// when present is false) and whether BMO could restore it.
type annotationCase struct {
	name    string
	present bool
	value   string
	valid   bool
	why     string // part of the reason an invalid one is refused
}

func annotationCases(t testing.TB) []annotationCase {
	now := metav1.Now()
	base := bmov1alpha1.BareMetalHostStatus{OperationalStatus: bmov1alpha1.OperationalStatusOK, LastUpdated: &now,
		Provisioning: bmov1alpha1.ProvisionStatus{State: bmov1alpha1.StateProvisioned, ID: "uuid"}}
	cases := []annotationCase{
		{name: "absent"},
		{name: "empty string", present: true, value: "", valid: false, why: "does not parse"},
		{name: "empty object", present: true, value: "{}", valid: false, why: "names no provisioning state"},
		{name: "malformed JSON", present: true, value: `{"provisioning":`, valid: false, why: "does not parse"},
		{name: "not an object", present: true, value: `"provisioned"`, valid: false, why: "does not parse"},
		{name: "unknown field", present: true, value: strings.Replace(statusJSON(t, base), "{", `{"notAField":1,`, 1), valid: false, why: "unknown field"},
		{name: "trailing data", present: true, value: statusJSON(t, base) + `{}`, valid: false, why: "trailing data"},
	}
	// Every provisioning state BMO v0.13 defines: any named state is a
	// status BMO restores as it was (the bootstrap webhook judges whether
	// the state was safe to move); only "no state" registers from scratch.
	for _, s := range []bmov1alpha1.ProvisioningState{
		bmov1alpha1.StateNone, bmov1alpha1.StateUnmanaged, bmov1alpha1.StateRegistering, bmov1alpha1.StateMatchProfile,
		bmov1alpha1.StatePreparing, bmov1alpha1.StateReady, bmov1alpha1.StateAvailable, bmov1alpha1.StateProvisioning,
		bmov1alpha1.StateProvisioned, bmov1alpha1.StateExternallyProvisioned, bmov1alpha1.StateDeprovisioning,
		bmov1alpha1.StateInspecting, bmov1alpha1.StatePoweringOffBeforeDelete, bmov1alpha1.StateDeleting,
	} {
		st := base
		st.Provisioning.State = s
		c := annotationCase{name: fmt.Sprintf("state %q", s), present: true, value: statusJSON(t, st), valid: s != ""}
		if !c.valid {
			c.why = "names no provisioning state"
		}
		cases = append(cases, c)
	}
	// operationalStatus and errorType under BMO's webhook rules.
	for _, op := range []bmov1alpha1.OperationalStatus{"", bmov1alpha1.OperationalStatusOK, bmov1alpha1.OperationalStatusDiscovered,
		bmov1alpha1.OperationalStatusError, bmov1alpha1.OperationalStatusDelayed, bmov1alpha1.OperationalStatusDetached,
		bmov1alpha1.OperationalStatusServicing, "some-future-status"} {
		st := base
		st.OperationalStatus = op
		valid := op != bmov1alpha1.OperationalStatusServicing && op != "some-future-status"
		cases = append(cases, annotationCase{name: fmt.Sprintf("operationalStatus %q", op), present: true, value: statusJSON(t, st), valid: valid, why: "operationalStatus"})
	}
	for _, et := range []bmov1alpha1.ErrorType{bmov1alpha1.ProvisionedRegistrationError, bmov1alpha1.RegistrationError,
		bmov1alpha1.InspectionError, bmov1alpha1.PreparationError, bmov1alpha1.ProvisioningError, bmov1alpha1.PowerManagementError,
		bmov1alpha1.DetachError, bmov1alpha1.ServicingError} {
		st := base
		st.OperationalStatus, st.ErrorType = bmov1alpha1.OperationalStatusError, et
		valid := et != bmov1alpha1.DetachError && et != bmov1alpha1.ServicingError
		cases = append(cases, annotationCase{name: fmt.Sprintf("errorType %q", et), present: true, value: statusJSON(t, st), valid: valid, why: "errorType"})
	}
	// BMO v0.13 statuses carry conditions; the guard does not know the
	// target BMO's version and leaves that to BMO's own webhook.
	st := base
	st.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Provisioned", LastTransitionTime: now}}
	cases = append(cases, annotationCase{name: "with conditions", present: true, value: statusJSON(t, st), valid: true})
	return cases
}

// Every host shape × every annotation case × the bypass annotation.
func TestDecideTargetCreate(t *testing.T) {
	for shape := range hostShapes {
		for _, ac := range annotationCases(t) {
			for _, bypass := range []string{"", "moving host 7 by hand"} {
				name := fmt.Sprintf("%s/%s/bypass=%q", shape, ac.name, bypass)
				t.Run(name, func(t *testing.T) {
					ann := map[string]string{}
					if ac.present {
						ann[bmov1alpha1.StatusAnnotation] = ac.value
					}
					if bypass != "" {
						ann[BypassAnnotation] = bypass
					}
					h := newHost(shape, ann)
					d := DecideTargetCreate(h)
					needs := shape != "spare"
					switch {
					case bypass != "":
						require.True(t, d.Allowed)
						require.Equal(t, ReasonBypass, d.Reason)
						require.Empty(t, d.Warnings)
					case ac.valid:
						require.True(t, d.Allowed)
						require.Equal(t, ReasonStatusCarried, d.Reason)
						require.Empty(t, d.Warnings)
					case !needs:
						require.True(t, d.Allowed)
						require.Equal(t, ReasonReinspect, d.Reason)
						require.Len(t, d.Warnings, 1)
						require.Contains(t, d.Warnings[0], "BareMetalHost metal3/host-0")
						require.Contains(t, d.Warnings[0], "from scratch")
						require.Less(t, len(d.Warnings[0]), 256, "the API server truncates longer warnings")
						if ac.present {
							require.Contains(t, d.Warnings[0], "invalid")
						}
					default:
						require.False(t, d.Allowed)
						require.Contains(t, d.Message, "pivotcheck refuses to create BareMetalHost metal3/host-0")
						require.Contains(t, d.Message, "clusterctl retries this create")
						require.Contains(t, d.Message, "pivotcheck move")
						require.Contains(t, d.Message, `kubectl -n metal3 annotate baremetalhost host-0 pivotcheck.dev/allow-unsafe-move="<reason>"`)
						if h.Spec.ConsumerRef != nil {
							require.Contains(t, d.Message, "consumed by Metal3Machine m3m-0")
						} else {
							require.Contains(t, d.Message, "externally provisioned")
						}
						if ac.present {
							require.Equal(t, ReasonStatusInvalid, d.Reason)
							require.Contains(t, d.Message, ac.why)
						} else {
							require.Equal(t, ReasonStatusMissing, d.Reason)
							require.Contains(t, d.Message, "carries no baremetalhost.metal3.io/status annotation")
						}
					}
				})
			}
		}
	}
}

// An empty bypass value is no bypass (the CEL matchCondition agrees).
func TestDecideTargetCreateEmptyBypass(t *testing.T) {
	d := DecideTargetCreate(newHost("consumed", map[string]string{BypassAnnotation: ""}))
	require.False(t, d.Allowed)
	require.Equal(t, ReasonStatusMissing, d.Reason)
}

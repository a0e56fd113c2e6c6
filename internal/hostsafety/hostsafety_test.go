package hostsafety

import (
	"strings"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func host(state bmov1alpha1.ProvisioningState, op bmov1alpha1.OperationalStatus, consumed bool, ann map[string]string) *bmov1alpha1.BareMetalHost {
	h := &bmov1alpha1.BareMetalHost{ObjectMeta: metav1.ObjectMeta{Name: "h", Namespace: "ns", Annotations: ann}}
	h.Status.Provisioning.State = state
	h.Status.OperationalStatus = op
	if consumed {
		h.Spec.ConsumerRef = &corev1.ObjectReference{Kind: "Metal3Machine", Name: "m"}
		if h.Annotations == nil {
			h.Annotations = map[string]string{}
		}
		if _, ok := h.Annotations[bmov1alpha1.StatusAnnotation]; !ok {
			h.Annotations[bmov1alpha1.StatusAnnotation] = "{}"
		}
	}
	return h
}

func reasons(hs []Hazard) []Reason {
	var out []Reason
	for _, h := range hs {
		out = append(out, h.Reason)
	}
	return out
}

func TestEveryProvisioningState(t *testing.T) {
	// Every state BMO v0.13.2 defines: steady ones are movable, the rest are not.
	all := map[bmov1alpha1.ProvisioningState]bool{
		bmov1alpha1.StateNone:                    false,
		bmov1alpha1.StateUnmanaged:               true,
		bmov1alpha1.StateRegistering:             false,
		bmov1alpha1.StateMatchProfile:            false,
		bmov1alpha1.StatePreparing:               false,
		bmov1alpha1.StateReady:                   true,
		bmov1alpha1.StateAvailable:               true,
		bmov1alpha1.StateProvisioning:            false,
		bmov1alpha1.StateProvisioned:             true,
		bmov1alpha1.StateExternallyProvisioned:   true,
		bmov1alpha1.StateDeprovisioning:          false,
		bmov1alpha1.StateInspecting:              false,
		bmov1alpha1.StatePoweringOffBeforeDelete: false,
		bmov1alpha1.StateDeleting:                false,
		"some-future-state":                      false,
	}
	for state, safe := range all {
		t.Run(string(state), func(t *testing.T) {
			b := Blocking(host(state, bmov1alpha1.OperationalStatusOK, false, nil))
			if safe {
				require.Empty(t, b)
			} else {
				require.Equal(t, []Reason{InProgressState}, reasons(b))
			}
		})
	}
}

func TestEveryOperationalStatus(t *testing.T) {
	cases := map[bmov1alpha1.OperationalStatus][]Reason{
		bmov1alpha1.OperationalStatusOK:         nil,
		bmov1alpha1.OperationalStatusDiscovered: nil,
		bmov1alpha1.OperationalStatusError:      {ErrorStatus},
		bmov1alpha1.OperationalStatusDelayed:    {BusyOperational},
		bmov1alpha1.OperationalStatusDetached:   {DetachedOperational},
		bmov1alpha1.OperationalStatusServicing:  {BusyOperational},
	}
	for op, want := range cases {
		t.Run(string(op), func(t *testing.T) {
			got := Assess(host(bmov1alpha1.StateProvisioned, op, true, nil))
			require.Equal(t, want, reasons(got))
			blocking := op == bmov1alpha1.OperationalStatusServicing || op == bmov1alpha1.OperationalStatusDelayed
			require.Equal(t, blocking, len(Blocking(host(bmov1alpha1.StateProvisioned, op, true, nil))) > 0)
		})
	}
}

func TestAnnotations(t *testing.T) {
	cases := []struct {
		name     string
		ann      map[string]string
		consumed bool
		want     []Reason
		blocking bool
	}{
		{"reboot", map[string]string{"reboot.metal3.io": ""}, true, []Reason{PendingReboot}, true},
		{"reboot with key", map[string]string{"reboot.metal3.io/capm3-remediation": `{"mode":"hard"}`}, true, []Reason{PendingReboot}, true},
		{"not a reboot", map[string]string{"reboot.metal3.iox": ""}, true, nil, false},
		{"reinspect", map[string]string{"inspect.metal3.io": ""}, true, []Reason{ReinspectRequested}, true},
		{"inspection disabled", map[string]string{"inspect.metal3.io": "disabled"}, true, nil, false},
		{"capm3 pause", map[string]string{bmov1alpha1.PausedAnnotation: CAPM3PauseValue}, true, nil, false},
		{"pivotcheck pause", map[string]string{bmov1alpha1.PausedAnnotation: PivotcheckPauseValue}, true, nil, false},
		{"user pause on consumed host carrying its status", map[string]string{bmov1alpha1.PausedAnnotation: "ops"}, true, []Reason{UserPausedCarried}, false},
		{"user pause on consumed host without status", map[string]string{bmov1alpha1.PausedAnnotation: "ops"}, true, []Reason{UserPaused}, false},
		{"user pause on spare host", map[string]string{bmov1alpha1.PausedAnnotation: ""}, false, nil, false},
		{"consumed without status", nil, true, []Reason{NoStatusAnnotation}, false},
		{"capm3 pause without status", map[string]string{bmov1alpha1.PausedAnnotation: CAPM3PauseValue}, true, []Reason{PausedWithoutStatus}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := host(bmov1alpha1.StateProvisioned, bmov1alpha1.OperationalStatusOK, tc.consumed, tc.ann)
			if strings.HasSuffix(tc.name, "without status") {
				delete(h.Annotations, bmov1alpha1.StatusAnnotation)
			}
			require.Equal(t, tc.want, reasons(Assess(h)))
			require.Equal(t, tc.blocking, len(Blocking(h)) > 0)
		})
	}
}

func TestDeletingAndPoweredOnSpare(t *testing.T) {
	h := host(bmov1alpha1.StateProvisioned, bmov1alpha1.OperationalStatusOK, false, nil)
	now := metav1.Now()
	h.DeletionTimestamp = &now
	require.Equal(t, []Reason{Deleting}, reasons(Blocking(h)))

	spare := host(bmov1alpha1.StateAvailable, bmov1alpha1.OperationalStatusOK, false, nil)
	spare.Status.PoweredOn = true
	require.Equal(t, []Reason{PoweredOnAvailable}, reasons(Assess(spare)))
	require.Empty(t, Blocking(spare))
}

func TestSeveralHazardsKeepOrder(t *testing.T) {
	h := host(bmov1alpha1.StateInspecting, bmov1alpha1.OperationalStatusServicing, false,
		map[string]string{"reboot.metal3.io/b": "", "reboot.metal3.io/a": ""})
	got := Assess(h)
	require.Equal(t, []Reason{InProgressState, BusyOperational, PendingReboot}, reasons(got))
	require.Equal(t, "has a pending reboot (reboot.metal3.io/a, reboot.metal3.io/b)", got[2].Detail)
	require.Equal(t, "is inspecting", got[0].Detail)
	require.Equal(t, "is new (no provisioning state yet)", Assess(host("", "", false, nil))[0].Detail)
}

func TestSummarize(t *testing.T) {
	require.Equal(t, "a; b", Summarize([]string{"a", "b"}, 3))
	require.Equal(t, "a; b; and 2 more", Summarize([]string{"a", "b", "c", "d"}, 2))
}

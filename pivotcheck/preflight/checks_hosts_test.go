package preflight

import (
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCheckHosts(t *testing.T) {
	now := metav1.Now()
	cases := []struct {
		name string
		h    bmov1alpha1.BareMetalHost
		want []want
	}{
		{name: "provisioned with status annotation", h: host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: "{}", bmov1alpha1.PausedAnnotation: "metal3.io/capm3"}), want: nil},
		{name: "consumed without annotation is info", h: host("h", bmov1alpha1.StateProvisioned, true, nil), want: []want{{check: StatusMissing, sev: SeverityInfo, name: "h", msg: "CAPM3 writes it"}}},
		{name: "paused by CAPM3 without status is an error", h: host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.PausedAnnotation: "metal3.io/capm3"}),
			want: []want{{check: StatusMissing, sev: SeverityError, name: "h", msg: "nobody will write now"}}},
		{name: "inspecting", h: host("h", bmov1alpha1.StateInspecting, false, nil), want: []want{{check: HostInProgress, sev: SeverityError, name: "h", msg: "is inspecting"}}},
		{name: "reboot", h: host("h", bmov1alpha1.StateAvailable, false, map[string]string{"reboot.metal3.io": ""}), want: []want{{check: HostPendingReboot, sev: SeverityError, name: "h", msg: "pending reboot"}}},
		{name: "reinspect", h: host("h", bmov1alpha1.StateAvailable, false, map[string]string{"inspect.metal3.io": ""}), want: []want{{check: HostReinspect, sev: SeverityError, name: "h", msg: "re-inspection"}}},
		{name: "user paused", h: host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.PausedAnnotation: "ops"}), want: []want{{check: HostForeignPause, sev: SeverityError, name: "h", msg: `paused by "ops"`}}},
		{name: "powered-on spare", h: func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.Status.PoweredOn = true
			return h
		}(), want: []want{{check: HostPoweredOn, sev: SeverityWarning, name: "h", msg: "powered on"}}},
		{name: "servicing", h: func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: "{}"})
			h.Status.OperationalStatus = bmov1alpha1.OperationalStatusServicing
			return h
		}(), want: []want{{check: HostBusy, sev: SeverityError, name: "h", msg: "servicing"}}},
		{name: "error", h: func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.Status.OperationalStatus, h.Status.ErrorType = bmov1alpha1.OperationalStatusError, bmov1alpha1.RegistrationError
			return h
		}(), want: []want{{check: HostError, sev: SeverityError, name: "h", msg: "registration error"}}},
		{name: "deleting", h: func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.DeletionTimestamp = &now
			return h
		}(), want: []want{{check: HostDeleting, sev: SeverityError, name: "h", msg: "being deleted"}}},
		{name: "detached", h: func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.Status.OperationalStatus = bmov1alpha1.OperationalStatusDetached
			return h
		}(), want: []want{{check: HostDetached, sev: SeverityInfo, name: "h", msg: "detached"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireFindings(t, checkHosts(&Snapshot{Source: Side{Hosts: []bmov1alpha1.BareMetalHost{tc.h}}}), tc.want)
		})
	}
}

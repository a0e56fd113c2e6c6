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
		{"provisioned with status annotation", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: "{}", bmov1alpha1.PausedAnnotation: "metal3.io/capm3"}), nil},
		{"consumed without annotation is info", host("h", bmov1alpha1.StateProvisioned, true, nil), []want{{check: StatusMissing, sev: SeverityInfo, name: "h", msg: "CAPM3 writes it"}}},
		{"paused by CAPM3 without status is an error", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.PausedAnnotation: "metal3.io/capm3"}),
			[]want{{check: StatusMissing, sev: SeverityError, name: "h", msg: "nobody will write now"}}},
		{"inspecting", host("h", bmov1alpha1.StateInspecting, false, nil), []want{{check: HostInProgress, sev: SeverityError, name: "h", msg: "is inspecting"}}},
		{"reboot", host("h", bmov1alpha1.StateAvailable, false, map[string]string{"reboot.metal3.io": ""}), []want{{check: HostPendingReboot, sev: SeverityError, name: "h", msg: "pending reboot"}}},
		{"reinspect", host("h", bmov1alpha1.StateAvailable, false, map[string]string{"inspect.metal3.io": ""}), []want{{check: HostReinspect, sev: SeverityError, name: "h", msg: "re-inspection"}}},
		{"user paused", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.PausedAnnotation: "ops"}), []want{{check: HostForeignPause, sev: SeverityError, name: "h", msg: `paused by "ops"`}}},
		{"powered-on spare", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.Status.PoweredOn = true
			return h
		}(), []want{{check: HostPoweredOn, sev: SeverityWarning, name: "h", msg: "powered on"}}},
		{"servicing", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: "{}"})
			h.Status.OperationalStatus = bmov1alpha1.OperationalStatusServicing
			return h
		}(), []want{{check: HostBusy, sev: SeverityError, name: "h", msg: "servicing"}}},
		{"error", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.Status.OperationalStatus, h.Status.ErrorType = bmov1alpha1.OperationalStatusError, bmov1alpha1.RegistrationError
			return h
		}(), []want{{check: HostError, sev: SeverityError, name: "h", msg: "registration error"}}},
		{"deleting", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.DeletionTimestamp = &now
			return h
		}(), []want{{check: HostDeleting, sev: SeverityError, name: "h", msg: "being deleted"}}},
		{"detached", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.Status.OperationalStatus = bmov1alpha1.OperationalStatusDetached
			return h
		}(), []want{{check: HostDetached, sev: SeverityInfo, name: "h", msg: "detached"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireFindings(t, checkHosts(&Snapshot{Source: Side{Hosts: []bmov1alpha1.BareMetalHost{tc.h}}}), tc.want)
		})
	}
}

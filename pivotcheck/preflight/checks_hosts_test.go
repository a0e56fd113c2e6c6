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
		{"consumed without annotation is info", host("h", bmov1alpha1.StateProvisioned, true, nil), []want{{StatusMissing, SeverityInfo, "h", "CAPM3 writes it"}}},
		{"paused by CAPM3 without status is an error", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.PausedAnnotation: "metal3.io/capm3"}),
			[]want{{StatusMissing, SeverityError, "h", "nobody will write now"}}},
		{"inspecting", host("h", bmov1alpha1.StateInspecting, false, nil), []want{{HostInProgress, SeverityError, "h", "is inspecting"}}},
		{"reboot", host("h", bmov1alpha1.StateAvailable, false, map[string]string{"reboot.metal3.io": ""}), []want{{HostPendingReboot, SeverityError, "h", "pending reboot"}}},
		{"reinspect", host("h", bmov1alpha1.StateAvailable, false, map[string]string{"inspect.metal3.io": ""}), []want{{HostReinspect, SeverityError, "h", "re-inspection"}}},
		{"user paused", host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.PausedAnnotation: "ops"}), []want{{HostForeignPause, SeverityError, "h", `paused by "ops"`}}},
		{"powered-on spare", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.Status.PoweredOn = true
			return h
		}(), []want{{HostPoweredOn, SeverityWarning, "h", "powered on"}}},
		{"servicing", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: "{}"})
			h.Status.OperationalStatus = bmov1alpha1.OperationalStatusServicing
			return h
		}(), []want{{HostBusy, SeverityError, "h", "servicing"}}},
		{"error", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.Status.OperationalStatus, h.Status.ErrorType = bmov1alpha1.OperationalStatusError, bmov1alpha1.RegistrationError
			return h
		}(), []want{{HostError, SeverityError, "h", "registration error"}}},
		{"deleting", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.DeletionTimestamp = &now
			return h
		}(), []want{{HostDeleting, SeverityError, "h", "being deleted"}}},
		{"detached", func() bmov1alpha1.BareMetalHost {
			h := host("h", bmov1alpha1.StateAvailable, false, nil)
			h.Status.OperationalStatus = bmov1alpha1.OperationalStatusDetached
			return h
		}(), []want{{HostDetached, SeverityInfo, "h", "detached"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireFindings(t, checkHosts(&Snapshot{Source: Side{Hosts: []bmov1alpha1.BareMetalHost{tc.h}}}), tc.want)
		})
	}
}

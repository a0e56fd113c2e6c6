package preflight

import (
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
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

// TestCheckLiveISO: the hosts whose current image is a live ISO and that
// BMO will ask the target's Ironic to adopt are named; the others are not.
func TestCheckLiveISO(t *testing.T) {
	iso := "live-iso"
	qcow := "qcow2"
	with := func(name string, state bmov1alpha1.ProvisioningState, status, spec *bmov1alpha1.Image, edit func(*bmov1alpha1.BareMetalHost)) bmov1alpha1.BareMetalHost {
		h := host(name, state, false, nil)
		if status != nil {
			h.Status.Provisioning.Image = *status
		}
		h.Spec.Image = spec
		if edit != nil {
			edit(&h)
		}
		return h
	}
	img := func(format *string) *bmov1alpha1.Image {
		return &bmov1alpha1.Image{URL: "http://172.22.0.1/img", DiskFormat: format}
	}
	hosts := []bmov1alpha1.BareMetalHost{
		with("live-provisioned", bmov1alpha1.StateProvisioned, img(&iso), nil, nil),
		with("live-external", bmov1alpha1.StateExternallyProvisioned, nil, img(&iso), nil),
		with("disk-provisioned", bmov1alpha1.StateProvisioned, img(&qcow), nil, nil),
		with("no-format", bmov1alpha1.StateProvisioned, img(nil), nil, nil),
		with("live-available", bmov1alpha1.StateAvailable, nil, img(&iso), nil),
		with("live-spec-only-provisioned", bmov1alpha1.StateProvisioned, nil, img(&iso), nil),
		with("live-detached", bmov1alpha1.StateProvisioned, img(&iso), nil, func(h *bmov1alpha1.BareMetalHost) {
			h.Status.OperationalStatus = bmov1alpha1.OperationalStatusDetached
		}),
		with("live-custom-deploy", bmov1alpha1.StateProvisioned, img(&iso), nil, func(h *bmov1alpha1.BareMetalHost) {
			h.Status.Provisioning.CustomDeploy = &bmov1alpha1.CustomDeploy{Method: "install"}
		}),
		with("live-no-bmc", bmov1alpha1.StateProvisioned, img(&iso), nil, func(h *bmov1alpha1.BareMetalHost) { h.Spec.BMC.CredentialsName = "" }),
	}
	requireFindings(t, checkLiveISO(&Snapshot{Source: Side{Hosts: hosts}}), []want{
		{check: HostLiveISO, sev: SeverityWarning, name: "live-provisioned", msg: "BareMetalHost ns/live-provisioned is provisioned with the live-iso image http://172.22.0.1/img: BMO v0.13.x registers it in the target's Ironic without the ISO, and that Ironic will not adopt it (adopt failed)"},
		{check: HostLiveISO, sev: SeverityWarning, name: "live-external", msg: "is externally provisioned with the live-iso image"},
	})
	// Through Evaluate, the finding sorts with the host checks.
	var ids []string
	for _, f := range Evaluate(&Snapshot{Source: Side{Hosts: hosts[:1]}}) {
		if f.Object.Name == "live-provisioned" {
			ids = append(ids, f.Check)
		}
	}
	require.Contains(t, ids, HostLiveISO)
}

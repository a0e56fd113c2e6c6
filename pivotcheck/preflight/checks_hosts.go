// Check group 4: hosts (the rules live in internal/hostsafety).

package preflight

import (
	"fmt"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"

	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
)

var hazardCheck = map[hostsafety.Reason]struct {
	id  string
	sev Severity
}{
	hostsafety.InProgressState:     {HostInProgress, SeverityError},
	hostsafety.BusyOperational:     {HostBusy, SeverityError},
	hostsafety.PendingReboot:       {HostPendingReboot, SeverityError},
	hostsafety.ReinspectRequested:  {HostReinspect, SeverityError},
	hostsafety.Deleting:            {HostDeleting, SeverityError},
	hostsafety.ErrorStatus:         {HostError, SeverityError},
	hostsafety.PoweredOnAvailable:  {HostPoweredOn, SeverityWarning},
	hostsafety.DetachedOperational: {HostDetached, SeverityInfo},
	hostsafety.UserPaused:          {HostForeignPause, SeverityError},
	hostsafety.UserPausedCarried:   {HostForeignPause, SeverityWarning},
	hostsafety.NoStatusAnnotation:  {StatusMissing, SeverityInfo},
	hostsafety.PausedWithoutStatus: {StatusMissing, SeverityError},
}

func hostRef(h *bmov1alpha1.BareMetalHost) ObjectRef {
	return ref(bmov1alpha1.GroupVersion.String(), "BareMetalHost", h.Namespace, h.Name)
}

func checkHosts(s *Snapshot) []Finding {
	var out []Finding
	for i := range s.Source.Hosts {
		h := &s.Source.Hosts[i]
		for _, hz := range hostsafety.Assess(h) {
			m, ok := hazardCheck[hz.Reason]
			if !ok {
				continue
			}
			msg := fmt.Sprintf("BareMetalHost %s/%s %s", h.Namespace, h.Name, hz.Detail)
			if hz.Reason == hostsafety.NoStatusAnnotation {
				msg += ": CAPM3 writes it when the move pauses the Cluster (CAPM3 ≤ 1.13 may race clusterctl's copy; `pivotcheck move` closes the race, and the target guard of config/target turns it into a retry)"
			}
			out = append(out, finding(m.id, m.sev, hostRef(h), msg))
		}
	}
	return out
}

// checkLiveISO warns of the hosts the target's Ironic will not adopt:
// provisioned (or externally provisioned) with a live ISO. BMO v0.13.2
// chooses the ramdisk deploy interface from the host's current image when
// it registers the node (deployInterface, getCurrentImage), but puts the
// ISO in instance_info only when it deploys; Ironic's _do_adoption
// validates the boot interface of a node that does not boot locally, and
// that wants boot_iso (docs/facts.md#ironic-and-keepalived).
func checkLiveISO(s *Snapshot) []Finding {
	var out []Finding
	for i := range s.Source.Hosts {
		h := &s.Source.Hosts[i]
		st := h.Status.Provisioning.State
		if (st != bmov1alpha1.StateProvisioned && st != bmov1alpha1.StateExternallyProvisioned) ||
			h.Status.OperationalStatus == bmov1alpha1.OperationalStatusDetached || !h.HasBMCDetails() || customDeploy(h) {
			continue
		}
		img := currentImage(h)
		if !img.IsLiveISO() {
			continue
		}
		msg := fmt.Sprintf("BareMetalHost %s/%s is %s with the live-iso image %s: BMO v0.13.x registers it in the target's Ironic without the ISO, and that Ironic will not adopt it (adopt failed); the server keeps running, but BMO reports a provisioned registration error", h.Namespace, h.Name, st, img.URL)
		out = append(out, finding(HostLiveISO, SeverityWarning, hostRef(h), msg))
	}
	return out
}

// currentImage is BMO's getCurrentImage: the provisioned image, else,
// while provisioning or externally provisioned, the spec's.
func currentImage(h *bmov1alpha1.BareMetalHost) *bmov1alpha1.Image {
	if h.Status.Provisioning.Image.URL != "" {
		return &h.Status.Provisioning.Image
	}
	switch h.Status.Provisioning.State {
	case bmov1alpha1.StateProvisioning, bmov1alpha1.StateExternallyProvisioned:
		if h.Spec.Image != nil && h.Spec.Image.URL != "" {
			return h.Spec.Image
		}
	}
	return nil
}

// customDeploy is BMO's hasCustomDeploy: such a node gets the custom-agent
// deploy interface instead.
func customDeploy(h *bmov1alpha1.BareMetalHost) bool {
	if h.Status.Provisioning.CustomDeploy != nil && h.Status.Provisioning.CustomDeploy.Method != "" {
		return true
	}
	switch h.Status.Provisioning.State {
	case bmov1alpha1.StateProvisioning, bmov1alpha1.StateExternallyProvisioned:
		return h.Spec.CustomDeploy != nil && h.Spec.CustomDeploy.Method != ""
	}
	return false
}

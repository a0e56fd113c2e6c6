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

// Check group 9: what the API cannot show.

package preflight

import (
	"fmt"
)

func checkManual(s *Snapshot) []Finding {
	iface, ip := "the provisioning interface", "the provisioning VIP"
	if v, _, ok := keepalivedVIP(&s.Target, ironicTemplates(&s.Target, s.IronicWorkloads)); ok {
		if v.Interface != "" {
			iface = "interface " + v.Interface
		}
		if v.IP != "" {
			ip = "VIP " + v.IP
		} else if v.VirtualIPs != "" {
			ip = "VIPs " + v.VirtualIPs
		}
	}
	return []Finding{finding(ManualChecks, SeverityInfo, ObjectRef{},
		fmt.Sprintf("not visible through the API, check by hand: on every target node that may run Ironic, %s has a static IP (keepalived only adds %s to an interface that already has one, and dnsmasq serves DHCP there); DHCP leases of the bootstrap's dnsmasq are not moved, so hosts booting IPA may get new addresses", iface, ip))}
}

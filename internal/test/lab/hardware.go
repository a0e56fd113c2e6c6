package lab

import (
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
)

// HardwareDetails is what an emulated system would show an inspection: the
// details a BareMetalHost on the emulator carries in its hardware-details
// annotation (with inspection disabled), so a real Ironic can take it to
// available without an agent. mac is its one NIC's address.
func HardwareDetails(host, mac string) bmov1alpha1.HardwareDetails {
	return bmov1alpha1.HardwareDetails{
		SystemVendor: bmov1alpha1.HardwareSystemVendor{Manufacturer: "Sushy Emulator", ProductName: "fake"},
		CPU:          bmov1alpha1.CPU{Arch: "x86_64", Count: 2},
		RAMMebibytes: 4096,
		NIC:          []bmov1alpha1.NIC{{Name: "eth0", MAC: mac, IP: "127.0.0.1"}},
		Storage:      []bmov1alpha1.Storage{{Name: "/dev/sda", SizeBytes: 100 << 30}},
		Hostname:     host,
	}
}

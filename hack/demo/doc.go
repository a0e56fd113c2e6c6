// Command demo tells the story of a Metal3 pivot made safe by pivotcheck, on
// two local API servers (envtest), each with BMO driving its own real Ironic,
// and one Redfish emulator for the hosts' BMCs: no Docker, no VMs, nothing
// left running. `make demo` builds bin/pivotcheck, kustomize, clusterctl,
// the envtest binaries and the lab first, then runs this from the
// repository root.
package main

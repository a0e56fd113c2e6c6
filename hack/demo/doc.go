// Command demo tells the story of a Metal3 pivot made safe by pivotcheck, on
// two local API servers (envtest): no Docker, no VMs, nothing left running.
// `make demo` builds bin/pivotcheck, kustomize, clusterctl and the envtest
// binaries first, then runs this from the repository root.
package main

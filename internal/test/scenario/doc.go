// Package scenario sets up the Metal3 pivot in the lab, for the end-to-end
// tests and the demo: a bootstrap and a target cluster, each with the real
// controllers (see internal/test/lab) and the management components a Metal3
// user installs, workload clusters built by those controllers, and a
// recorder of every state the target's BareMetalHosts pass through.
package scenario

// Package mover runs clusterctl move and turns what it logs into typed
// progress events. It is pivotcheck's only door to clusterctl move.
//
// Two runners sit behind one Runner interface, in the manner of
// cluster-api's ObjectMover (cmd/clusterctl/client/cluster/mover.go):
//
//   - Library links clusterctl v1.14 into this binary and runs its Move
//     with one API client per cluster for the whole move (proxy.go), where
//     clusterctl as shipped builds one per object (Library{Stock: true}
//     keeps that, for the benchmarks' baseline). clusterctl has no
//     progress callback: it logs one V(1) line per object through a
//     process-wide logger, so a logr sink on that logger is the hook.
//     Because the logger and clusterctl's config are global, library moves
//     in one process are serialised.
//   - Binary runs a clusterctl executable the operator supplies (another
//     Cluster API version) and reads the same lines from its output, in its
//     own process group so a cancelled run leaves nothing behind.
//
// Both read events through one table of clusterctl's step messages
// (phases.go), and both log clusterctl's own lines ClusterctlLogLevel levels
// below pivotcheck's: hidden at the default verbosity, shown from -v 2.
//
// Plan is clusterctl's own dry-run discovery (the object list `clusterctl
// move --dry-run` prints), and Qualify gives each planned object its API
// group. See docs/upstream.md for the clusterctl behaviour relied on.
package mover

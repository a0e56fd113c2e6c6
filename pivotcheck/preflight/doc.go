// Package preflight checks every prerequisite of a Metal3 pivot (clusterctl
// move of a bare-metal management cluster) against the live source and
// target clusters, before anything is touched. The checks are pure
// functions over a Snapshot (listed objects of both clusters) so they are
// table-tested without API servers; the collector does the I/O.
package preflight

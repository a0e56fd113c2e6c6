// Command pivotcheck makes the Metal3 pivot (clusterctl move of a bare-metal
// management cluster) safe: a KRM function for build time, an admission
// webhook for the bootstrap cluster, preflight checks and the move driver.
package main

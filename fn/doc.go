// Package fn is the pivot-prep KRM function: clusterctl labels on CRDs, the
// ironic-endpoint-keepalived container in the Ironic workload, and build-time
// owner-reference repair (docs/facts.md#owner-chains).
package fn

// Package scheme holds the runtime.Scheme every pivotcheck client uses:
// core Kubernetes, CRDs, Cluster API v1beta2, kubeadm control plane,
// clusterctl's inventory and BMO's metal3.io types. CAPM3 and IPAM objects
// are handled as unstructured, so their API modules are not needed.
package scheme

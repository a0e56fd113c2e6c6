// Package lab runs, against an envtest API server, the controllers that
// decide how a pivot really ends: kube-controller-manager (garbage
// collector, Deployment, ReplicaSet, DaemonSet, namespace and endpoints
// controllers), kube-scheduler and kwok (fake nodes and the pod lifecycle),
// the baremetal-operator in test mode (its fixture provisioner instead of
// Ironic), and the CAPM3 and IPAM managers, each with its real webhooks
// served and registered with failurePolicy Fail. Every binary is built from
// the Go module proxy at a pinned version by hack/lab.sh.
package lab

// Package webhook is pivotcheck's validating admission webhook. It runs in
// one of two modes.
//
// In the bootstrap cluster it gates the writes of `clusterctl move`: the
// pause of a Cluster or ClusterClass, its first write, and the
// delete-for-move annotation and DELETE of every Metal3 object after it. It
// refuses them while a BareMetalHost of the namespace is mid-operation or
// an Ironic still runs in the cluster.
//
// A request goes through these files, in order:
//
//   - classify.go says which gate a request is and what it names (Target);
//     anything else is allowed untouched.
//   - bypass.go and nslabel.go handle the operator's way past the gate: the
//     annotation, which counts only with a SubjectAccessReview, and the
//     namespace label, which the API server applies before the webhook is
//     called.
//   - reads.go gathers the Evidence. It reads the informer cache first,
//     through the indexes in cache.go and ironicindex.go, so that only the
//     blocking hosts and the workloads that may run Ironic are read. A pause,
//     the point of no return, is then confirmed live: the hosts' metadata
//     from the API server, with livehosts.go reading in full only the hosts
//     that changed. The delete-for-move writes that follow are answered from
//     the cache while the namespace's move is trusted.
//   - verdict.go decides (Decide): a pure function of the Target and the
//     Evidence, built on internal/hostsafety and internal/ironic.
//   - handler.go answers, the one way every gate answers: allowed or
//     denied, with the message, warnings, audit annotations and the
//     decision metric (metrics.go).
//
// server.go builds the manager, the cache, the live reader and the TLS
// server; readiness.go holds /readyz until the cache has synced;
// bmhwatch.go starts watching hosts when BMO's CRD appears after the
// webhook.
//
// In the target cluster (--mode target: target.go, target_handler.go,
// target_server.go) it refuses to create a BareMetalHost that would arrive
// without its status. The decision is a pure function of the new object;
// this mode reads nothing from the cluster.
//
// The design, and why it drops none of the rules, is in docs/webhook.md.
package webhook

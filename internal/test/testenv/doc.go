// Package testenv starts real kube-apiserver + etcd pairs (envtest) with the
// real Cluster API, CAPM3, IPAM and BMO CRDs installed, so that every part of
// pivotcheck is tested against the API server behaviour it meets in a pivot.
package testenv

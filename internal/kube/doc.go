// Package kube turns kubectl-style connection settings (kubeconfig path,
// context and kubectl's override flags) into REST configs and clients with
// pivotcheck's scheme. It is the one place API clients are built, each with
// an explicit client-side rate limit.
package kube

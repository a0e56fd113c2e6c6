// Package kube turns kubectl-style connection settings (kubeconfig path and
// context) into REST configs and clients with pivotcheck's scheme.
package kube

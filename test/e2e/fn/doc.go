// Package e2e drives pivotcheck fn as a process through its real clients:
// the standalone kustomize (exec transformer), kpt fn eval and kpt fn
// render, and the real upstream BMO manifests and CRDs (loaded into envtest).
// It is a package of its own so the fuzz and benchmark binaries of package
// fn stay free of envtest and the Kubernetes client libraries.
package e2e

// Package podenv resolves a container's environment the way the kubelet
// does, from its env and the ConfigMaps it reads (never Secrets), so that
// pivotcheck can read what a workload is configured with from its manifest.
package podenv

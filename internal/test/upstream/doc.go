// Package upstream locates the pinned upstream Metal3 and Cluster API module
// zips in the Go module cache and returns the paths of the real material the
// tests use: CRDs, BMO's ironic-deployment tree and CAPM3's examples.
// Nothing upstream is copied into this repository; it is read where the Go
// toolchain unpacked it.
package upstream

// Package version reports the build's version, set at link time by the
// Makefile and Dockerfile, with the Go module's build info as a fallback.
package version

// Package bmo holds what pivotcheck knows about the baremetal-operator
// itself: how to find its Deployment, how to read its version from the
// image, and the rules of the baremetalhost.metal3.io/status annotation as
// BMO's own validating webhook enforces them. Preflight, the move driver,
// the webhooks and the test fixtures all use this one copy.
package bmo

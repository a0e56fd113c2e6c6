// Package e2e holds the lab tests: each runs the pivot the way a user does,
// on a bootstrap and a target cluster where the real controllers run
// (kube-controller-manager, kube-scheduler and kwok, BMO in test mode,
// CAPM3 and IPAM; see internal/lab), and asserts what those controllers did.
// They need `make envtest tools lab`; `make test` builds what is missing.
package e2e

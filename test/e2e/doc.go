// Package e2e holds the lab tests: each runs the pivot the way a user does,
// on a bootstrap and a target cluster where the real controllers run
// (kube-controller-manager, kube-scheduler and kwok, BMO, CAPM3 and IPAM;
// see internal/test/lab), and asserts what those controllers did.
// They need `make envtest tools lab`; `make test` builds what is missing.
//
// The tests where a host's fate is the point run on an Ironic pair
// (scenario.StartIronicPair): BMO without --test-mode, against a real
// Ironic per cluster that starts and stops with the cluster's Ironic
// Deployment, one Redfish BMC emulator for every host, every BMC write
// recorded by host and by Ironic. The bootstrap's Ironic deploys the hosts
// for real; each test then asserts the writes at the BMCs after the move
// began and the states of each host's node in the Ironic it moves to:
// TestLabNoHostDisturbed, TestLabMoveBack,
// TestLabRefusesUnannotatableHostBeforeIronic, TestLabTargetGuard and
// TestLabAdoptionVerified.
//
// The others keep BMO in test mode (scenario.StartPair), because what they
// assert is decided by the API servers, webhooks and CAPM3, not by Ironic,
// and no host is re-registered or deployed on their way:
//   - TestLabBMOWebhookAgreesWithPivotcheck: BMO's webhook against the
//     status annotations pivotcheck writes; its provisioner is never called.
//   - TestLabUserIntentKindsTravel: which objects clusterctl copies with a
//     host (CRD labels); the host's own fate is not asserted.
//   - TestLabCAPM3PausesOnlyWhatItOwns and TestLabPivotcheckAndCAPM3DoNotFight:
//     CAPM3's annotations on the hosts, which it writes whatever BMO's
//     provisioner is.
//   - TestLabWebhookAsDeployed: the webhook bundle as kustomize renders it
//     (Service, RBAC, certificates, metrics) in front of a move.
//
// One pair runs at a time (two cores): each is started when the first test
// that needs it runs, and stops the other. Go runs the tests in file-name
// order, so the test-mode tests (bmo_*, capm3, deployed) come first and
// the Ironic tests (hosts, moveback, refuse, target) after them, and each
// pair is started once. Each Ironic test re-installs both clusters'
// management components: an Ironic a previous move handed over starts
// again, from a fresh database as a new pod's would.
package e2e

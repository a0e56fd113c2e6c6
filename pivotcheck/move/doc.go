// Package move is the pivot driver. It runs the whole Metal3 pivot as one
// resumable procedure, in this order:
//
//  1. lock
//  2. preflight
//  3. checks
//  4. owner repair
//  5. host status hand-over
//  6. backup
//  7. Ironic hand-over
//  8. clusterctl move
//  9. verify
//
// The order puts every step that can still refuse before anything
// irreversible happens.
//
// Read it from run.go: Run, the phases in that order, and how a failed phase
// is reported (its resume command and each cluster's state).
//
// Each phase has its file, named after it, and the driver type they share is
// in driver.go. The decisions the phases act on are pure functions with
// their own files:
//   - hostplan.go: which hosts get which annotations;
//   - ownerplan.go: which owner references to repair;
//   - ironic.go: DecideIronicHandover;
//   - rollback.go: PlanRollback;
//   - verify.go: CompareInventories.
//
// What survives a killed run lives in the backup folder: backupformat.go is
// its format, persist.go writes the run's state into it, and restore.go and
// rollback.go read it back.
//
// Why the order is what it is, the fault matrix and the measurements are in
// docs/move.md.
package move

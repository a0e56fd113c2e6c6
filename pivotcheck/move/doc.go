// Package move is the pivot driver: it runs the whole Metal3 pivot
// (preflight, checks, owner repair, host status hand-over, backup, Ironic
// hand-over, clusterctl move, verify) as one resumable procedure, ordered
// so that every step that can still refuse has passed before anything
// irreversible happens. Decisions are pure functions in this package; Run
// only sequences them with API calls.
package move

package move

import (
	"fmt"
	"time"

	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/movelock"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

type driver struct {
	opts   Options
	src    client.Client
	dst    client.Client
	report *Report
	log    logr.Logger
	plan   []mover.Object
	// previous is the plan of an earlier attempt (resume), state what
	// pivotcheck recorded about its own irreversible steps.
	previous []mover.Object
	state    State
	// moveStep is clusterctl's last step message (pausing, creating, deleting...).
	moveStep string
	// The clusters' identities and the URLs they were read through.
	srcID, dstID     kube.Identity
	srcHost, dstHost string
	// holder names this run in its Lease and folder lock.
	holder string
	lock   *movelock.Lock
	folder *movelock.FolderLock
	// recorded: the state of this attempt is written (before its first write).
	recorded bool
	// srcHosts are the source hosts as planHosts last listed them.
	srcHosts []bmov1alpha1.BareMetalHost
	started  time.Time
	// preflightPlan is clusterctl's dry-run plan the preflight engine
	// offered (OfferPlan); ownersWrote says the owner repair wrote since.
	preflightPlan planSink
	ownersWrote   bool
	// planNote says where the last qualified plan came from.
	planNote string
}

// PhaseError is returned when a phase fails; the report says what exists
// on each side and how to resume.
type PhaseError struct {
	Phase string
	Err   error
}

func (e *PhaseError) Error() string { return fmt.Sprintf("phase %s failed: %v", e.Phase, e.Err) }
func (e *PhaseError) Unwrap() error { return e.Err }

func (d *driver) warn(msg string) {
	d.report.Warnings = append(d.report.Warnings, msg)
	d.log.Info("warning", "message", msg)
}

// Phase names, in the order they run.
const (
	PhaseLock      = "lock"
	PhasePreflight = "preflight"
	PhaseChecks    = "checks"
	PhaseOwners    = "owner-repair"
	PhaseHosts     = "host-handover"
	PhaseBackup    = "backup"
	PhaseIronic    = "ironic-handover"
	PhaseIronicAPI = "ironic-api"
	PhaseMove      = "move"
	PhaseVerify    = "verify"
	PhaseDeleteBMO = "delete-source-bmo"
	PhasePlan      = "plan"
)

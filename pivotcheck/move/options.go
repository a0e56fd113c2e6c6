package move

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-logr/logr"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// PreflightFunc runs the preflight engine and returns one line per blocking
// (error) finding. The command wires it to pivotcheck/preflight; tests inject
// their own. skip lists the check IDs the operator skipped explicitly.
type PreflightFunc func(ctx context.Context, skip []string) (blocking []string, warnings []string, err error)

// Ironic hand-over modes.
const (
	HandoverDelete      = "delete"
	HandoverScaleToZero = "scale-to-zero"
	HandoverExternal    = "external"
	// HandoverAlreadyRemoved is the operator's statement that the source
	// Ironic was removed before the move.
	HandoverAlreadyRemoved = "already-removed"
)

// Options configure one run of the driver.
type Options struct {
	Source, Target kube.Cluster
	Namespace      string

	// Preflight is step 1; nil skips it (reported as skipped, with a warning).
	Preflight PreflightFunc
	// RecheckOwners runs after --fix-owners repaired what it could: any
	// object that would still be left behind stops the move before any
	// object is moved. nil skips it.
	RecheckOwners PreflightFunc
	SkipChecks    []string

	IronicHandover               string // delete (default), scale-to-zero, external, already-removed
	ConfirmExternalIronicStopped bool
	IronicWorkloads              []ironic.Workload
	// ProbeSourceIronic probes the source BMO's Ironic endpoint when no
	// Ironic runs in the source cluster (IronicProbeTimeout, default 3s).
	ProbeSourceIronic  bool
	IronicProbeTimeout time.Duration
	// IronicGoneTimeout bounds the wait for the source Ironic pods to go
	// (default 5m); TargetIronicTimeout the wait for the target's Ironic to
	// be available (default 10m).
	IronicGoneTimeout, TargetIronicTimeout time.Duration

	FixOwners bool

	// BackupDir is where the backup goes (default ./pivotcheck-backup-<UTC time>).
	BackupDir string

	DryRun bool
	// Resume continues an earlier attempt of the same move (same clusters,
	// namespace and backup folder); it refuses when the folder records none.
	Resume bool
	// TakeOverLock takes over a Lease whose holder stopped renewing it
	// (expired); a live one is never taken.
	TakeOverLock bool
	// LeaseDuration is how long the Lease outlives its last renewal
	// (default movelock.DefaultDuration; renewed every eighth of it).
	LeaseDuration time.Duration

	// Clusterctl, when set, is the path of a clusterctl binary run instead
	// of the linked clusterctl library (v1.14.2).
	Clusterctl string

	// WaitForHosts waits after the move until the target's BMO adopted
	// every host (adoption.go says what that means).
	WaitForHosts bool
	HostTimeout  time.Duration // default 15m
	// HostSettle is how long a host must keep looking adopted before it
	// counts (default 20s): BMO saves a clean status as soon as the
	// target's Ironic registers the node, and reports a failed adoption
	// some seconds later.
	HostSettle time.Duration

	// IronicURL, when set, is the target's Ironic API (its VIP): it must
	// answer GET /v1/nodes with 401 or 200 right after the Ironic
	// hand-over and again after the move, before hosts are unpaused. With
	// WaitForHosts, each host's node read there is evidence of its
	// adoption (ironicevidence.go), unless that Ironic requires
	// authentication.
	IronicURL string

	DeleteSourceBMO bool

	// Out receives progress (phases, object counts); Terminal makes it one
	// updating line.
	Out      io.Writer
	Terminal bool
	Log      logr.Logger

	// ResumeCommand is the command line that resumes this run, printed on
	// failure (the command builds it from its own flags).
	ResumeCommand string

	// OnEvent sees every clusterctl progress event and OnPhase the name of
	// every phase as it starts (tests inject faults here).
	OnEvent func(mover.Event)
	OnPhase func(string)
	// PollInterval for waits (default 1s).
	PollInterval time.Duration
}

// Validate reports the first option that cannot work, before anything is
// read or written. The CLI calls it on its flags, Run on its input and
// DecideIronicHandover on its mode, so each rule is stated once.
func (o Options) Validate() error {
	switch o.IronicHandover {
	case HandoverDelete, HandoverScaleToZero, HandoverExternal, HandoverAlreadyRemoved:
	default:
		return fmt.Errorf("unknown --ironic-handover %q: use delete, scale-to-zero, external or already-removed", o.IronicHandover)
	}
	if o.IronicHandover == HandoverExternal && !o.ConfirmExternalIronicStopped {
		return errors.New("--ironic-handover=external needs --confirm-external-ironic-stopped: confirm that the Ironic running outside the source cluster is stopped")
	}
	return nil
}

func (o *Options) defaults(now time.Time) {
	if o.IronicHandover == "" {
		o.IronicHandover = HandoverDelete
	}
	if o.IronicProbeTimeout == 0 {
		o.IronicProbeTimeout = 3 * time.Second
	}
	if o.IronicGoneTimeout == 0 {
		o.IronicGoneTimeout = 5 * time.Minute
	}
	if o.TargetIronicTimeout == 0 {
		o.TargetIronicTimeout = 10 * time.Minute
	}
	if o.HostTimeout == 0 {
		o.HostTimeout = 15 * time.Minute
	}
	if o.HostSettle == 0 {
		o.HostSettle = DefaultHostSettle
	}
	if o.PollInterval == 0 {
		o.PollInterval = time.Second
	}
	if o.BackupDir == "" {
		o.BackupDir = "pivotcheck-backup-" + now.UTC().Format("20060102T150405Z")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.IronicWorkloads == nil {
		o.IronicWorkloads = ironic.DefaultWorkloads
	}
}

// clientRate keeps the client-side rate limit from dominating the run:
// client-go's default (5 requests/s) turns 100 host patches into 20 s, and
// 100 requests/s still made the three per-host passes (dry run, hand-over,
// unpause) cost 10 s each at 1,000 hosts. clusterctl's own client uses
// 500/1000 (proxy.go); the API server's priority and fairness still applies.
var clientRate = kube.Rate{QPS: 500, Burst: 1000}

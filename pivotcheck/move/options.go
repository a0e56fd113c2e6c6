package move

import (
	"context"
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
	Source, Target kube.Target
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
	statusOK       = "ok"
	statusSkipped  = "skipped"
	statusFailed   = "failed"
	statusPlanned  = "would run"
	backupPlanFile = "pivotcheck-plan.json"
	backupReadme   = "README-pivotcheck.txt"
)

// PhaseResult is one phase of the report.
type PhaseResult struct {
	Name     string        `json:"name"`
	Status   string        `json:"status"`
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"seconds"`
	Detail   string        `json:"detail,omitempty"`
}

// Report is what Run returns, complete or not.
type Report struct {
	Namespace string `json:"namespace"`
	Source    string `json:"source"`
	Target    string `json:"target"`
	// SourceCluster and TargetCluster are the clusters' identities (nil
	// when they could not be read).
	SourceCluster *kube.Identity `json:"sourceCluster,omitempty"`
	TargetCluster *kube.Identity `json:"targetCluster,omitempty"`
	DryRun        bool           `json:"dryRun,omitempty"`
	Resume        bool           `json:"resume,omitempty"`
	Completed     bool           `json:"completed"`
	Verified      bool           `json:"verified"`
	Phases        []PhaseResult  `json:"phases"`
	// Objects is clusterctl's list of objects to move (the plan), each with
	// its API group.
	Objects []mover.Object `json:"objects,omitempty"`
	// CountsByKind counts the plan by "Kind.group".
	CountsByKind map[string]int `json:"countsByKind"`
	// Created and Deleted count distinct planned objects clusterctl
	// created in the target / deleted from the source in this run (not its
	// log lines, which repeat on retries).
	Created   int      `json:"created"`
	Deleted   int      `json:"deleted"`
	BackupDir string   `json:"backupDir,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	// Hosts is the outcome of --wait-for-hosts per host: adopted or not,
	// on whose evidence, and what the target's Ironic showed of its node.
	Hosts []HostEvidence `json:"hosts,omitempty"`
	// NotBackedUp are objects clusterctl moved that its plan, and so the
	// backup, did not hold (group-less, as clusterctl logs them).
	NotBackedUp []mover.Object `json:"notBackedUp,omitempty"`
	// LeftBehind are objects of movable kinds still in the source namespace.
	LeftBehind []mover.Object `json:"leftBehind,omitempty"`
	// FailedPhase, SourceState, TargetState and ResumeCommand are set on
	// failure; MoveStep is clusterctl's last step when the move phase failed.
	FailedPhase   string  `json:"failedPhase,omitempty"`
	MoveStep      string  `json:"moveStep,omitempty"`
	Error         string  `json:"error,omitempty"`
	SourceState   string  `json:"sourceState,omitempty"`
	TargetState   string  `json:"targetState,omitempty"`
	ResumeCommand string  `json:"resumeCommand,omitempty"`
	TotalSeconds  float64 `json:"totalSeconds"`
}

// Phase returns the named phase result (zero value when absent).
func (r *Report) Phase(name string) PhaseResult {
	for _, p := range r.Phases {
		if p.Name == name {
			return p
		}
	}
	return PhaseResult{}
}

// clientRate keeps the client-side rate limit from dominating the run:
// client-go's default (5 requests/s) turns 100 host patches into 20 s, and
// 100 requests/s still made the three per-host passes (dry run, hand-over,
// unpause) cost 10 s each at 1,000 hosts. clusterctl's own client uses
// 500/1000 (proxy.go); the API server's priority and fairness still applies.
var clientRate = kube.Rate{QPS: 500, Burst: 1000}

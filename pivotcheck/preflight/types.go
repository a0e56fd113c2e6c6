package preflight

import (
	"github.com/go-logr/logr"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// Options say what to check.
type Options struct {
	Source, Target kube.Cluster
	// Namespace is the namespace clusterctl move will move.
	Namespace string
	// IronicWorkloads name the Ironic Deployments/DaemonSets (default ironic.DefaultWorkloads).
	IronicWorkloads []ironic.Workload
	// IronicURL, when set, is probed for a 200 or 401 from Ironic's API.
	IronicURL string
	// ProbeSourceIronic probes the Ironic endpoint the source BMO is
	// configured with when no Ironic runs in the source cluster.
	ProbeSourceIronic bool
	// Skip lists check IDs whose findings are dropped (move's --skip-check).
	Skip []string
	Log  logr.Logger
}

// Severity of a finding.
type Severity string

// Severities. Only errors make a pivot "not ready".
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// ObjectRef names the object a finding is about.
type ObjectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
}

func (o ObjectRef) String() string {
	switch {
	case o.Kind == "" && o.Name == "":
		return ""
	case o.Namespace == "":
		return o.Kind + " " + o.Name
	default:
		return o.Kind + " " + o.Namespace + "/" + o.Name
	}
}

// Finding is one result of one check.
type Finding struct {
	Check    string    `json:"check"`
	Severity Severity  `json:"severity"`
	Object   ObjectRef `json:"object"`
	Message  string    `json:"message"`
	Hint     string    `json:"hint"`
}

// Report is the outcome of Run.
type Report struct {
	Ready     bool      `json:"ready"`
	Source    string    `json:"source"`
	Target    string    `json:"target"`
	Namespace string    `json:"namespace"`
	Findings  []Finding `json:"findings"`
	// Plan is clusterctl's dry-run object list (nil when clusterctl refused).
	Plan []mover.Object `json:"-"`
	// Checks are the IDs that ran, in catalogue order (skipped ones left out);
	// the table output prints a ✔ or ✖ for each.
	Checks []string `json:"-"`
}

// Errors counts error findings.
func (r *Report) Errors() int { return r.count(SeverityError) }

// Warnings counts warning findings.
func (r *Report) Warnings() int { return r.count(SeverityWarning) }

func (r *Report) count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

package preflight

import (
	"testing"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

func TestCheckManual(t *testing.T) {
	s := &Snapshot{IronicWorkloads: ironic.DefaultWorkloads, Target: ironicSide(1, true, "172.22.0.2")}
	requireFindings(t, checkManual(s), []want{{check: ManualChecks, sev: SeverityInfo, name: "", msg: "interface ironicendpoint has a static IP"}})
}

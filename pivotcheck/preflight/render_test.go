package preflight

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTableCapsLines(t *testing.T) {
	r := &Report{Namespace: "ns", Checks: []string{HostInProgress, StatusMissing}}
	for range 60 {
		r.Findings = append(r.Findings, Finding{Check: HostInProgress, Severity: SeverityError, Message: "e"},
			Finding{Check: StatusMissing, Severity: SeverityWarning, Message: "w"})
	}
	var b strings.Builder
	require.NoError(t, WriteTable(&b, r, false))
	require.Contains(t, b.String(), "✖ host-in-progress (60 error(s))")
	require.Contains(t, b.String(), "... and 10 more finding(s)")
	require.Contains(t, b.String(), "... and 50 more finding(s)")
	require.Equal(t, 50+10, strings.Count(b.String(), "    error   e")+strings.Count(b.String(), "    warning w"))
}

package preflight

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

func TestBuildSkipsAndRenders(t *testing.T) {
	s := &Snapshot{Namespace: "ns", IronicWorkloads: ironic.DefaultWorkloads, Source: ironicSide(1, true, "172.22.0.2"), Target: ironicSide(1, true, "172.22.0.2")}
	s.Source.NamespaceExists = true
	r := Build(s, nil)
	require.False(t, r.Ready)
	r = Build(s, []string{IronicSource, BMOTarget})
	require.True(t, r.Ready, "%+v", r.Findings)
	require.NotContains(t, r.Checks, IronicSource)

	var b strings.Builder
	require.NoError(t, WriteTable(&b, r, false))
	out := b.String()
	require.Contains(t, out, "✔ crd-labels-source")
	require.Contains(t, out, "⚠ bmo-webhook-target")
	require.Contains(t, out, "READY: 0 error(s)")
	require.NotContains(t, out, "\x1b[")
	b.Reset()
	require.NoError(t, WriteTable(&b, Build(s, nil), true))
	require.Contains(t, b.String(), "\x1b[31m✖\x1b[0m ironic-source-running")
	require.Contains(t, b.String(), "NOT READY")
	// -o yaml marshals the Report: its fields under their json tags.
	raw, err := yaml.Marshal(r)
	require.NoError(t, err)
	require.Contains(t, string(raw), "ready: true")
	require.Contains(t, string(raw), "findings:")
}

package scenario

import (
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/lab"
)

func TestJudge(t *testing.T) {
	begin := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	const ns = "guarded"
	write := func(ironic, host, kind string, at time.Duration) lab.BMCWrite {
		return lab.BMCWrite{Time: begin.Add(at), Ironic: ironic, Host: BMCHost(ns, host), Kind: kind}
	}
	prov, avail := bmov1alpha1.StateProvisioned, bmov1alpha1.StateAvailable
	adopted := []string{"enroll", "verifying", "manageable", "adopting", "active"}
	for _, tc := range []struct {
		name      string
		before    bmov1alpha1.ProvisioningState
		journey   []bmov1alpha1.ProvisioningState
		writes    []lab.BMCWrite
		nodes     []string
		errors    []string
		disturbed bool
		why       []string
		by        map[string]int
	}{
		{name: "adopted quietly", before: prov, journey: states{"", prov}, nodes: adopted},
		{name: "adopted, a poll missed states", before: prov, journey: states{prov}, nodes: []string{"enroll", "adopting", "active"}},
		{name: "spare registered again", before: avail, journey: states{"", avail}, nodes: []string{"enroll", "verifying", "manageable"}},
		{name: "never reached the target", before: prov},
		{
			name: "writes before the watch and logins do not count", before: prov, journey: states{prov}, nodes: adopted,
			writes: []lab.BMCWrite{write("bootstrap", "h", lab.BMCPower, -time.Second), write("target", "h", lab.BMCSession, time.Second)},
		},
		{
			name: "writes of another host or namespace do not count", before: prov, nodes: adopted,
			writes: []lab.BMCWrite{write("target", "other", lab.BMCPower, time.Second), {Time: begin.Add(time.Second), Ironic: "target", Host: BMCHost("plain", "h"), Kind: lab.BMCPower}},
		},
		{
			name: "the source Ironic powered it off", before: prov, journey: states{prov}, nodes: adopted,
			writes:    []lab.BMCWrite{write("bootstrap", "h", lab.BMCPower, time.Second)},
			disturbed: true, why: []string{"1 BMC write(s) by Ironic bootstrap (power)"}, by: map[string]int{"bootstrap": 1},
		},
		{
			name: "re-provisioned by the target", before: prov,
			journey:   states{"", bmov1alpha1.StateRegistering, bmov1alpha1.StateAvailable, bmov1alpha1.StateProvisioning, prov},
			nodes:     []string{"enroll", "manageable", "available", "deploying", "wait call-back", "active"},
			writes:    []lab.BMCWrite{write("target", "h", lab.BMCBoot, time.Second), write("target", "h", lab.BMCPower, 2*time.Second)},
			errors:    []string{"deploy: something"},
			disturbed: true, by: map[string]int{"target": 2},
			why: []string{
				"2 BMC write(s) by Ironic target (boot, power)",
				"target Ironic node went enroll → manageable → available → deploying → wait call-back → active",
				"BMO state provisioned → registering",
			},
		},
		{
			name: "adoption failed", before: prov, journey: states{prov}, nodes: []string{"enroll", "manageable", "adopting", "adopt failed"},
			errors: []string{"adoption: missing from its instance_info"}, disturbed: true,
			why: []string{"target Ironic node went enroll → manageable → adopting → adopt failed"},
		},
		{
			name: "states out of order", before: prov, nodes: []string{"enroll", "active", "manageable"}, disturbed: true,
			why: []string{"target Ironic node went enroll → active → manageable"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := WatchRecord{
				Namespace: ns, Begin: begin,
				Before:     map[string]bmov1alpha1.ProvisioningState{"h": tc.before},
				Roles:      map[string]string{"h": "node of lab1"},
				Journeys:   map[string][]bmov1alpha1.ProvisioningState{},
				Writes:     tc.writes,
				NodeStates: map[string][]string{},
				Errors:     map[string][]string{NodeName(ns, "h"): tc.errors},
			}
			if tc.journey != nil {
				r.Journeys["h"] = tc.journey
			}
			if tc.nodes != nil {
				r.NodeStates[NodeName(ns, "h")] = tc.nodes
			}
			reps := Judge(r)
			require.Len(t, reps, 1)
			rep := reps[0]
			require.Equal(t, "h", rep.Host)
			require.Equal(t, "node of lab1", rep.Role)
			require.Equal(t, tc.disturbed, rep.Disturbed, "%s", rep)
			require.Equal(t, tc.why, rep.Why)
			require.Equal(t, tc.nodes, rep.NodeStates)
			require.Equal(t, tc.errors, rep.Errors)
			for _, ironic := range []string{"bootstrap", "target"} {
				require.Equal(t, tc.by[ironic], reps.WritesBy(ironic), ironic)
			}
			if tc.disturbed {
				require.Equal(t, []string{"h"}, reps.Disturbed())
			} else {
				require.Empty(t, reps.Disturbed())
			}
		})
	}
}

func TestJudgeHosts(t *testing.T) {
	// Hosts come from the baseline and from the target; one first seen in
	// the target takes its first state as its baseline; roles default to
	// spare; the reports are sorted.
	r := WatchRecord{
		Namespace: "ns",
		Before:    map[string]bmov1alpha1.ProvisioningState{"b": bmov1alpha1.StateProvisioned},
		Roles:     map[string]string{"b": "node of c"},
		Journeys: map[string][]bmov1alpha1.ProvisioningState{
			"a": {"", bmov1alpha1.StateAvailable},
			"c": {bmov1alpha1.StateAvailable, bmov1alpha1.StateProvisioning},
		},
	}
	reps := Judge(r)
	require.Len(t, reps, 3)
	require.Equal(t, []string{"a", "b", "c"}, []string{reps[0].Host, reps[1].Host, reps[2].Host})
	require.Equal(t, "spare", reps[0].Role)
	require.Equal(t, "node of c", reps[1].Role)
	require.Equal(t, []string{"c"}, reps.Disturbed())
	require.Equal(t, []string{"BMO state available → provisioning"}, reps[2].Why)
	require.Contains(t, reps[2].String(), "DISTURBED")
}

func TestLabConstants(t *testing.T) {
	// The lab follows the Deployment the fixture installs.
	require.Equal(t, fixture.BMONamespace, lab.IronicNamespace)
	require.Equal(t, fixture.IronicName, lab.IronicDeployment)
	d := fixture.IronicDeployment(1, true)
	require.Equal(t, lab.IronicPodValue, d.Spec.Template.Labels[lab.IronicPodLabel])
}

func TestHostPool(t *testing.T) {
	systems := lab.NewFakeSystems("pool-00", "pool-01")
	emu := &lab.BMCEmulator{URL: "http://127.0.0.1:9", Systems: systems, Recorder: lab.NewBMCRecorder("127.0.0.1:9", nil)}
	p := &hostPool{emu: emu, owner: map[string]int{}}
	a, macA, err := p.bmc("ns", "h0")
	require.NoError(t, err)
	require.Equal(t, "redfish+http://127.0.0.1:9/redfish/v1/Systems/"+systems[0].UUID, a)
	require.Equal(t, systems[0].MAC, macA)
	again, _, err := p.bmc("ns", "h0")
	require.NoError(t, err)
	require.Equal(t, a, again, "the same host gets the same BMC")
	b, _, err := p.bmc("other", "h0")
	require.NoError(t, err)
	require.NotEqual(t, a, b, "the same name in another namespace is another host")
	_, _, err = p.bmc("ns", "h1")
	require.ErrorContains(t, err, "all taken")
	s, ok := p.system("other", "h0")
	require.True(t, ok)
	require.Equal(t, systems[1], s)
}

package move

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

// TestSeeNode: the accumulator keeps the states seen and when a node
// started to sit idle with an error.
func TestSeeNode(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	s := &NodeSnapshot{Name: "ns~h"}
	s.SeeNode(nil, t0)
	require.Empty(t, s.Seen)
	s.SeeNode(&ironic.Node{Name: "ns~h", ProvisionState: "enroll"}, t0)
	s.SeeNode(&ironic.Node{Name: "ns~h", ProvisionState: "enroll", LastError: "no power"}, t0.Add(time.Second))
	s.SeeNode(&ironic.Node{Name: "ns~h", ProvisionState: "enroll", LastError: "no power"}, t0.Add(2*time.Second))
	require.Equal(t, t0.Add(time.Second), s.ErrorSince)
	s.SeeNode(&ironic.Node{Name: "ns~h", ProvisionState: "enroll", TargetProvisionState: "manageable", LastError: "no power"}, t0.Add(3*time.Second))
	require.True(t, s.ErrorSince.IsZero(), "busy again")
	s.SeeNode(&ironic.Node{Name: "ns~h", ProvisionState: "verifying", TargetProvisionState: "manageable"}, t0.Add(4*time.Second))
	s.SeeNode(&ironic.Node{Name: "ns~h", ProvisionState: "manageable"}, t0.Add(5*time.Second))
	require.Equal(t, []string{"enroll", "verifying", "manageable"}, s.Seen)
	require.True(t, s.ErrorSince.IsZero())
}

// TestIronicVerdictOf: the decision over node snapshots.
func TestIronicVerdictOf(t *testing.T) {
	moveBegan := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	const name = "pivot~h0"
	node := func(state, target, lastError string, dii ...string) *ironic.Node {
		n := &ironic.Node{Name: name, ProvisionState: state, TargetProvisionState: target, LastError: lastError, DriverInternalInfo: map[string]json.RawMessage{"deploy_boot_mode": json.RawMessage(`"uefi"`)}}
		for _, k := range dii {
			n.DriverInternalInfo[k] = json.RawMessage(`null`)
		}
		return n
	}
	errAt := func(t time.Time) ironic.Event {
		return ironic.Event{CreatedAt: t, Severity: "ERROR", EventType: "adoption", Event: "Error while attempting to adopt node"}
	}
	full := []string{"enroll", "verifying", "manageable", "adopting", "active"}
	for _, tc := range []struct {
		name        string
		exp         nodeExpectation
		snap        NodeSnapshot
		adopted     bool
		needHistory bool
		failed      string // substring; "" means not failed
		pending     string // substring
	}{
		{name: "no node expected", exp: expectNoNode, snap: NodeSnapshot{Name: name}, adopted: true},
		{name: "not registered yet", exp: expectAdopted, snap: NodeSnapshot{Name: name}, pending: "node pivot~h0 not in the target's Ironic yet"},
		{name: "adopting", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("adopting", "active", ""), Seen: full[:4]}, pending: "node pivot~h0 is adopting (target active)"},
		{name: "active, history unread", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("active", "", ""), Seen: full}, needHistory: true, pending: "history is not read yet"},
		{name: "adopted", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("active", "", ""), Seen: full, HistoryRead: true}, adopted: true},
		{name: "adopted, polls missed states", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("active", "", ""), Seen: []string{"manageable", "active"}, HistoryRead: true}, adopted: true},
		{name: "an error before the move is not this move's", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("active", "", ""), Seen: full, HistoryRead: true, History: []ironic.Event{errAt(moveBegan.Add(-time.Hour))}}, adopted: true},
		{name: "an error since the move", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("active", "", ""), Seen: full, HistoryRead: true, History: []ironic.Event{errAt(moveBegan.Add(time.Second))}}, failed: "recorded an error for node pivot~h0 since the move began: 2026-12-06T10:00:01Z adoption: Error while attempting"},
		{name: "an undated error counts", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("active", "", ""), Seen: full, HistoryRead: true, History: []ironic.Event{errAt(time.Time{})}}, failed: "recorded an error"},
		{name: "adopt failed", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("adopt failed", "", "Error while attempting to adopt node x: boot_iso missing from its instance_info."), Seen: []string{"enroll", "manageable", "adopting", "adopt failed"}},
			failed: "the target's Ironic did not adopt node pivot~h0 (adopt failed): Error while attempting to adopt node x: boot_iso missing from its instance_info."},
		{name: "adopt failed, then retried", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("adopting", "active", ""), Seen: []string{"manageable", "adopting", "adopt failed", "adopting"}},
			failed: "(adopting, states seen manageable → adopting → adopt failed → adopting)"},
		{name: "stuck in enroll with an error", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("enroll", "", "Failed to get power state"), Seen: []string{"enroll", "verifying", "enroll"}},
			failed: "(enroll, states seen enroll → verifying → enroll): Failed to get power state"},
		{name: "stuck in enroll, never verified", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("enroll", "", "Failed to get power state"), Seen: []string{"enroll"}, ErrorSince: moveBegan.Add(time.Minute)},
			failed: "(stuck in enroll for 20s): Failed to get power state"},
		{name: "in enroll with an error, not for long", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("enroll", "", "Failed to get power state"), Seen: []string{"enroll"}, ErrorSince: moveBegan.Add(time.Minute + 10*time.Second)},
			pending: `node pivot~h0 is enroll with last_error "Failed to get power state" since 2026-12-06T10:01:10Z`},
		{name: "manageable with an error", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("manageable", "", "boom"), Seen: []string{"enroll", "manageable"}, ErrorSince: moveBegan}, failed: "(stuck in manageable for 1m20s): boom"},
		{name: "enroll without an error is pending", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("enroll", "", ""), Seen: []string{"enroll"}}, pending: "node pivot~h0 is enroll"},
		{name: "deployed by this Ironic", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("active", "", "", "deploy_steps"), Seen: []string{"active"}},
			failed: "shows the target's Ironic deployed it (driver_internal_info.deploy_steps)"},
		{name: "agent heartbeats", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("active", "", "", "agent_last_heartbeat"), Seen: []string{"active"}}, failed: "driver_internal_info.agent_last_heartbeat"},
		{name: "deploy in the history", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("active", "", ""), Seen: []string{"active"}, HistoryRead: true, History: []ironic.Event{{Severity: "INFO", EventType: "deployment_start"}}}, failed: "history: deployment_start"},
		{name: "through deploying", exp: expectAdopted, snap: NodeSnapshot{Name: name, Node: node("active", "", ""), Seen: []string{"available", "deploying", "active"}}, failed: "states seen available → deploying → active"},
		{name: "registered only: available", exp: expectRegister, snap: NodeSnapshot{Name: name, Node: node("available", "", ""), Seen: []string{"enroll", "manageable", "available"}, HistoryRead: true}, adopted: true},
		{name: "registered only: clean failed", exp: expectRegister, snap: NodeSnapshot{Name: name, Node: node("clean failed", "", "no agent"), Seen: []string{"manageable", "cleaning", "clean failed"}}, failed: "did not register node pivot~h0 (clean failed): no agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := IronicVerdictOf(tc.exp, tc.snap, moveBegan, moveBegan.Add(80*time.Second), 20*time.Second)
			require.Equal(t, tc.adopted, v.Adopted, "%+v", v)
			require.Equal(t, tc.needHistory, v.NeedHistory, "%+v", v)
			if tc.failed == "" {
				require.Empty(t, v.Failed)
			} else {
				require.Contains(t, v.Failed, tc.failed)
			}
			if tc.pending != "" {
				require.Contains(t, v.Pending, tc.pending)
			}
			if tc.adopted || tc.failed != "" {
				require.Empty(t, v.Pending, "a decided node is not pending")
			}
			if tc.snap.Node != nil {
				require.Equal(t, tc.snap.Node.ProvisionState, v.Evidence.ProvisionState)
				require.Equal(t, tc.snap.Node.LastError, v.Evidence.LastError)
				require.Equal(t, tc.snap.Seen, v.Evidence.StatesSeen)
			}
		})
	}
}

// TestWriteTableHosts: the table shows each waited-for host with its evidence.
func TestWriteTableHosts(t *testing.T) {
	r := &Report{Namespace: "pivot", Hosts: []HostEvidence{
		{Name: "ext-0", Adopted: true, Evidence: EvidenceBMOIronic, Ironic: &IronicEvidence{Node: "pivot~ext-0", ProvisionState: "active", StatesSeen: []string{"enroll", "manageable", "active"}}},
		{Name: "live-0", Evidence: EvidenceBMOIronic, Failed: "x", Ironic: &IronicEvidence{Node: "pivot~live-0", ProvisionState: "adopt failed", StatesSeen: []string{"adopting", "adopt failed"}}},
		{Name: "spare-0", Adopted: true, Evidence: EvidenceBMO},
	}}
	var b strings.Builder
	r.WriteTable(&b)
	out := b.String()
	require.Contains(t, out, "Hosts (--wait-for-hosts):")
	require.Regexp(t, `ext-0 +true +bmo\+ironic +pivot~ext-0 active +enroll → manageable → active`, out)
	require.Regexp(t, `live-0 +false +bmo\+ironic +pivot~live-0 adopt failed +adopting → adopt failed`, out)
	require.Regexp(t, `spare-0 +true +bmo +- +-`, out)
	raw, err := json.Marshal(r)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"hosts":[{"name":"ext-0","adopted":true,"evidence":"bmo+ironic","ironic":{"node":"pivot~ext-0","provisionState":"active","statesSeen":["enroll","manageable","active"]}}`)
}

package mover

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseLine(t *testing.T) {
	cases := []struct {
		line string
		want Event
		ok   bool
	}{
		{line: `Creating BareMetalHost="test1-host-0" Namespace="metal3"`,
			want: Event{Action: Creating, Object: Object{Kind: "BareMetalHost", Namespace: "metal3", Name: "test1-host-0"}}, ok: true},
		{line: `Creating Namespace="metal3"`, want: Event{Action: Creating, Object: Object{Kind: "Namespace", Name: "metal3"}}, ok: true},
		{line: "Creating objects in the target cluster", want: Event{Phase: "Creating objects in the target cluster"}, ok: true},
		{line: "Moving Cluster API objects Clusters=1", want: Event{Phase: "Moving Cluster API objects"}, ok: true},
		{line: "[mover] Pausing the source cluster", want: Event{Phase: "Pausing the source cluster"}, ok: true},
		{line: "Resuming the target ClusterClasses", want: Event{Phase: "Resuming the target ClusterClasses"}, ok: true},
		{line: "Discovering Cluster API objects"},
		{line: "Error: Creating objects in the target clusterless"},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			got, ok := ParseLine(tc.line)
			require.Equal(t, tc.ok, ok)
			got.Time = tc.want.Time
			require.Equal(t, tc.want, got)
		})
	}
}

// TestEventFromCall: the library's log calls give the events the binary's
// text gives, from the same phase table.
func TestEventFromCall(t *testing.T) {
	e, ok := eventFromCall("Creating", []any{"BareMetalHost", "h-0", "Namespace", "ns"})
	require.True(t, ok)
	require.Equal(t, Event{Time: e.Time, Action: Creating, Object: Object{Kind: "BareMetalHost", Namespace: "ns", Name: "h-0"}}, e)
	for _, p := range phases {
		e, ok := eventFromCall(p, nil)
		require.True(t, ok, p)
		require.Equal(t, p, e.Phase)
		l, ok := ParseLine(p)
		require.True(t, ok, p)
		require.Equal(t, p, l.Phase)
	}
	_, ok = eventFromCall("Creating", []any{"BareMetalHost"})
	require.False(t, ok, "a malformed object call is no event")
	_, ok = eventFromCall("Discovering Cluster API objects", nil)
	require.False(t, ok)
}

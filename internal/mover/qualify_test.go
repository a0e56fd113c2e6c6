package mover_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/mover"
)

func TestQualify(t *testing.T) {
	capi := mover.Object{Group: "ipam.cluster.x-k8s.io", Kind: "IPAddress", Namespace: "ns", Name: "a"}
	m3 := mover.Object{Group: "ipam.metal3.io", Kind: "IPAddress", Namespace: "ns", Name: "a"}
	sec := mover.Object{Kind: "Secret", Namespace: "ns", Name: "s"}
	key := capi.Unqualified()
	cases := []struct {
		name     string
		planned  []mover.Object
		existing []mover.Object
		want     []mover.Object
		err      string
	}{
		{"both groups planned", []mover.Object{key, key, sec}, []mover.Object{m3, sec, capi}, []mover.Object{capi, m3, sec}, ""},
		{"one group only exists", []mover.Object{key}, []mover.Object{m3}, []mover.Object{m3}, ""},
		{"ambiguous: planned once, exists twice", []mover.Object{key}, []mover.Object{capi, m3}, nil,
			"IPAddress ns/a exists in API groups ipam.cluster.x-k8s.io and ipam.metal3.io but clusterctl moves only 1 of them"},
		{"vanished", []mover.Object{key}, nil, nil, "no such object exists"},
		{"planned more often than it exists", []mover.Object{key, key}, []mover.Object{m3}, nil, "only 1 exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mover.Qualify(tc.planned, tc.existing)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	require.Equal(t, "IPAddress.ipam.metal3.io ns/a", m3.String())
	require.Equal(t, "Secret ns/s", sec.String())
}

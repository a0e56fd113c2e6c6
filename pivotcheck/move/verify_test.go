package move

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/mover"
)

func TestCompareInventories(t *testing.T) {
	a := mover.Object{Kind: "Machine", Namespace: "ns", Name: "a"}
	b := mover.Object{Kind: "Machine", Namespace: "ns", Name: "b"}
	c := mover.Object{Kind: "Secret", Namespace: "ns", Name: "orphan"}
	root := mover.Object{Kind: "ConfigMap", Namespace: "ns", Name: "kube-root-ca.crt"}
	r := CompareInventories([]mover.Object{a, b}, map[mover.Object]int{a: 1, b: 2}, map[mover.Object]int{a: 1, c: 1, root: 1})
	require.Empty(t, r.Missing)
	require.Equal(t, []mover.Object{b}, r.Duplicated)
	require.Equal(t, []mover.Object{a}, r.StillInSource)
	require.Equal(t, []mover.Object{c}, r.LeftBehind)
	r = CompareInventories([]mover.Object{a, b}, map[mover.Object]int{a: 1}, nil)
	require.Equal(t, []mover.Object{b}, r.Missing)
}

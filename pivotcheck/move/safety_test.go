package move

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/kube"
)

func TestCheckDistinct(t *testing.T) {
	a := kube.Identity{UID: "uid-a", Server: "https://127.0.0.1:6443"}
	require.NoError(t, CheckDistinct("src", "dst", a, kube.Identity{UID: "uid-b", Server: a.Server}))
	err := CheckDistinct("bootstrap.kubeconfig", "copy.kubeconfig (context other)", a, kube.Identity{UID: "uid-a", Server: "https://localhost:6443"})
	var same *SameClusterError
	require.ErrorAs(t, err, &same)
	require.EqualError(t, err, "source bootstrap.kubeconfig (https://127.0.0.1:6443) and target copy.kubeconfig (context other) (server https://localhost:6443) are the same cluster (kube-system Namespace UID uid-a): refusing to move a namespace onto itself, nothing was changed")
}

func TestCheckResumable(t *testing.T) {
	src, dst := kube.Identity{UID: "s"}, kube.Identity{UID: "d"}
	rec := func(id kube.Identity) *ClusterRecord {
		return &ClusterRecord{Identity: id, Resolved: kube.Resolved{Kubeconfig: "/k/" + id.UID, Context: "ctx-" + id.UID}}
	}
	good := State{Namespace: "ns", Source: rec(src), Target: rec(dst)}
	cases := []struct {
		name  string
		st    State
		found bool
		ns    string
		src   kube.Identity
		dst   kube.Identity
		want  string
	}{
		{name: "same move", st: good, found: true, ns: "ns", src: src, dst: dst},
		{name: "no state (a fresh folder)", found: false, ns: "ns", src: src, dst: dst, want: "--resume needs the state of an earlier attempt, and backup folder /b holds no pivotcheck-state.json: nothing was changed; run without --resume to start a move"},
		{name: "state of an older pivotcheck", st: State{Namespace: "ns"}, found: true, ns: "ns", src: src, dst: dst, want: "records none (written by an older pivotcheck)"},
		{name: "other namespace", st: good, found: true, ns: "other", src: src, dst: dst, want: "records a move of namespace ns, not other"},
		{name: "other target", st: good, found: true, ns: "ns", src: src, dst: kube.Identity{UID: "x"}, want: "records a move from the cluster with kube-system UID s to d, not from s to x"},
		{name: "move-back with the move's folder (swapped pair)", st: good, found: true, ns: "ns", src: dst, dst: src, want: "pass the kubeconfigs of that move (its state names them: /k/s context ctx-s, /k/d context ctx-d)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckResumable("/b", c.st, c.found, c.ns, c.src, c.dst)
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, c.want)
		})
	}
}

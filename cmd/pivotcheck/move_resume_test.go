package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/mover"
	"github.com/pivotcheck/pivotcheck/pivotcheck/move"
	"github.com/pivotcheck/pivotcheck/pivotcheck/preflight"
)

func TestExplainedByInterruptedMove(t *testing.T) {
	plan := []mover.Object{
		{Group: "cluster.x-k8s.io", Kind: "Cluster", Namespace: "ns", Name: "c1"},
		{Group: "", Kind: "Secret", Namespace: "ns", Name: "s1"},
		{Group: "metal3.io", Kind: "BareMetalHost", Namespace: "ns", Name: "h1"},
	}
	started := &move.Interrupted{State: move.State{Namespace: "ns", MoveStarted: true}, Plan: plan}
	notStarted := &move.Interrupted{State: move.State{Namespace: "ns"}, Plan: plan}
	cluster := func(name, msg string) preflight.Finding {
		return preflight.Finding{Check: preflight.ClusterPaused, Severity: preflight.SeverityError, Message: msg,
			Object: preflight.ObjectRef{APIVersion: "cluster.x-k8s.io/v1beta2", Kind: "Cluster", Namespace: "ns", Name: name}}
	}
	host := preflight.Finding{Check: preflight.HostInProgress, Severity: preflight.SeverityError, Message: "BareMetalHost ns/h1 is provisioning",
		Object: preflight.ObjectRef{APIVersion: "metal3.io/v1alpha1", Kind: "BareMetalHost", Namespace: "ns", Name: "h1"}}
	owner := preflight.Finding{Check: preflight.OwnerChain, Severity: preflight.SeverityError, Message: "Secret ns/s1 is not in the plan",
		Object: preflight.ObjectRef{APIVersion: "v1", Kind: "Secret", Namespace: "ns", Name: "s1"}}
	same := preflight.Finding{Check: preflight.SameCluster, Severity: preflight.SeverityError, Object: preflight.ObjectRef{APIVersion: "v1", Kind: "Namespace", Name: "kube-system"}}
	cases := []struct {
		name string
		f    preflight.Finding
		in   *move.Interrupted
		want string // substring; "" = still blocks
	}{
		{name: "fresh move: nothing explained", f: cluster("c1", "has spec.paused true"), in: nil},
		{name: "Cluster of the plan paused once clusterctl ran", f: cluster("c1", "has spec.paused true"), in: started, want: "paused by the interrupted move's clusterctl"},
		{name: "paused before clusterctl ever ran: someone else", f: cluster("c1", "has spec.paused true"), in: notStarted},
		{name: "a Cluster the first attempt did not plan", f: cluster("other", "has spec.paused true"), in: started},
		{name: "paused by annotation: not clusterctl's doing", f: cluster("c1", "has the cluster.x-k8s.io/paused annotation"), in: started},
		{name: "host mid-provisioning still blocks", f: host, in: started},
		{name: "owner chain cut by the partial delete", f: owner, in: started, want: "already moved part of its owner chain"},
		{name: "same cluster is never explained", f: same, in: started},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := explainedByInterruptedMove(c.f, c.in)
			if c.want == "" {
				require.Empty(t, got)
				return
			}
			require.Contains(t, got, c.want)
		})
	}
}

// TestResumeCommandPinsResolvedValues: the resume command repeats what the
// defaults, $KUBECONFIG and the current context resolved to, so a resume
// reaches the same clusters with the same settings in another shell.
func TestResumeCommandPinsResolvedValues(t *testing.T) {
	cmd := newMoveCommand()
	require.NoError(t, cmd.ParseFlags([]string{"--to-kubeconfig", "rel/dst", "--fix-owners"}))
	f := &moveFlags{pivotFlags: pivotFlags{namespace: "metal3"}, ironicHandover: move.HandoverDelete, ironicGoneTimeout: 5 * time.Minute, targetIronicWait: 10 * time.Minute}
	pins := append([]pin{{"kubeconfig", "/home/op/.kube/config"}, {"kubeconfig-context", "kind-bootstrap"},
		{"to-kubeconfig", "/abs/rel/dst"}, {"to-kubeconfig-context", "target-admin"}}, f.pinsOfDefaults()...)
	got := resumeCommand(cmd, "move", "/abs/backup", pins...)
	words := strings.Fields(got)
	for _, want := range []string{"--to-kubeconfig=/abs/rel/dst", "--fix-owners=true", "--kubeconfig=/home/op/.kube/config",
		"--kubeconfig-context=kind-bootstrap", "--to-kubeconfig-context=target-admin", "--namespace=metal3",
		"--ironic-handover=delete", "--ironic-stop-timeout=5m0s", "--target-ironic-timeout=10m0s", "--backup-dir=/abs/backup", "--resume"} {
		require.Contains(t, words, want, got)
	}
	require.NotContains(t, got, "=rel/dst", "the relative path the operator typed is replaced by the resolved one")
	n := 0
	for _, w := range words {
		if strings.HasPrefix(w, "--to-kubeconfig=") {
			n++
		}
	}
	require.Equal(t, 1, n, "a pinned flag appears once: %s", got)
}

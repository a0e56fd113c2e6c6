package preflight

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/mover"
)

func TestCheckTargetNamespace(t *testing.T) {
	s := &Snapshot{Namespace: "ns", Plan: []mover.Object{{Kind: "Cluster", Namespace: "ns", Name: "c"}}}
	requireFindings(t, checkTargetNamespace(s), []want{{check: TargetNamespace, sev: SeverityInfo, name: "ns", msg: "clusterctl move creates it"}})
	s.Target.NamespaceExists = true
	s.Target.Objects = []metav1.PartialObjectMetadata{obj("cluster.x-k8s.io/v1beta2", "Cluster", "c"), obj("cluster.x-k8s.io/v1beta2", "Cluster", "other")}
	requireFindings(t, checkTargetNamespace(s), []want{
		{check: TargetNamespace, sev: SeverityInfo, name: "ns", msg: "exists"},
		{check: TargetCollision, sev: SeverityWarning, name: "c", msg: "1 Cluster object(s)"},
	})
}

func TestCheckSameCluster(t *testing.T) {
	a := kube.Identity{UID: "uid-a", Server: "https://127.0.0.1:6443"}
	cases := []struct {
		name     string
		src, dst kube.Identity
		want     []want
	}{
		{name: "two clusters", src: a, dst: kube.Identity{UID: "uid-b", Server: a.Server}},
		{name: "one cluster through localhost and 127.0.0.1", src: a, dst: kube.Identity{UID: "uid-a", Server: "https://localhost:6443"},
			want: []want{{check: SameCluster, sev: SeverityError, name: "kube-system", msg: "are the same cluster: their kube-system Namespace has the same UID uid-a"}}},
		{name: "identities not read", src: kube.Identity{}, dst: kube.Identity{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Snapshot{Namespace: "ns"}
			s.Source.Identity, s.Target.Identity = c.src, c.dst
			requireFindings(t, checkSameCluster(s), c.want)
		})
	}
}

package preflight

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

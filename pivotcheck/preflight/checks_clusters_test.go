package preflight

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

func provisionedCluster(name string) clusterv1.Cluster {
	c := clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	c.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{APIGroup: "controlplane.cluster.x-k8s.io", Kind: "KubeadmControlPlane", Name: name}
	c.Status.Initialization.InfrastructureProvisioned = ptr.To(true)
	c.Status.Initialization.ControlPlaneInitialized = ptr.To(true)
	c.Status.Conditions = []metav1.Condition{{Type: clusterv1.ClusterControlPlaneInitializedCondition, Status: metav1.ConditionTrue}}
	return c
}

func runningMachine(name string) clusterv1.Machine {
	m := clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	m.Status.NodeRef = clusterv1.MachineNodeReference{Name: name}
	return m
}

func TestCheckClusters(t *testing.T) {
	now := metav1.Now()
	cases := []struct {
		name   string
		mutate func(s *Side)
		want   []want
	}{
		{"clean", func(*Side) {}, nil},
		{"no cluster", func(s *Side) { s.Clusters = nil }, []want{{check: NoClusters, sev: SeverityWarning, name: "ns", msg: "holds no Cluster"}}},
		{"no namespace", func(s *Side) { s.NamespaceExists, s.Clusters, s.Machines = false, nil, nil },
			[]want{{check: NoClusters, sev: SeverityError, name: "ns", msg: "does not exist in the source"}}},
		{"paused", func(s *Side) { s.Clusters[0].Spec.Paused = ptr.To(true) }, []want{{check: ClusterPaused, sev: SeverityError, name: "c", msg: "spec.paused"}}},
		{"paused annotation", func(s *Side) { s.Clusters[0].Annotations = map[string]string{clusterv1.PausedAnnotation: ""} },
			[]want{{check: ClusterPaused, sev: SeverityError, name: "c", msg: "cluster.x-k8s.io/paused"}}},
		{"infrastructure", func(s *Side) { s.Clusters[0].Status.Initialization.InfrastructureProvisioned = nil },
			[]want{{check: ClusterProvision, sev: SeverityError, name: "c", msg: "infrastructureProvisioned"}}},
		{"control plane condition", func(s *Side) { s.Clusters[0].Status.Conditions = nil },
			[]want{{check: ClusterProvision, sev: SeverityError, name: "c", msg: "ControlPlaneInitialized"}}},
		{"control plane initialization", func(s *Side) { s.Clusters[0].Status.Initialization.ControlPlaneInitialized = nil },
			[]want{{check: ClusterProvision, sev: SeverityError, name: "c", msg: "controlPlaneInitialized"}}},
		{"no node", func(s *Side) { s.Machines[0].Status.NodeRef = clusterv1.MachineNodeReference{} },
			[]want{{check: MachineNodeRef, sev: SeverityError, name: "m0", msg: "no status.nodeRef"}}},
		{"machine deleting", func(s *Side) { s.Machines[0].DeletionTimestamp = &now },
			[]want{{check: MachineDeleting, sev: SeverityError, name: "m0", msg: "being deleted"}}},
		{"MHC remediation", func(s *Side) {
			s.Machines[0].Status.Conditions = []metav1.Condition{{Type: clusterv1.MachineOwnerRemediatedCondition, Status: metav1.ConditionFalse, Reason: "WaitingForRemediation"}}
		}, []want{{check: Remediation, sev: SeverityError, name: "m0", msg: "WaitingForRemediation"}}},
		{"manual remediation", func(s *Side) { s.Machines[0].Annotations = map[string]string{clusterv1.RemediateMachineAnnotation: ""} },
			[]want{{check: Remediation, sev: SeverityError, name: "m0", msg: "remediate-machine"}}},
		{"paused ClusterClass", func(s *Side) {
			cc := obj("cluster.x-k8s.io/v1beta2", "ClusterClass", "cc")
			cc.Annotations = map[string]string{clusterv1.PausedAnnotation: ""}
			s.Objects = append(s.Objects, cc)
		}, []want{{check: ClusterPaused, sev: SeverityError, name: "cc", msg: "ClusterClass ns/cc"}}},
		{"KCP remediation", func(s *Side) {
			s.ControlPlanes = []controlplanev1.KubeadmControlPlane{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c",
				Annotations: map[string]string{controlplanev1.RemediationInProgressAnnotation: "{}"}}}}
		}, []want{{check: Remediation, sev: SeverityError, name: "c", msg: "control plane remediation"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{Namespace: "ns", Source: Side{NamespaceExists: true, Clusters: []clusterv1.Cluster{provisionedCluster("c")}, Machines: []clusterv1.Machine{runningMachine("m0")}}}
			tc.mutate(&s.Source)
			requireFindings(t, checkClusters(s), tc.want)
		})
	}
}

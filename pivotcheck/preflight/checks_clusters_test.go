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
		{name: "clean", mutate: func(*Side) {}, want: nil},
		{name: "no cluster", mutate: func(s *Side) { s.Clusters = nil }, want: []want{{check: NoClusters, sev: SeverityWarning, name: "ns", msg: "holds no Cluster"}}},
		{name: "no namespace", mutate: func(s *Side) { s.NamespaceExists, s.Clusters, s.Machines = false, nil, nil },
			want: []want{{check: NoClusters, sev: SeverityError, name: "ns", msg: "does not exist in the source"}}},
		{name: "paused", mutate: func(s *Side) { s.Clusters[0].Spec.Paused = ptr.To(true) }, want: []want{{check: ClusterPaused, sev: SeverityError, name: "c", msg: "spec.paused"}}},
		{name: "paused annotation", mutate: func(s *Side) { s.Clusters[0].Annotations = map[string]string{clusterv1.PausedAnnotation: ""} },
			want: []want{{check: ClusterPaused, sev: SeverityError, name: "c", msg: "cluster.x-k8s.io/paused"}}},
		{name: "infrastructure", mutate: func(s *Side) { s.Clusters[0].Status.Initialization.InfrastructureProvisioned = nil },
			want: []want{{check: ClusterProvision, sev: SeverityError, name: "c", msg: "infrastructureProvisioned"}}},
		{name: "control plane condition", mutate: func(s *Side) { s.Clusters[0].Status.Conditions = nil },
			want: []want{{check: ClusterProvision, sev: SeverityError, name: "c", msg: "ControlPlaneInitialized"}}},
		{name: "control plane initialization", mutate: func(s *Side) { s.Clusters[0].Status.Initialization.ControlPlaneInitialized = nil },
			want: []want{{check: ClusterProvision, sev: SeverityError, name: "c", msg: "controlPlaneInitialized"}}},
		{name: "no node", mutate: func(s *Side) { s.Machines[0].Status.NodeRef = clusterv1.MachineNodeReference{} },
			want: []want{{check: MachineNodeRef, sev: SeverityError, name: "m0", msg: "no status.nodeRef"}}},
		{name: "machine deleting", mutate: func(s *Side) { s.Machines[0].DeletionTimestamp = &now },
			want: []want{{check: MachineDeleting, sev: SeverityError, name: "m0", msg: "being deleted"}}},
		{name: "MHC remediation", mutate: func(s *Side) {
			s.Machines[0].Status.Conditions = []metav1.Condition{{Type: clusterv1.MachineOwnerRemediatedCondition, Status: metav1.ConditionFalse, Reason: "WaitingForRemediation"}}
		}, want: []want{{check: Remediation, sev: SeverityError, name: "m0", msg: "WaitingForRemediation"}}},
		{name: "manual remediation", mutate: func(s *Side) { s.Machines[0].Annotations = map[string]string{clusterv1.RemediateMachineAnnotation: ""} },
			want: []want{{check: Remediation, sev: SeverityError, name: "m0", msg: "remediate-machine"}}},
		{name: "paused ClusterClass", mutate: func(s *Side) {
			cc := obj("cluster.x-k8s.io/v1beta2", "ClusterClass", "cc")
			cc.Annotations = map[string]string{clusterv1.PausedAnnotation: ""}
			s.Objects = append(s.Objects, cc)
		}, want: []want{{check: ClusterPaused, sev: SeverityError, name: "cc", msg: "ClusterClass ns/cc"}}},
		{name: "KCP remediation", mutate: func(s *Side) {
			s.ControlPlanes = []controlplanev1.KubeadmControlPlane{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c",
				Annotations: map[string]string{controlplanev1.RemediationInProgressAnnotation: "{}"}}}}
		}, want: []want{{check: Remediation, sev: SeverityError, name: "c", msg: "control plane remediation"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{Namespace: "ns", Source: Side{NamespaceExists: true, Clusters: []clusterv1.Cluster{provisionedCluster("c")}, Machines: []clusterv1.Machine{runningMachine("m0")}}}
			tc.mutate(&s.Source)
			requireFindings(t, checkClusters(s), tc.want)
		})
	}
}

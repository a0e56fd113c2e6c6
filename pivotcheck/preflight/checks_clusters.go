// Check group 3: clusters and machines.

package preflight

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

func checkClusters(s *Snapshot) []Finding {
	var out []Finding
	if !s.Source.NamespaceExists {
		// A mistyped -n would otherwise look "ready" and move nothing.
		out = append(out, finding(NoClusters, SeverityError, ref("v1", "Namespace", "", s.Namespace),
			fmt.Sprintf("namespace %s does not exist in the source: clusterctl move would move nothing", s.Namespace)))
	} else if len(s.Source.Clusters) == 0 {
		out = append(out, finding(NoClusters, SeverityWarning, ref("v1", "Namespace", "", s.Namespace),
			fmt.Sprintf("namespace %s holds no Cluster: clusterctl moves only objects labelled %s or %s", s.Namespace, labelMove, labelMoveHierarchy)))
	}
	av := clusterv1.GroupVersion.String()
	for i := range s.Source.Clusters {
		c := &s.Source.Clusters[i]
		r := ref(av, "Cluster", c.Namespace, c.Name)
		if ptr.Deref(c.Spec.Paused, false) {
			out = append(out, finding(ClusterPaused, SeverityError, r, fmt.Sprintf("Cluster %s/%s has spec.paused true: clusterctl move refuses to start", c.Namespace, c.Name)))
		} else if _, ok := c.Annotations[clusterv1.PausedAnnotation]; ok {
			out = append(out, finding(ClusterPaused, SeverityError, r, fmt.Sprintf("Cluster %s/%s has the %s annotation: clusterctl move refuses to start", c.Namespace, c.Name, clusterv1.PausedAnnotation)))
		}
		switch {
		case !ptr.Deref(c.Status.Initialization.InfrastructureProvisioned, false):
			out = append(out, finding(ClusterProvision, SeverityError, r, fmt.Sprintf("Cluster %s/%s has not status.initialization.infrastructureProvisioned: clusterctl move refuses", c.Namespace, c.Name)))
		case !meta.IsStatusConditionTrue(c.Status.Conditions, clusterv1.ClusterControlPlaneInitializedCondition):
			out = append(out, finding(ClusterProvision, SeverityError, r, fmt.Sprintf("Cluster %s/%s has no true %s condition: clusterctl move refuses", c.Namespace, c.Name, clusterv1.ClusterControlPlaneInitializedCondition)))
		case c.Spec.ControlPlaneRef.IsDefined() && !ptr.Deref(c.Status.Initialization.ControlPlaneInitialized, false):
			out = append(out, finding(ClusterProvision, SeverityError, r, fmt.Sprintf("Cluster %s/%s has not status.initialization.controlPlaneInitialized: clusterctl move refuses", c.Namespace, c.Name)))
		}
	}
	// clusterctl ≥ 1.12 also refuses paused ClusterClasses (annotation only).
	for i := range s.Source.Objects {
		o := &s.Source.Objects[i]
		if o.Kind != "ClusterClass" || o.GroupVersionKind().Group != clusterv1.GroupVersion.Group {
			continue
		}
		if _, ok := o.Annotations[clusterv1.PausedAnnotation]; ok {
			out = append(out, finding(ClusterPaused, SeverityError, metaRef(o), fmt.Sprintf("ClusterClass %s/%s has the %s annotation: clusterctl move refuses to start", o.Namespace, o.Name, clusterv1.PausedAnnotation)))
		}
	}
	for i := range s.Source.Machines {
		m := &s.Source.Machines[i]
		r := ref(av, "Machine", m.Namespace, m.Name)
		if !m.Status.NodeRef.IsDefined() {
			out = append(out, finding(MachineNodeRef, SeverityError, r, fmt.Sprintf("Machine %s/%s has no status.nodeRef: clusterctl move refuses", m.Namespace, m.Name)))
		}
		if m.DeletionTimestamp != nil {
			out = append(out, finding(MachineDeleting, SeverityError, r, fmt.Sprintf("Machine %s/%s is being deleted (since %s): its host is being deprovisioned", m.Namespace, m.Name, m.DeletionTimestamp.UTC().Format("15:04:05"))))
		}
		if c := meta.FindStatusCondition(m.Status.Conditions, clusterv1.MachineOwnerRemediatedCondition); c != nil && c.Status == metav1.ConditionFalse {
			out = append(out, finding(Remediation, SeverityError, r, fmt.Sprintf("Machine %s/%s is being remediated (%s: %s)", m.Namespace, m.Name, clusterv1.MachineOwnerRemediatedCondition, c.Reason)))
		} else if _, ok := m.Annotations[clusterv1.RemediateMachineAnnotation]; ok {
			out = append(out, finding(Remediation, SeverityError, r, fmt.Sprintf("Machine %s/%s has the %s annotation: a remediation is requested", m.Namespace, m.Name, clusterv1.RemediateMachineAnnotation)))
		}
	}
	for i := range s.Source.ControlPlanes {
		k := &s.Source.ControlPlanes[i]
		if _, ok := k.Annotations[controlplanev1.RemediationInProgressAnnotation]; ok {
			out = append(out, finding(Remediation, SeverityError, ref(controlplanev1.GroupVersion.String(), "KubeadmControlPlane", k.Namespace, k.Name),
				fmt.Sprintf("KubeadmControlPlane %s/%s has the %s annotation: a control plane remediation is in progress", k.Namespace, k.Name, controlplanev1.RemediationInProgressAnnotation)))
		}
	}
	return out
}

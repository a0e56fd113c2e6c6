package preflight

import (
	"fmt"
	"sort"
	"strings"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/utils/ptr"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/podenv"
)

// Label keys clusterctl reads (pivot-facts.md section 2).
const (
	labelClusterctl    = clusterctlv1.ClusterctlLabel
	labelMove          = clusterctlv1.ClusterctlMoveLabel
	labelMoveHierarchy = clusterctlv1.ClusterctlMoveHierarchyLabel
	labelProvider      = clusterv1.ProviderNameLabel
	labelClusterName   = clusterv1.ClusterNameLabel
)

var (
	hostKind = kindKey{bmov1alpha1.GroupVersion.Group, "BareMetalHost"}
	hwKind   = kindKey{bmov1alpha1.GroupVersion.Group, "HardwareData"}
)

// checkFunc is one pure check over a snapshot.
type checkFunc func(s *Snapshot) []Finding

// checks run in this order; each may emit several IDs of its group.
var checks = []checkFunc{
	checkCRDs, checkProviders, checkBMO, checkClusters, checkHosts, checkStatusAnnotations, checkBlockMove,
	checkIronic, checkIronicExternal, checkOwnerChain, checkTargetNamespace, checkManual,
}

// Evaluate runs every check over s; findings come sorted by check order,
// then object.
func Evaluate(s *Snapshot) []Finding {
	out := []Finding{}
	for _, c := range checks {
		out = append(out, c(s)...)
	}
	order := map[string]int{}
	for i, c := range Catalog {
		order[c.ID] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if order[a.Check] != order[b.Check] {
			return order[a.Check] < order[b.Check]
		}
		if a.Object.Namespace != b.Object.Namespace {
			return a.Object.Namespace < b.Object.Namespace
		}
		if a.Object.Kind != b.Object.Kind {
			return a.Object.Kind < b.Object.Kind
		}
		return a.Object.Name < b.Object.Name
	})
	return out
}

func finding(check string, sev Severity, obj ObjectRef, msg string) Finding {
	hint := ""
	for _, c := range Catalog {
		if c.ID == check {
			hint = c.Fix
		}
	}
	return Finding{Check: check, Severity: sev, Object: obj, Message: msg, Hint: hint}
}

func withHint(f Finding, hint string) Finding { f.Hint = hint; return f }

func ref(apiVersion, kind, ns, name string) ObjectRef {
	return ObjectRef{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name}
}

func crdRef(crd *apiextensionsv1.CustomResourceDefinition) ObjectRef {
	return ref("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", crd.Name)
}

func metaRef(o *metav1.PartialObjectMetadata) ObjectRef {
	return ref(o.APIVersion, o.Kind, o.Namespace, o.Name)
}

// ---- 1. CRD labels ----

func requiredLabels(crd *apiextensionsv1.CustomResourceDefinition) []string {
	k := kindKey{crd.Spec.Group, crd.Spec.Names.Kind}
	switch {
	case k == hostKind:
		// move-hierarchy alone makes clusterctl move every host.
		return []string{labelClusterctl, labelMoveHierarchy}
	case k.Group == bmov1alpha1.GroupVersion.Group:
		// BMO sets owner references on these only once it registered the
		// host, and never on some: the move label takes them all.
		p, _ := bmo.Policy(k.Kind)
		return p.Labels
	}
	return []string{labelClusterctl}
}

func missingLabels(crd *apiextensionsv1.CustomResourceDefinition) []string {
	var out []string
	for _, l := range requiredLabels(crd) {
		if _, ok := crd.Labels[l]; !ok {
			out = append(out, l)
		}
	}
	return out
}

func countByKind(objs []metav1.PartialObjectMetadata) map[kindKey]int {
	out := map[kindKey]int{}
	for i := range objs {
		out[kindKey{objs[i].GroupVersionKind().Group, objs[i].Kind}]++
	}
	return out
}

// unlabelledKinds are source kinds clusterctl does not discover at all.
func unlabelledKinds(s *Snapshot) map[kindKey]bool {
	out := map[kindKey]bool{}
	for i := range s.Source.CRDs {
		crd := &s.Source.CRDs[i]
		if relevantCRD(crd) {
			if _, ok := crd.Labels[labelClusterctl]; !ok {
				out[kindKey{crd.Spec.Group, crd.Spec.Names.Kind}] = true
			}
		}
	}
	return out
}

func checkCRDs(s *Snapshot) []Finding {
	var out []Finding
	counts := countByKind(s.Source.Objects)
	// edited counts objects whose spec changed after creation (generation > 1).
	edited := map[kindKey]int{}
	for i := range s.Source.Objects {
		if o := &s.Source.Objects[i]; o.Generation > 1 {
			edited[kindKey{o.GroupVersionKind().Group, o.Kind}]++
		}
	}
	for i := range s.Source.CRDs {
		crd := &s.Source.CRDs[i]
		if !relevantCRD(crd) {
			continue
		}
		k := kindKey{crd.Spec.Group, crd.Spec.Names.Kind}
		if miss := missingLabels(crd); len(miss) > 0 {
			n := counts[k]
			sev := SeverityWarning
			msg := fmt.Sprintf("CRD %s lacks label %s; namespace %s has no %s objects now, a later one would be left behind", crd.Name, strings.Join(miss, ", "), s.Namespace, k.Kind)
			p, _ := bmo.Policy(k.Kind)
			switch {
			case k.Group == bmov1alpha1.GroupVersion.Group && p.CreatedByBMO && n > 0 && edited[k] == 0:
				// BMO creates these empty for every registered host: what is
				// lost is only what a user wrote into them since.
				msg = fmt.Sprintf("CRD %s lacks label %s: clusterctl move leaves the %d %s objects of namespace %s behind; BMO created them and none was edited since (generation 1), but settings written later (or at creation) would be lost: the target's BMO creates empty ones", crd.Name, strings.Join(miss, ", "), n, k.Kind, s.Namespace)
			case k.Group == bmov1alpha1.GroupVersion.Group && p.CreatedByBMO && n > 0:
				sev = SeverityError
				msg = fmt.Sprintf("CRD %s lacks label %s: clusterctl move leaves the %d %s objects of namespace %s behind, %d of them edited since BMO created them (%s), and the target's BMO creates empty ones", crd.Name, strings.Join(miss, ", "), n, k.Kind, s.Namespace, edited[k], p.Why)
			case n > 0 || k == hostKind || k == hwKind:
				sev = SeverityError
				msg = fmt.Sprintf("CRD %s lacks label %s: clusterctl move leaves the %d %s objects of namespace %s behind (or moves them without their descendants)", crd.Name, strings.Join(miss, ", "), n, k.Kind, s.Namespace)
			}
			out = append(out, withHint(finding(CRDLabelsSource, sev, crdRef(crd), msg), labelHint(crd, miss)))
		}
	}
	for i := range s.Target.CRDs {
		crd := &s.Target.CRDs[i]
		if !relevantCRD(crd) {
			continue
		}
		if miss := missingLabels(crd); len(miss) > 0 {
			out = append(out, withHint(finding(CRDLabelsTarget, SeverityWarning, crdRef(crd),
				fmt.Sprintf("CRD %s in the target lacks label %s: a later move back would leave its objects behind", crd.Name, strings.Join(miss, ", "))), labelHint(crd, miss)))
		}
	}
	for _, side := range []struct {
		name string
		crds []apiextensionsv1.CustomResourceDefinition
	}{{"source", s.Source.CRDs}, {"target", s.Target.CRDs}} {
		for i := range side.crds {
			crd := &side.crds[i]
			if crd.Spec.Group != bmov1alpha1.GroupVersion.Group {
				continue
			}
			if v, ok := crd.Labels[labelProvider]; ok {
				out = append(out, withHint(finding(CRDProviderLabel, SeverityWarning, crdRef(crd),
					fmt.Sprintf("CRD %s in the %s carries %s=%s: `clusterctl delete --include-crd` of that provider would delete the CRD and every object of it", crd.Name, side.name, labelProvider, v)),
					fmt.Sprintf("kubectl label crd %s %s-", crd.Name, labelProvider)))
			}
		}
	}

	// The target must know every kind that moves, at the version clusterctl copies.
	target := map[kindKey]*apiextensionsv1.CustomResourceDefinition{}
	for i := range s.Target.CRDs {
		crd := &s.Target.CRDs[i]
		target[kindKey{crd.Spec.Group, crd.Spec.Names.Kind}] = crd
	}
	for i := range s.Source.CRDs {
		crd := &s.Source.CRDs[i]
		k := kindKey{crd.Spec.Group, crd.Spec.Names.Kind}
		needed := counts[k] > 0 || k == hostKind || k == hwKind ||
			(crd.Spec.Group == "infrastructure.cluster.x-k8s.io" && strings.HasPrefix(k.Kind, "Metal3"))
		if !relevantCRD(crd) || !needed {
			continue
		}
		t := target[k]
		if t == nil {
			out = append(out, finding(CRDTargetMissing, SeverityError, crdRef(crd),
				fmt.Sprintf("the target has no CRD %s, so clusterctl cannot create the %d %s objects there", crd.Name, counts[k], k.Kind)))
			continue
		}
		v := storageVersion(crd)
		served := false
		for _, tv := range t.Spec.Versions {
			if tv.Name == v && tv.Served {
				served = true
			}
		}
		if !served {
			out = append(out, finding(CRDTargetVersion, SeverityError, crdRef(t),
				fmt.Sprintf("CRD %s in the target does not serve %s, the source's storage version in which clusterctl copies the objects", t.Name, v)))
		}
	}
	return out
}

func labelHint(crd *apiextensionsv1.CustomResourceDefinition, miss []string) string {
	parts := make([]string, len(miss))
	for i, l := range miss {
		parts[i] = l + "="
	}
	return fmt.Sprintf("kubectl label crd %s %s (or run the pivotcheck KRM function on the manifests)", crd.Name, strings.Join(parts, " "))
}

// ---- 2. Providers and BMO ----

func providerRef(p *clusterctlv1.Provider) ObjectRef {
	return ref(clusterctlv1.GroupVersion.String(), "Provider", p.Namespace, p.Name)
}

// checkProviders applies clusterctl's own rule (checkTargetProviders): for
// each source provider the target has the same name and type at ≥ version.
func checkProviders(s *Snapshot) []Finding {
	var out []Finding
	for i := range s.Source.Providers {
		sp := &s.Source.Providers[i]
		sv, err := version.ParseSemantic(sp.Version)
		if err != nil {
			out = append(out, finding(ProviderInventory, SeverityError, providerRef(sp),
				fmt.Sprintf("source provider %s has version %q, which clusterctl cannot parse", sp.InstanceName(), sp.Version)))
			continue
		}
		var best *version.Version
		bestRaw := ""
		for j := range s.Target.Providers {
			tp := &s.Target.Providers[j]
			if !sp.SameAs(*tp) {
				continue
			}
			tv, err := version.ParseSemantic(tp.Version)
			if err != nil {
				out = append(out, finding(ProviderInventory, SeverityError, providerRef(tp),
					fmt.Sprintf("target provider %s has version %q, which clusterctl cannot parse", tp.InstanceName(), tp.Version)))
				continue
			}
			if best == nil || best.LessThan(tv) {
				best, bestRaw = tv, tp.Version
			}
		}
		switch {
		case best == nil:
			out = append(out, finding(ProviderInventory, SeverityError, providerRef(sp),
				fmt.Sprintf("provider %s %s (%s) is not installed in the target: clusterctl move refuses", sp.Type, sp.ProviderName, sp.Version)))
		case !best.AtLeast(sv):
			out = append(out, finding(ProviderInventory, SeverityError, providerRef(sp),
				fmt.Sprintf("provider %s %s is %s in the target but %s in the source: clusterctl move refuses", sp.Type, sp.ProviderName, bestRaw, sp.Version)))
		}
	}
	return out
}

// bmoOf finds the baremetal-operator controller Deployment and its image tag.
func bmoOf(side *Side) (*appsv1.Deployment, string) { return bmo.Find(side.Deployments) }

func available(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func deploymentRef(d *appsv1.Deployment) ObjectRef {
	return ref("apps/v1", "Deployment", d.Namespace, d.Name)
}

// bmhWebhook returns the validating webhook that covers BareMetalHosts.
func bmhWebhook(side *Side) (*admissionregistrationv1.ValidatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhook) {
	for i := range side.Webhooks {
		cfg := &side.Webhooks[i]
		for j := range cfg.Webhooks {
			w := &cfg.Webhooks[j]
			for _, r := range w.Rules {
				if has(r.APIGroups, bmov1alpha1.GroupVersion.Group) && has(r.Resources, "baremetalhosts") {
					return cfg, w
				}
			}
		}
	}
	return nil, nil
}

func has(list []string, v string) bool {
	for _, x := range list {
		if x == v || x == "*" {
			return true
		}
	}
	return false
}

func checkBMO(s *Snapshot) []Finding {
	var out []Finding
	td, ttag := bmoOf(&s.Target)
	sd, stag := bmoOf(&s.Source)
	switch {
	case td == nil:
		out = append(out, finding(BMOTarget, SeverityError, ref("apps/v1", "Deployment", bmo.Namespace, bmo.DeploymentName),
			"the target runs no baremetal-operator Deployment: nobody would adopt the hosts after the move"))
	case !available(td):
		out = append(out, finding(BMOTarget, SeverityError, deploymentRef(td),
			fmt.Sprintf("baremetal-operator Deployment %s/%s in the target is not Available", td.Namespace, td.Name)))
	}
	if cfg, _ := bmhWebhook(&s.Target); cfg == nil {
		out = append(out, finding(BMOWebhookTarget, SeverityWarning, ref("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "", ""),
			"the target has no validating webhook for baremetalhosts.metal3.io: status annotations would not be validated"))
	}
	if td != nil && sd != nil {
		tv, sv := bmo.ParseVersion(ttag), bmo.ParseVersion(stag)
		switch {
		case tv == nil || sv == nil:
			out = append(out, finding(BMOVersion, SeverityWarning, deploymentRef(td),
				fmt.Sprintf("cannot compare BMO versions (source image tag %q, target %q): make sure the target's BMO is at least the source's", stag, ttag)))
		case tv.LessThan(sv):
			out = append(out, finding(BMOVersion, SeverityError, deploymentRef(td),
				fmt.Sprintf("BMO in the target is %s but %s in the source: the target's webhook rejects or drops status annotation fields of the newer schema", ttag, stag)))
		}
	}
	// The source webhook must keep answering until clusterctl finished deleting.
	if cfg, w := bmhWebhook(&s.Source); cfg != nil && ptr.Deref(w.FailurePolicy, admissionregistrationv1.Fail) == admissionregistrationv1.Fail {
		if sd == nil || !available(sd) {
			out = append(out, finding(BMOSource, SeverityError, ref("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "", cfg.Name),
				fmt.Sprintf("webhook %s (failurePolicy Fail) covers BareMetalHosts in the source but no available baremetal-operator answers it: every pause, annotation and finalizer patch of the move would be denied", w.Name)))
		}
	}
	return out
}

// ---- 3. Clusters and machines ----

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

// ---- 4. Hosts (the rules live in internal/hostsafety) ----

var hazardCheck = map[hostsafety.Reason]struct {
	id  string
	sev Severity
}{
	hostsafety.InProgressState:     {HostInProgress, SeverityError},
	hostsafety.BusyOperational:     {HostBusy, SeverityError},
	hostsafety.PendingReboot:       {HostPendingReboot, SeverityError},
	hostsafety.ReinspectRequested:  {HostReinspect, SeverityError},
	hostsafety.Deleting:            {HostDeleting, SeverityError},
	hostsafety.ErrorStatus:         {HostError, SeverityError},
	hostsafety.PoweredOnAvailable:  {HostPoweredOn, SeverityWarning},
	hostsafety.DetachedOperational: {HostDetached, SeverityInfo},
	hostsafety.UserPaused:          {HostForeignPause, SeverityError},
	hostsafety.UserPausedCarried:   {HostForeignPause, SeverityWarning},
	hostsafety.NoStatusAnnotation:  {StatusMissing, SeverityInfo},
	hostsafety.PausedWithoutStatus: {StatusMissing, SeverityError},
}

func hostRef(h *bmov1alpha1.BareMetalHost) ObjectRef {
	return ref(bmov1alpha1.GroupVersion.String(), "BareMetalHost", h.Namespace, h.Name)
}

func checkHosts(s *Snapshot) []Finding {
	var out []Finding
	for i := range s.Source.Hosts {
		h := &s.Source.Hosts[i]
		for _, hz := range hostsafety.Assess(h) {
			m, ok := hazardCheck[hz.Reason]
			if !ok {
				continue
			}
			msg := fmt.Sprintf("BareMetalHost %s/%s %s", h.Namespace, h.Name, hz.Detail)
			if hz.Reason == hostsafety.NoStatusAnnotation {
				msg += ": CAPM3 writes it when the move pauses the Cluster (CAPM3 ≤ 1.13 may race clusterctl's copy; `pivotcheck move` closes the race, and the target guard of config/target turns it into a retry)"
			}
			out = append(out, finding(m.id, m.sev, hostRef(h), msg))
		}
	}
	return out
}

// ---- 5. Status annotations ----

func checkStatusAnnotations(s *Snapshot) []Finding {
	var out []Finding
	var targetBMO *version.Version
	if d, tag := bmoOf(&s.Target); d != nil {
		targetBMO = bmo.ParseVersion(tag)
	}
	for i := range s.Source.Hosts {
		h := &s.Source.Hosts[i]
		raw, ok := h.Annotations[bmov1alpha1.StatusAnnotation]
		if !ok {
			if !hostsafety.Consumed(h) {
				out = append(out, finding(StatusMissing, SeverityWarning, hostRef(h),
					fmt.Sprintf("BareMetalHost %s/%s is not consumed, so CAPM3 will not write its %s annotation: `pivotcheck move` writes it; a plain clusterctl move re-inspects the host in the target", h.Namespace, h.Name, bmov1alpha1.StatusAnnotation)))
			}
			continue
		}
		if _, err := bmo.DecodeStatus(raw, targetBMO); err != nil {
			out = append(out, finding(StatusInvalid, SeverityError, hostRef(h),
				fmt.Sprintf("the %s annotation of BareMetalHost %s/%s %s", bmov1alpha1.StatusAnnotation, h.Namespace, h.Name, err)))
		}
	}
	return out
}

// blockMoveAnnotation is clusterctl's (clusterctlv1.BlockMoveAnnotation).
const blockMoveAnnotation = clusterctlv1.BlockMoveAnnotation

// capm3Running reports whether a CAPM3 controller Deployment (by image, or
// by the name `clusterctl init` gives it) is available in the side.
func capm3Running(side *Side) bool {
	for i := range side.Deployments {
		d := &side.Deployments[i]
		isCAPM3 := strings.HasSuffix(d.Name, "capm3-controller-manager")
		for _, c := range d.Spec.Template.Spec.Containers {
			if repo, _ := bmo.SplitImage(c.Image); strings.HasSuffix(repo, "/cluster-api-provider-metal3") {
				isCAPM3 = true
			}
		}
		if isCAPM3 && (deploymentAvailable(d) || d.Status.AvailableReplicas > 0) {
			return true
		}
	}
	return false
}

func deploymentAvailable(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// checkBlockMove explains clusterctl's block-move annotation. CAPM3 1.14
// sets it on every consumed, unpaused host (EnsureBlockMoveAnnotation in
// baremetal/metal3machine_manager.go) and removes it in SetPauseAnnotation
// once the host is paused with its status annotation, or at once when the
// host is paused already (by pivotcheck's early pause, say), in the first
// Metal3Machine reconcile after the move paused the Cluster.
func checkBlockMove(s *Snapshot) []Finding {
	var out []Finding
	hosts := map[string]*bmov1alpha1.BareMetalHost{}
	for i := range s.Source.Hosts {
		hosts[s.Source.Hosts[i].Name] = &s.Source.Hosts[i]
	}
	capm3 := capm3Running(&s.Source)
	var unpaused, paused []string
	for i := range s.Source.Objects {
		o := &s.Source.Objects[i]
		if _, ok := o.Annotations[blockMoveAnnotation]; !ok {
			continue
		}
		if h := hosts[o.Name]; h != nil && o.Kind == "BareMetalHost" && hostsafety.Consumed(h) {
			if v, ok := h.Annotations[bmov1alpha1.PausedAnnotation]; ok {
				paused = append(paused, fmt.Sprintf("%s (paused by %q)", h.Name, v))
			} else {
				unpaused = append(unpaused, h.Name)
			}
			continue
		}
		out = append(out, finding(BlockMove, SeverityWarning, metaRef(o),
			fmt.Sprintf("%s %s/%s carries %s, which CAPM3 sets only on consumed BareMetalHosts: something else blocks the move, and clusterctl move waits for it to go (about 6 minutes), then fails", o.Kind, o.Namespace, o.Name, blockMoveAnnotation)))
	}
	all := append(append([]string{}, unpaused...), paused...)
	if len(all) == 0 {
		return out
	}
	nsRef := ref("v1", "Namespace", "", s.Namespace)
	if !capm3 {
		return append(out, finding(BlockMove, SeverityError, nsRef,
			fmt.Sprintf("%d consumed BareMetalHost(s) carry %s, which CAPM3 ≥ 1.14 removes once it has paused the host and written its status annotation, but no CAPM3 controller runs in the source to remove it: clusterctl move would wait about 6 minutes and fail: %s", len(all), blockMoveAnnotation, hostsafety.Summarize(all, 5))))
	}
	msg := fmt.Sprintf("%d consumed BareMetalHost(s) carry %s, as CAPM3 ≥ 1.14 keeps it on every host that is not paused: clusterctl move waits until CAPM3 has paused each host and written its status annotation, which it does once the move pauses the Cluster, and then removes it: %s", len(all), blockMoveAnnotation, hostsafety.Summarize(all, 5))
	if len(paused) > 0 {
		msg += fmt.Sprintf(". %d of them are paused already (by `pivotcheck move` or a user): CAPM3 removes the annotation from a paused host in the same step, without writing a status annotation of its own", len(paused))
	}
	return append(out, finding(BlockMove, SeverityInfo, nsRef, msg))
}

// ---- 6. Ironic and keepalived ----

// vip is keepalived's VIP configuration (the only variables its image reads).
type vip struct {
	IP, Interface, VirtualIPs string
}

func (v vip) complete() bool { return (v.IP != "" && v.Interface != "") || v.VirtualIPs != "" }

func (v vip) String() string {
	if v.VirtualIPs != "" {
		return "KEEPALIVED_VIRTUAL_IPS=" + v.VirtualIPs
	}
	return fmt.Sprintf("PROVISIONING_IP=%s PROVISIONING_INTERFACE=%s", v.IP, v.Interface)
}

func isKeepalived(c corev1.Container) bool {
	repo, _ := bmo.SplitImage(c.Image)
	return c.Name == "ironic-endpoint-keepalived" || c.Name == "keepalived" || strings.HasSuffix(repo, "/keepalived")
}

func vipOf(env map[string]string) vip {
	return vip{IP: env["PROVISIONING_IP"], Interface: env["PROVISIONING_INTERFACE"], VirtualIPs: env["KEEPALIVED_VIRTUAL_IPS"]}
}

// ironicTemplate is one Ironic workload's pod template.
type ironicTemplate struct {
	ref      ObjectRef
	ns       string
	template corev1.PodTemplateSpec
}

// ironicTemplates lists the Ironic workloads of a side, running or not.
func ironicTemplates(side *Side, workloads []ironic.Workload) []ironicTemplate {
	var out []ironicTemplate
	named := func(ns, name string) bool {
		for _, w := range workloads {
			if (w.Namespace == "*" || w.Namespace == ns) && w.Name == name {
				return true
			}
		}
		return false
	}
	for i := range side.Deployments {
		d := &side.Deployments[i]
		if named(d.Namespace, d.Name) || ironic.IsIronicPodTemplate(d.Spec.Template) {
			out = append(out, ironicTemplate{deploymentRef(d), d.Namespace, d.Spec.Template})
		}
	}
	for i := range side.DaemonSets {
		d := &side.DaemonSets[i]
		if named(d.Namespace, d.Name) || ironic.IsIronicPodTemplate(d.Spec.Template) {
			out = append(out, ironicTemplate{ref("apps/v1", "DaemonSet", d.Namespace, d.Name), d.Namespace, d.Spec.Template})
		}
	}
	return out
}

// keepalivedVIP returns the VIP settings of the first keepalived container.
func keepalivedVIP(side *Side, ts []ironicTemplate) (vip, *ironicTemplate, bool) {
	for i := range ts {
		for _, c := range ts[i].template.Spec.Containers {
			if isKeepalived(c) {
				return vipOf(podenv.Resolve(c, ts[i].ns, side.ConfigMaps)), &ts[i], true
			}
		}
	}
	return vip{}, nil, false
}

// sourceVIP reads the source's VIP settings: its (stopped or running)
// Ironic's keepalived container, else BMO's ironic-bmo-configmap.
func sourceVIP(s *Snapshot) (vip, string) {
	if v, t, ok := keepalivedVIP(&s.Source, ironicTemplates(&s.Source, s.IronicWorkloads)); ok && v.complete() {
		return v, t.ref.String()
	}
	for i := range s.Source.ConfigMaps {
		cm := &s.Source.ConfigMaps[i]
		if cm.Name == "ironic-bmo-configmap" {
			if v := vipOf(cm.Data); v.complete() {
				return v, "ConfigMap " + cm.Namespace + "/" + cm.Name
			}
		}
	}
	return vip{}, ""
}

func (s *Snapshot) workloads() []ironic.Workload {
	if len(s.IronicWorkloads) == 0 {
		return ironic.DefaultWorkloads
	}
	return s.IronicWorkloads
}

// sourceIronicEndpoint is where the source BMO sends its Ironic calls.
func sourceIronicEndpoint(s *Snapshot) (string, bool) {
	d, _ := bmoOf(&s.Source)
	return bmo.IronicEndpoint(d, s.Source.ConfigMaps)
}

// checkIronicExternal: no Ironic in the source cluster is either an Ironic
// already stopped or one running outside the cluster (local containers on
// a kind host). The API cannot tell them apart, so the finding names the
// endpoint the source BMO uses; an answer from that endpoint, when the
// target's BMO does not use the same one, is evidence that one runs.
func checkIronicExternal(s *Snapshot) []Finding {
	if len(ironic.Running(s.Source.ironicSnapshot(), s.workloads())) > 0 {
		return nil
	}
	d, _ := bmoOf(&s.Source)
	r := ref("apps/v1", "Deployment", bmo.Namespace, bmo.DeploymentName)
	if d != nil {
		r = deploymentRef(d)
	}
	ep, ok := sourceIronicEndpoint(s)
	const cannotTell = "pivotcheck cannot tell an Ironic already stopped from one running outside the cluster (a kind bootstrap often runs Ironic as local containers)"
	var msg string
	switch {
	case d == nil:
		msg = "no Ironic runs in the source cluster and no BMO Deployment there names an Ironic endpoint: " + cannotTell
	case !ok:
		msg = fmt.Sprintf("no Ironic runs in the source cluster and %s sets neither IRONIC_ENDPOINT nor IRONIC_NAME: %s", r, cannotTell)
	default:
		msg = fmt.Sprintf("no Ironic runs in the source cluster, but %s sends its Ironic calls to %s: %s", r, ep, cannotTell)
	}
	sev := SeverityWarning
	if p := s.SourceIronicProbe; p != nil {
		td, _ := bmoOf(&s.Target)
		tep, _ := bmo.IronicEndpoint(td, s.Target.ConfigMaps)
		switch {
		case p.Answered() && tep == ep:
			msg += fmt.Sprintf("; %s, but the target's BMO uses the same endpoint, so that may be the target's Ironic", p)
		case p.Answered():
			msg += fmt.Sprintf("; %s: an Ironic runs there, outside the source cluster", p)
			sev = SeverityError
		default:
			msg += fmt.Sprintf("; the probe of %s got no answer within %s, as expected of a stopped Ironic", p.URL, SourceProbeTimeout)
		}
	}
	return []Finding{withHint(finding(IronicExternal, sev, r, msg),
		"stop that Ironic, then run pivotcheck move with --ironic-handover=external --confirm-external-ironic-stopped (or --ironic-handover=already-removed)")}
}

func checkIronic(s *Snapshot) []Finding {
	var out []Finding
	workloads := s.workloads()
	for _, in := range ironic.Running(s.Source.ironicSnapshot(), workloads) {
		out = append(out, withHint(finding(IronicSource, SeverityError, instanceRef(in),
			fmt.Sprintf("Ironic still runs in the source: %s; two Ironic/dnsmasq/keepalived instances fight over the provisioning VIP and DHCP", in)), in.Remove))
	}

	running := ironic.Running(s.Target.ironicSnapshot(), workloads)
	if len(running) == 0 {
		out = append(out, finding(IronicTarget, SeverityError, ref("apps/v1", "Deployment", "baremetal-operator-system", "baremetal-operator-ironic"),
			"no Ironic runs in the target: BMO there could not register or adopt the hosts"))
	} else {
		v, t, ok := keepalivedVIP(&s.Target, ironicTemplates(&s.Target, s.IronicWorkloads))
		first := running[0]
		switch {
		case !ok:
			out = append(out, finding(KeepalivedTarget, SeverityError, instanceRef(first),
				fmt.Sprintf("the target's Ironic %s/%s has no keepalived container: nothing holds the provisioning VIP", first.Namespace, first.Name)))
		case !v.complete():
			out = append(out, finding(KeepalivedTarget, SeverityError, t.ref,
				fmt.Sprintf("the keepalived container of %s has neither PROVISIONING_IP+PROVISIONING_INTERFACE nor KEEPALIVED_VIRTUAL_IPS (from env or envFrom ConfigMaps)", t.ref)))
		default:
			sv, from := sourceVIP(s)
			switch {
			case from == "":
				out = append(out, finding(KeepalivedVIP, SeverityWarning, t.ref,
					fmt.Sprintf("the source's VIP settings could not be read (no Ironic workload or ironic-bmo-configmap in the source); the target uses %s: compare them with the bootstrap's Ironic by hand", v)))
			case sv != v:
				out = append(out, finding(KeepalivedVIP, SeverityError, t.ref,
					fmt.Sprintf("keepalived in the target uses %s but the source (%s) uses %s: hosts and their IPA would lose the Ironic endpoint", v, from, sv)))
			}
		}
	}
	if p := s.IronicProbe; p != nil {
		if problem := p.Problem(); problem != "" {
			out = append(out, finding(IronicAPI, SeverityError, ref("", "URL", "", p.URL), problem))
		}
	}
	return out
}

func instanceRef(in ironic.Instance) ObjectRef {
	av := "apps/v1"
	switch in.Kind {
	case "Pod":
		av = "v1"
	case "Ironic":
		av = ironic.IrSOGroup + "/v1alpha1"
	}
	return ref(av, in.Kind, in.Namespace, in.Name)
}

// ---- 7. Owner chain (clusterctl's own dry-run plan vs what must move) ----

type objKey struct{ Kind, Namespace, Name string }

// clusterSecretSuffixes are the Secrets clusterctl moves with their Cluster by name.
var clusterSecretSuffixes = []string{"kubeconfig", "ca", "etcd", "sa", "proxy"}

// mustMove returns, per object, why it has to move (empty: it need not).
func mustMove(s *Snapshot) map[objKey]string {
	out := map[objKey]string{}
	clusters := map[string]bool{}
	for i := range s.Source.Clusters {
		clusters[s.Source.Clusters[i].Name] = true
	}
	hostSecrets := map[string]string{}
	for i := range s.Source.Hosts {
		h := &s.Source.Hosts[i]
		add := func(ref *corev1.SecretReference, what string) {
			if ref != nil && ref.Name != "" && (ref.Namespace == "" || ref.Namespace == h.Namespace) {
				hostSecrets[ref.Name] = fmt.Sprintf("the %s Secret of BareMetalHost %s", what, h.Name)
			}
		}
		if h.Spec.BMC.CredentialsName != "" {
			hostSecrets[h.Spec.BMC.CredentialsName] = "the BMC credentials Secret of BareMetalHost " + h.Name
		}
		add(h.Spec.UserData, "user-data")
		add(h.Spec.MetaData, "meta-data")
		add(h.Spec.NetworkData, "network-data")
	}
	for i := range s.Source.Objects {
		o := &s.Source.Objects[i]
		k := objKey{o.Kind, o.Namespace, o.Name}
		switch o.GroupVersionKind().GroupKind().String() {
		case "Secret":
			switch {
			case hostSecrets[o.Name] != "":
				out[k] = hostSecrets[o.Name]
			case clusterSecret(o.Name, clusters):
				out[k] = "a Cluster secret"
			case o.Labels[labelClusterName] != "":
				out[k] = "labelled " + labelClusterName + "=" + o.Labels[labelClusterName]
			case len(o.OwnerReferences) > 0:
				out[k] = "owned by " + ownerList(o)
			}
		case "ConfigMap":
			switch {
			case o.Labels[labelClusterName] != "":
				out[k] = "labelled " + labelClusterName + "=" + o.Labels[labelClusterName]
			case len(o.OwnerReferences) > 0:
				out[k] = "owned by " + ownerList(o)
			}
		default:
			if o.GroupVersionKind().Group == bmov1alpha1.GroupVersion.Group && !bmo.MustMove(o.Kind) {
				continue // BMO rebuilds it in the target
			}
			out[k] = "a " + o.Kind
		}
	}
	return out
}

func clusterSecret(name string, clusters map[string]bool) bool {
	for _, suf := range clusterSecretSuffixes {
		if c, ok := strings.CutSuffix(name, "-"+suf); ok && clusters[c] {
			return true
		}
	}
	return false
}

func ownerList(o *metav1.PartialObjectMetadata) string {
	parts := make([]string, 0, len(o.OwnerReferences))
	for _, r := range o.OwnerReferences {
		parts = append(parts, r.Kind+" "+r.Name)
	}
	return strings.Join(parts, ", ")
}

func checkOwnerChain(s *Snapshot) []Finding {
	if s.PlanErr != nil {
		return []Finding{finding(OwnerChain, SeverityWarning, ref("v1", "Namespace", "", s.Namespace),
			fmt.Sprintf("clusterctl's dry run refused, so what it would leave behind is unknown: %v; fix the errors above and re-run", s.PlanErr))}
	}
	inPlan := make(map[objKey]bool, len(s.Plan))
	for _, o := range s.Plan {
		inPlan[objKey{o.Kind, o.Namespace, o.Name}] = true
	}
	byUID := make(map[string]*metav1.PartialObjectMetadata, len(s.Source.Objects))
	for i := range s.Source.Objects {
		byUID[string(s.Source.Objects[i].UID)] = &s.Source.Objects[i]
	}
	unlabelled := unlabelledKinds(s)
	// fromUnlabelled: the object is left behind because of an unlabelled
	// CRD somewhere up its chain; crd-labels-source already reports that.
	memo := map[string]bool{}
	var fromUnlabelled func(o *metav1.PartialObjectMetadata, depth int) bool
	fromUnlabelled = func(o *metav1.PartialObjectMetadata, depth int) bool {
		if unlabelled[kindKey{o.GroupVersionKind().Group, o.Kind}] {
			return true
		}
		if v, ok := memo[string(o.UID)]; ok || depth > 20 {
			return v
		}
		memo[string(o.UID)] = false
		for _, r := range o.OwnerReferences {
			if owner := byUID[string(r.UID)]; owner != nil && !inPlan[objKey{owner.Kind, owner.Namespace, owner.Name}] && fromUnlabelled(owner, depth+1) {
				memo[string(o.UID)] = true
				return true
			}
		}
		return false
	}

	var out []Finding
	must := mustMove(s)
	for i := range s.Source.Objects {
		o := &s.Source.Objects[i]
		k := objKey{o.Kind, o.Namespace, o.Name}
		why, ok := must[k]
		if !ok || inPlan[k] || fromUnlabelled(o, 0) {
			continue
		}
		msg, hint := leftBehind(o, why, byUID, inPlan)
		out = append(out, withHint(finding(OwnerChain, SeverityError, metaRef(o), msg), hint))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Object.Kind != out[j].Object.Kind {
			return out[i].Object.Kind < out[j].Object.Kind
		}
		return out[i].Object.Name < out[j].Object.Name
	})
	return out
}

func leftBehind(o *metav1.PartialObjectMetadata, why string, byUID map[string]*metav1.PartialObjectMetadata, inPlan map[objKey]bool) (string, string) {
	name := fmt.Sprintf("%s %s/%s (%s)", o.Kind, o.Namespace, o.Name, why)
	fixOwners := "run `pivotcheck move --fix-owners`, or label it " + labelMove + "="
	for _, r := range o.OwnerReferences {
		owner := byUID[string(r.UID)]
		switch {
		case owner == nil:
			return fmt.Sprintf("%s would be left behind by clusterctl move: its owner %s %s does not exist in the namespace (a dangling ownerReference)", name, r.Kind, r.Name),
				"remove the dangling ownerReference, then " + fixOwners
		case !inPlan[objKey{owner.Kind, owner.Namespace, owner.Name}]:
			return fmt.Sprintf("%s would be left behind by clusterctl move: its owner %s %s is not moved, and clusterctl skips every object with an owner it does not move (cluster-api #8387)", name, r.Kind, r.Name),
				fmt.Sprintf("fix the owner %s %s (see its finding) or drop that ownerReference; %s", r.Kind, r.Name, fixOwners)
		}
	}
	hint := fixOwners
	switch {
	case o.GroupVersionKind().Group == bmov1alpha1.GroupVersion.Group && o.Kind != "BareMetalHost" && o.Kind != "HardwareData":
		hint = fmt.Sprintf("label the %s CRD %s= (the KRM function's defaults do; then every %s moves), or label this object %s=", o.Kind, labelMove, o.Kind, labelMove)
	case o.Kind == "Metal3DataTemplate":
		hint = "label the Metal3DataTemplate CRD " + labelMove + "= (the KRM function's defaults do, CAPM3 1.14 ships it so), set spec.clusterName (CAPM3 ≤ 1.13 then adds the Cluster owner), or " + fixOwners
	case o.Kind == "IPPool":
		hint = "set spec.clusterName (the provider then adds the Cluster owner), or " + fixOwners
	case o.Kind == "Secret":
		hint = fmt.Sprintf("kubectl -n %s label secret %s %s= (or %s)", o.Namespace, o.Name, labelMove, "`pivotcheck move --fix-owners`")
	}
	return fmt.Sprintf("%s would be left behind by clusterctl move: it has no owner chain to a Cluster and no %s label", name, labelMove), hint
}

// ---- 8. Target namespace ----

func checkTargetNamespace(s *Snapshot) []Finding {
	nsRef := ref("v1", "Namespace", "", s.Namespace)
	if !s.Target.NamespaceExists {
		return []Finding{finding(TargetNamespace, SeverityInfo, nsRef, fmt.Sprintf("namespace %s does not exist in the target: clusterctl move creates it", s.Namespace))}
	}
	out := []Finding{finding(TargetNamespace, SeverityInfo, nsRef, fmt.Sprintf("namespace %s exists in the target", s.Namespace))}
	moving := map[objKey]bool{}
	for _, o := range s.Plan {
		moving[objKey{o.Kind, o.Namespace, o.Name}] = true
	}
	for k := range mustMove(s) {
		moving[k] = true
	}
	byKind := map[string][]*metav1.PartialObjectMetadata{}
	var kinds []string
	for i := range s.Target.Objects {
		o := &s.Target.Objects[i]
		if !moving[objKey{o.Kind, o.Namespace, o.Name}] {
			continue
		}
		if byKind[o.Kind] == nil {
			kinds = append(kinds, o.Kind)
		}
		byKind[o.Kind] = append(byKind[o.Kind], o)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		objs := byKind[kind]
		sort.Slice(objs, func(i, j int) bool { return objs[i].Name < objs[j].Name })
		names := make([]string, len(objs))
		for i, o := range objs {
			names[i] = o.Name
		}
		out = append(out, finding(TargetCollision, SeverityWarning, metaRef(objs[0]),
			fmt.Sprintf("%d %s object(s) with the names of objects to move already exist in the target namespace %s (clusterctl updates them): %s", len(objs), kind, s.Namespace, hostsafety.Summarize(names, 5))))
	}
	return out
}

// ---- 9. What the API cannot show ----

func checkManual(s *Snapshot) []Finding {
	iface, ip := "the provisioning interface", "the provisioning VIP"
	if v, _, ok := keepalivedVIP(&s.Target, ironicTemplates(&s.Target, s.IronicWorkloads)); ok {
		if v.Interface != "" {
			iface = "interface " + v.Interface
		}
		if v.IP != "" {
			ip = "VIP " + v.IP
		} else if v.VirtualIPs != "" {
			ip = "VIPs " + v.VirtualIPs
		}
	}
	return []Finding{finding(ManualChecks, SeverityInfo, ObjectRef{},
		fmt.Sprintf("not visible through the API, check by hand: on every target node that may run Ironic, %s has a static IP (keepalived only adds %s to an interface that already has one, and dnsmasq serves DHCP there); DHCP leases of the bootstrap's dnsmasq are not moved, so hosts booting IPA may get new addresses", iface, ip))}
}

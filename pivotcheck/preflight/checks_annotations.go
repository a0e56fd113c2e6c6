// Check group 5: status and block-move annotations.

package preflight

import (
	"fmt"
	"strings"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/version"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/hostsafety"
	pcwebhook "github.com/pivotcheck/pivotcheck/webhook"
)

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

// checkBypassLeft reports pivotcheck's bypass, the annotation on any moved
// object and the label on the namespace, in either cluster. A bypass left
// behind after the one write it was meant for lets every later pause or
// host create through unchecked, and the namespace label even reaches no
// webhook at all (namespaceSelector), so nothing else would ever say so.
func checkBypassLeft(s *Snapshot) []Finding {
	var out []Finding
	for _, side := range []struct {
		name string
		s    *Side
	}{{"source", &s.Source}, {"target", &s.Target}} {
		if v, ok := side.s.NamespaceLabels[pcwebhook.BypassNamespaceLabel]; ok {
			out = append(out, finding(BypassLeft, SeverityWarning, ref("v1", "Namespace", "", s.Namespace),
				fmt.Sprintf("namespace %s carries the label %s=%q in the %s cluster: pivotcheck's webhooks skip every write in it, so nothing guards this or any later move there", s.Namespace, pcwebhook.BypassNamespaceLabel, v, side.name)))
		}
		for i := range side.s.Objects {
			o := &side.s.Objects[i]
			v, ok := o.Annotations[pcwebhook.BypassAnnotation]
			if !ok {
				continue
			}
			what := "is no bypass (an empty value), but looks like one forgotten"
			if v != "" {
				what = "lets a requester allowed to bypass pause it (or create the host in the target) unchecked, in this and every later move"
			}
			out = append(out, finding(BypassLeft, SeverityWarning, metaRef(o),
				fmt.Sprintf("%s %s/%s carries %s=%q in the %s cluster, which %s", o.Kind, o.Namespace, o.Name, pcwebhook.BypassAnnotation, v, side.name, what)))
		}
	}
	return out
}

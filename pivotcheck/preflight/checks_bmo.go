// Check group 2: providers and BMO.

package preflight

import (
	"fmt"
	"slices"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/utils/ptr"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
)

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
				if ruleCovers(r.APIGroups, bmov1alpha1.GroupVersion.Group) && ruleCovers(r.Resources, "baremetalhosts") {
					return cfg, w
				}
			}
		}
	}
	return nil, nil
}

// ruleCovers reports whether a webhook rule's list names v or the wildcard.
func ruleCovers(list []string, v string) bool {
	return slices.Contains(list, v) || slices.Contains(list, "*")
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

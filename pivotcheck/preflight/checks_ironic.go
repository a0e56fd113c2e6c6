// Check group 6: Ironic and keepalived.

package preflight

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/podenv"
)

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
	if len(ironic.Running(s.Source.ironicObjects(), s.workloads())) > 0 {
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
	for _, in := range ironic.Running(s.Source.ironicObjects(), workloads) {
		out = append(out, withHint(finding(IronicSource, SeverityError, instanceRef(in),
			fmt.Sprintf("Ironic still runs in the source: %s; two Ironic/dnsmasq/keepalived instances fight over the provisioning VIP and DHCP", in)), in.Remove))
	}

	running := ironic.Running(s.Target.ironicObjects(), workloads)
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

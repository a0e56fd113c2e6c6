package move

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

// Adoption: what `--wait-for-hosts` waits for after the move.
//
// Restoring a host's status from the annotation is not enough: it happens
// before the target's BMO has registered the host with its own Ironic, and a
// host can then sit in "provisioned" while registration fails over and over.
// The signal chosen, from BMO v0.13.2's controller
// (internal/controller/metal3.io/baremetalhost_controller.go):
//
//   - status.goodCredentials names the host's BMC Secret in the target at
//     that Secret's current resourceVersion. registerHost records it
//     (UpdateGoodCredentials) only at the end of a successful registration,
//     after the Ironic provisioner's Register found or enrolled the node and
//     it reached manageable or active. The Secret was re-created by the move,
//     so its resourceVersion in the target differs from the one the source
//     recorded: until BMO re-registers the host, they do not match.
//   - status.lastUpdated differs from the pre-move status: BMO has saved the
//     status at least once after restoring it (a restore keeps the
//     annotation's lastUpdated). This rules out a resourceVersion that
//     happens to match by chance.
//   - operationalStatus is OK and errorType
//     is not a registration error: a failed registration
//     (RegistrationError) or a failed Ironic adoption of a provisioned host
//     (ProvisionedRegistrationError, set by actionManageSteadyState) shows
//     here.
//   - the provisioning state is the pre-move one. registering, inspecting,
//     preparing, provisioning, deprovisioning or match profile instead fail
//     the wait at once: BMO is not adopting, it is redoing the host.
//
// Hosts BMO never registers with Ironic (unmanaged: no BMC address;
// detached from Ironic) are adopted once their status is restored.

// Adoption is where one moved host stands in the target.
type Adoption struct {
	Name string
	// Adopted: the target's BMO took the host over (see above).
	Adopted bool
	// Failed says why the host will not be adopted (BMO is redoing it).
	Failed string
	// State describes the host now, for the timeout message.
	State string
}

// BMCSecret is the target's copy of a host's BMC credentials Secret (metadata).
type BMCSecret struct {
	Namespace, Name, ResourceVersion string
}

// redoing are the provisioning states BMO enters when it treats a host as
// new or re-deploys it.
var redoing = map[bmov1alpha1.ProvisioningState]bool{
	bmov1alpha1.StateRegistering: true, bmov1alpha1.StateInspecting: true, bmov1alpha1.StateMatchProfile: true,
	bmov1alpha1.StatePreparing: true, bmov1alpha1.StateProvisioning: true, bmov1alpha1.StateDeprovisioning: true,
}

// AdoptionOf decides whether the target host h was adopted, given its
// pre-move status and its BMC Secret in the target (nil when missing).
func AdoptionOf(h *bmov1alpha1.BareMetalHost, before bmov1alpha1.BareMetalHostStatus, secret *BMCSecret) Adoption {
	a := Adoption{Name: h.Name}
	st := h.Status
	state := string(st.Provisioning.State)
	if state == "" {
		state = "no provisioning state"
	}
	a.State = fmt.Sprintf("%s, operationalStatus %s", state, orDash(string(st.OperationalStatus)))
	if st.ErrorType != "" {
		a.State += fmt.Sprintf(" (%s: %s)", st.ErrorType, st.ErrorMessage)
	}
	if _, pending := h.Annotations[bmov1alpha1.StatusAnnotation]; pending || st.LastUpdated == nil {
		if _, paused := h.Annotations[bmov1alpha1.PausedAnnotation]; paused {
			a.State = "still paused (" + h.Annotations[bmov1alpha1.PausedAnnotation] + "), status not restored yet"
		} else {
			a.State = "status not restored from the annotation yet"
		}
		return a
	}
	if redoing[st.Provisioning.State] && st.Provisioning.State != before.Provisioning.State {
		a.Failed = fmt.Sprintf("BareMetalHost %s/%s entered %q in the target instead of keeping %q: BMO did not adopt it", h.Namespace, h.Name, st.Provisioning.State, before.Provisioning.State)
		return a
	}
	if st.Provisioning.State != before.Provisioning.State {
		a.State += fmt.Sprintf("; was %s before the move", before.Provisioning.State)
		return a
	}
	if st.OperationalStatus == bmov1alpha1.OperationalStatusDetached && before.OperationalStatus == bmov1alpha1.OperationalStatusDetached {
		// Still detached from Ironic, as before the move: BMO does not register it.
		a.Adopted = true
		return a
	}
	if st.OperationalStatus != bmov1alpha1.OperationalStatusOK || st.ErrorType == bmov1alpha1.RegistrationError || st.ErrorType == bmov1alpha1.ProvisionedRegistrationError {
		return a
	}
	if st.Provisioning.State == bmov1alpha1.StateUnmanaged || !h.HasBMCDetails() {
		// No BMC: BMO does not register it with Ironic.
		a.Adopted = true
		return a
	}
	switch {
	case secret == nil:
		a.State += fmt.Sprintf("; BMC Secret %s not found in the target", h.Spec.BMC.CredentialsName)
	case !goodCredentialsMatch(st.GoodCredentials, secret):
		a.State += "; not re-registered by the target's BMO yet (status.goodCredentials does not name the target's BMC Secret at its current resourceVersion)"
	case st.LastUpdated.Equal(before.LastUpdated):
		a.State += "; status not saved by the target's BMO since it was restored"
	default:
		a.Adopted = true
	}
	return a
}

func goodCredentialsMatch(cs bmov1alpha1.CredentialsStatus, s *BMCSecret) bool {
	return cs.Reference != nil && cs.Reference.Name == s.Name && cs.Reference.Namespace == s.Namespace && cs.Version == s.ResourceVersion
}

func orDash(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// DefaultHostSettle is Options.HostSettle's default. Measured against a
// real Ironic: BMO v0.13.2 saved a clean status with the target's
// credentials when the node reached manageable and reported the failed
// adoption about 10 s later.
const DefaultHostSettle = 20 * time.Second

// settled reports whether a host that looks adopted now has looked
// adopted for at least window, recording when it first did in since; a
// host that stops looking adopted starts again (pure).
func settled(since map[string]time.Time, name string, adopted bool, now time.Time, window time.Duration) bool {
	if !adopted {
		delete(since, name)
		return false
	}
	first, ok := since[name]
	if !ok {
		since[name] = now
		return window <= 0
	}
	return now.Sub(first) >= window
}

// waitForHosts waits until the target's BMO adopted every host in names
// and, with --ironic-url, its Ironic shows each node adopted
// (ironicevidence.go). Without Ironic evidence it fails at once when a host
// fails; with it, it waits until every host is decided, so the report
// carries each host's evidence. On timeout it lists every host still
// pending with its state. The outcome per host goes to the report (Hosts).
func (d *driver) waitForHosts(ctx context.Context, names []string, expect map[string]bmov1alpha1.BareMetalHostStatus) (string, error) {
	ns := d.opts.Namespace
	pending := map[string]string{}
	out := map[string]*HostEvidence{}
	for _, n := range names {
		pending[n] = "not found in the target"
		out[n] = &HostEvidence{Name: n, Evidence: EvidenceBMO}
	}
	var irc *ironic.Client
	if d.opts.IronicURL != "" {
		irc = &ironic.Client{Endpoint: d.opts.IronicURL}
		for _, n := range names {
			out[n].Evidence = EvidenceBMOIronic
		}
	}
	noIronic := "" // why the Ironic evidence could not be read
	nodes := map[string]*NodeSnapshot{}
	failed := map[string]string{}
	adoptedSince := map[string]time.Time{}
	defer func() {
		d.report.Hosts = d.report.Hosts[:0]
		for _, n := range names {
			d.report.Hosts = append(d.report.Hosts, *out[n])
		}
	}()
	err := d.poll(ctx, d.opts.HostTimeout, func() (bool, error) {
		hosts := &bmov1alpha1.BareMetalHostList{}
		if err := d.dst.List(ctx, hosts, client.InNamespace(ns)); err != nil {
			return false, fmt.Errorf("listing target BareMetalHosts: %w", err)
		}
		secrets := &metav1.PartialObjectMetadataList{}
		secrets.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
		if err := d.dst.List(ctx, secrets, client.InNamespace(ns)); err != nil {
			return false, fmt.Errorf("listing target Secrets (metadata): %w", err)
		}
		if irc != nil {
			if err := d.readNodes(ctx, irc, ns, pending, nodes); err != nil {
				if !errors.Is(err, ironic.ErrUnauthorized) && !errors.Is(err, ironic.ErrVersion) {
					return false, err
				}
				// No later read can do better: judge by BMO alone, and say so.
				noIronic = err.Error()
				d.warn(fmt.Sprintf("the target's Ironic could not be read (%v): --wait-for-hosts judged the hosts by BMO's view alone", err))
				irc = nil
				for _, n := range names {
					out[n].Evidence, out[n].Ironic = EvidenceBMO, nil
				}
			}
		}
		rv := map[string]string{}
		for _, s := range secrets.Items {
			rv[s.Name] = s.ResourceVersion
		}
		for i := range hosts.Items {
			h := &hosts.Items[i]
			if _, ok := pending[h.Name]; !ok {
				continue
			}
			var sec *BMCSecret
			if v, ok := rv[h.Spec.BMC.CredentialsName]; ok {
				sec = &BMCSecret{Namespace: ns, Name: h.Spec.BMC.CredentialsName, ResourceVersion: v}
			}
			a := AdoptionOf(h, expect[h.Name], sec)
			ev := out[h.Name]
			ev.BMO = a.State
			bmoOK := a.Failed == "" && settled(adoptedSince, h.Name, a.Adopted, time.Now(), d.opts.HostSettle)
			var iv IronicVerdict
			if irc != nil {
				exp := expectationOf(h, expect[h.Name])
				snap := nodes[h.Name]
				verdict := func() IronicVerdict { return IronicVerdictOf(exp, *snap, d.started, time.Now(), d.opts.HostSettle) }
				iv = verdict()
				if iv.NeedHistory && bmoOK {
					// One history read per host, once everything else agrees.
					hist, err := irc.History(ctx, snap.Name)
					if err != nil {
						return false, err
					}
					snap.History, snap.HistoryRead = hist, true
					iv = verdict()
				}
				if exp == expectNoNode {
					ev.Evidence = EvidenceBMO // no node to read
				} else {
					e := iv.Evidence
					ev.Ironic = &e
				}
			}
			switch {
			case a.Failed != "":
				failed[h.Name] = a.Failed
			case iv.Failed != "":
				failed[h.Name] = fmt.Sprintf("host %s/%s: %s", ns, h.Name, iv.Failed)
			case bmoOK && (irc == nil || iv.Adopted):
				ev.Adopted = true
				delete(pending, h.Name)
			case a.Adopted && !bmoOK:
				pending[h.Name] = fmt.Sprintf("looks adopted since %s, confirming for %s (BMO reports a failed adoption some seconds after it saves the status)", adoptedSince[h.Name].Format(time.RFC3339), d.opts.HostSettle)
			case bmoOK:
				pending[h.Name] = "adopted in BMO's view; in the target's Ironic " + iv.Pending
			default:
				pending[h.Name] = a.State
				if irc != nil && iv.Pending != "" {
					pending[h.Name] += "; in the target's Ironic " + iv.Pending
				}
			}
			if f, ok := failed[h.Name]; ok {
				ev.Failed = f
				delete(pending, h.Name)
			}
		}
		if len(failed) > 0 && (irc == nil || len(pending) == 0) {
			return false, stopWaiting{errors.New(joinFailures(failed, irc != nil))}
		}
		return len(pending) == 0, nil
	})
	if err != nil {
		left := make([]string, 0, len(pending))
		for n, s := range pending {
			left = append(left, n+": "+s)
		}
		slices.Sort(left)
		var stop stopWaiting
		if len(left) == 0 || errors.As(err, &stop) {
			return "", err
		}
		msg := fmt.Sprintf("waiting for the target's BMO to adopt every host (%d pending: %s)", len(left), strings.Join(left, "; "))
		if len(failed) > 0 {
			msg += "; " + joinFailures(failed, irc != nil)
		}
		return "", fmt.Errorf("%s: %w", msg, err)
	}
	if irc != nil {
		return fmt.Sprintf("%d host(s) adopted by the target's BMO and confirmed by the target's Ironic (adopted nodes active by adoption alone: enroll → verifying → manageable → adopting → active, no error in their history, no deploy; available hosts' nodes manageable or available)", len(names)), nil
	}
	why := "give --ironic-url to also read each node from the target's Ironic"
	if noIronic != "" {
		why = "the target's Ironic could not be read"
	}
	return fmt.Sprintf("%d host(s) adopted by the target's BMO (evidence: BMO's view alone; %s)", len(names), why), nil
}

// joinFailures lists failed hosts sorted; with Ironic evidence one line
// per host, as the evidence reads best that way.
func joinFailures(failed map[string]string, lines bool) string {
	fs := make([]string, 0, len(failed))
	for _, n := range slices.Sorted(maps.Keys(failed)) {
		fs = append(fs, failed[n])
	}
	if lines {
		return fmt.Sprintf("%d host(s) not adopted:\n%s", len(fs), strings.Join(fs, "\n"))
	}
	return strings.Join(fs, "; ")
}

// readNodes reads the target's Ironic nodes and adds each pending host's
// node, as now, to nodes (states seen accumulate; a node gone is nil).
func (d *driver) readNodes(ctx context.Context, c *ironic.Client, ns string, pending map[string]string, nodes map[string]*NodeSnapshot) error {
	list, err := c.Nodes(ctx)
	if err != nil {
		return fmt.Errorf("reading the target's Ironic nodes: %w", err)
	}
	now := time.Now()
	byName := make(map[string]*ironic.Node, len(list))
	for i := range list {
		byName[list[i].Name] = &list[i]
	}
	for h := range pending {
		s := nodes[h]
		if s == nil {
			s = &NodeSnapshot{Name: ironic.NodeName(ns, h)}
			nodes[h] = s
		}
		s.SeeNode(byName[s.Name], now)
	}
	return nil
}

// checkIronicAPI probes the target's Ironic API (--ironic-url) with
// preflight's probe; when says when ("before the move", "after the move").
func (d *driver) checkIronicAPI(ctx context.Context, when string) (string, error) {
	p := ironic.ProbeAPI(ctx, d.opts.IronicURL)
	if problem := p.Problem(); problem != "" {
		return "", fmt.Errorf("%s %s", problem, when)
	}
	return fmt.Sprintf("%s answered HTTP %d %s", p.URL, p.Status, when), nil
}

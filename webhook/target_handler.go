package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// TargetHandler is the admission.Handler of the target guard. It reads
// nothing from the cluster: the verdict depends on the new object alone,
// except for a bypass, which counts only when the requester may bypass
// (SubjectAccessReview).
type TargetHandler struct {
	// Record counts a decision (metrics); nil records nothing.
	Record func(gate Gate, allowed bool, reason string)
	// Review checks a requester's permission to bypass; nil refuses every
	// bypass.
	Review AccessReviewer
	// ReadTimeout bounds the bypass review (default DefaultReadTimeout).
	ReadTimeout time.Duration
	Log         logr.Logger
}

var _ admission.Handler = &TargetHandler{}

// Handle implements admission.Handler.
func (h *TargetHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	r := req.AdmissionRequest
	dryRun := ptr.Deref(r.DryRun, false)
	if r.Operation != admissionv1.Create || r.Kind.Group != bmov1alpha1.GroupVersion.Group || r.Kind.Kind != "BareMetalHost" {
		return h.respond(r, dryRun, admission.Allowed("not the creation of a BareMetalHost"), ReasonNotGated)
	}
	host, err := decodeGuardedHost(r.Object.Raw)
	if err != nil {
		return h.respond(r, dryRun, admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding BareMetalHost %s/%s: %w", r.Namespace, r.Name, err)), ReasonBadRequest)
	}
	if host.Namespace == "" {
		host.Namespace = r.Namespace
	}
	if host.Name == "" {
		host.Name = r.Name
	}
	d := DecideTargetCreate(host)
	if d.Reason == ReasonBypass {
		return h.bypass(ctx, r, dryRun, host)
	}
	if !d.Allowed {
		return h.respond(r, dryRun, admission.Denied(d.Message), d.Reason)
	}
	return h.respond(r, dryRun, admission.Allowed(d.Reason).WithWarnings(d.Warnings...), d.Reason)
}

// bypass judges the bypass annotation a host arrives with (copied from the
// source host): it counts only when the requester, clusterctl's identity in
// this cluster, may bypass in the host's namespace here.
func (h *TargetHandler) bypass(ctx context.Context, r admissionv1.AdmissionRequest, dryRun bool, host *bmov1alpha1.BareMetalHost) admission.Response {
	timeout := h.ReadTimeout
	if timeout <= 0 {
		timeout = DefaultReadTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	reason := host.Annotations[BypassAnnotation]
	what := fmt.Sprintf("to create BareMetalHost %s/%s in this cluster", host.Namespace, host.Name)
	undo := fmt.Sprintf("remove the annotation from the source host (kubectl -n %s annotate baremetalhost %s %s-)", host.Namespace, host.Name, BypassAnnotation)
	o := reviewBypass(ctx, h.Review, r.UserInfo, host.Namespace, host.Name, what, TargetBypassClusterRole, reason, undo)
	logBypass(h.Log, GateTargetCreate, "BareMetalHost", host.Namespace, host.Name, r.UserInfo, reason, o.reason, dryRun)
	resp := h.respond(r, dryRun, o.resp, o.reason)
	bypassAudit(&resp, r.UserInfo, reason)
	return resp
}

// guardedFields are the only parts of a host the decision reads. Decoding
// just these skips building the whole typed host (status, conditions,
// hardware): fewer allocations, a shorter tail under load.
type guardedFields struct {
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		ConsumerRef           *corev1.ObjectReference `json:"consumerRef"`
		ExternallyProvisioned bool                    `json:"externallyProvisioned"`
	} `json:"spec"`
}

func decodeGuardedHost(raw []byte) (*bmov1alpha1.BareMetalHost, error) {
	var f guardedFields
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, err
	}
	h := &bmov1alpha1.BareMetalHost{}
	h.Name, h.Namespace, h.Annotations = f.Metadata.Name, f.Metadata.Namespace, f.Metadata.Annotations
	h.Spec.ConsumerRef, h.Spec.ExternallyProvisioned = f.Spec.ConsumerRef, f.Spec.ExternallyProvisioned
	return h, nil
}

// respond answers for the target guard (see answer).
func (h *TargetHandler) respond(r admissionv1.AdmissionRequest, dryRun bool, resp admission.Response, reason string) admission.Response {
	t := Target{Gate: GateTargetCreate, Operation: string(r.Operation), Kind: r.Kind.Kind, Namespace: r.Namespace, Name: r.Name, DryRun: dryRun}
	return answer(h.Log, h.Record, t, resp, reason, 0, readNone)
}

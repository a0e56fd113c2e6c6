package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// TargetHandler is the admission.Handler of the target guard. It reads
// nothing from the cluster: the verdict depends on the new object alone.
type TargetHandler struct {
	// Record counts a decision (metrics); nil records nothing.
	Record func(gate Gate, allowed bool, reason string)
	Log    logr.Logger
}

var _ admission.Handler = &TargetHandler{}

// Handle implements admission.Handler.
func (h *TargetHandler) Handle(_ context.Context, req admission.Request) admission.Response {
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
	if !d.Allowed {
		return h.respond(r, dryRun, admission.Denied(d.Message), d.Reason)
	}
	return h.respond(r, dryRun, admission.Allowed(d.Reason).WithWarnings(d.Warnings...), d.Reason)
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

// respond adds the audit annotations, records the metric and logs denials.
func (h *TargetHandler) respond(r admissionv1.AdmissionRequest, dryRun bool, resp admission.Response, reason string) admission.Response {
	verdict := "denied"
	if resp.Allowed {
		verdict = "allowed"
	}
	resp.AuditAnnotations = map[string]string{
		"gate": string(GateTargetCreate), "verdict": verdict, "reason": reason, "dry-run": strconv.FormatBool(dryRun),
	}
	if h.Record != nil && reason != ReasonNotGated {
		h.Record(GateTargetCreate, resp.Allowed, reason)
	}
	switch {
	case !resp.Allowed:
		msg := ""
		if resp.Result != nil {
			msg = resp.Result.Message
		}
		h.Log.Info("denied", "gate", GateTargetCreate, "namespace", r.Namespace, "name", r.Name, "reason", reason, "dryRun", dryRun, "message", msg)
	case reason != ReasonNotGated:
		h.Log.V(1).Info("allowed", "gate", GateTargetCreate, "namespace", r.Namespace, "name", r.Name, "reason", reason, "dryRun", dryRun)
	}
	return resp
}

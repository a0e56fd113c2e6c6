package webhook

import (
	"encoding/json"
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

// API groups of the objects the webhook sees.
const (
	groupCAPI   = "cluster.x-k8s.io"
	groupInfra  = "infrastructure.cluster.x-k8s.io"
	groupMetal3 = "metal3.io"
	groupIPAM   = "ipam.metal3.io"
)

// request is the part of an AdmissionRequest classification reads.
type request struct {
	Group, Kind, Namespace, Name, Operation string
	DryRun                                  bool
	Object, OldObject                       []byte
}

func fromAdmission(r admissionv1.AdmissionRequest) request {
	return request{
		Group: r.Kind.Group, Kind: r.Kind.Kind, Namespace: r.Namespace, Name: r.Name,
		Operation: string(r.Operation), DryRun: ptr.Deref(r.DryRun, false),
		Object: r.Object.Raw, OldObject: r.OldObject.Raw,
	}
}

// Classify says which gate, if any, a request falls under, and the reason
// given by the bypass annotation on a paused object ("" when there is none:
// an empty value is no bypass). Decoding is unstructured so Cluster
// v1beta1 and v1beta2 (spec.paused bool vs *bool) and every Metal3 kind work
// alike. The ValidatingWebhookConfiguration's matchConditions apply the same
// transition filters first; the handler repeats them so that it stays
// correct behind a configuration without them. The bypass is judged by the
// handler alone, which checks the requester's permission for it.
func Classify(r request) (t Target, gated bool, bypass string, err error) {
	t = Target{Operation: r.Operation, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, DryRun: r.DryRun}
	var obj, old *unstructured.Unstructured
	if obj, err = decode(r.Object); err != nil {
		return t, false, "", fmt.Errorf("decoding object: %w", err)
	}
	if old, err = decode(r.OldObject); err != nil {
		return t, false, "", fmt.Errorf("decoding oldObject: %w", err)
	}
	if t.Name == "" {
		for _, u := range []*unstructured.Unstructured{obj, old} {
			if u != nil {
				t.Name = u.GetName()
				break
			}
		}
	}

	switch {
	case r.Group == groupCAPI && (r.Kind == "Cluster" || r.Kind == "ClusterClass"):
		t.Gate = GatePause
		if r.Operation != "UPDATE" || obj == nil || old == nil || obj.GetDeletionTimestamp() != nil {
			return t, false, "", nil
		}
		if r.Kind == "Cluster" {
			gated = paused(obj) && !paused(old)
		} else {
			gated = hasAnnotation(obj, ClusterClassPausedAnnotation) && !hasAnnotation(old, ClusterClassPausedAnnotation)
		}
		return t, gated, obj.GetAnnotations()[BypassAnnotation], nil

	case metal3Kind(r.Group, r.Kind):
		t.Gate = GateDeleteForMove
		switch r.Operation {
		case "UPDATE":
			// An object with a deletionTimestamp is past the point of no
			// return: denying its finalizer removal would wedge it half-deleted.
			if obj == nil || old == nil || old.GetDeletionTimestamp() != nil || obj.GetDeletionTimestamp() != nil {
				return t, false, "", nil
			}
			return t, hasAnnotation(obj, DeleteForMoveAnnotation) && !hasAnnotation(old, DeleteForMoveAnnotation), "", nil
		case "DELETE":
			if old == nil || old.GetDeletionTimestamp() != nil {
				return t, false, "", nil
			}
			return t, hasAnnotation(old, DeleteForMoveAnnotation), "", nil
		}
	}
	return t, false, "", nil
}

// metal3Kind: every metal3.io and ipam.metal3.io kind, and only the Metal3*
// kinds of the shared infrastructure group.
func metal3Kind(group, kind string) bool {
	switch group {
	case groupMetal3, groupIPAM:
		return true
	case groupInfra:
		return strings.HasPrefix(kind, "Metal3")
	}
	return false
}

func decode(raw []byte) (*unstructured.Unstructured, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// paused reads spec.paused of a Cluster of either version (absent = false).
func paused(u *unstructured.Unstructured) bool {
	v, found, err := unstructured.NestedBool(u.Object, "spec", "paused")
	return found && err == nil && v
}

func hasAnnotation(u *unstructured.Unstructured, key string) bool {
	_, ok := u.GetAnnotations()[key]
	return ok
}

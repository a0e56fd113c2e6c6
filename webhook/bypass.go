package webhook

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// The bypass annotation counts only for a requester the API server
// authorizes for this virtual resource in the object's namespace (a
// SubjectAccessReview, as kubectl auth can-i): being allowed to patch a
// Cluster must not be enough to switch the gate off in the same request.
// No such API exists; RBAC rules may name any group and resource.
const (
	BypassGroup    = "pivotcheck.dev"
	BypassResource = "unsafemoves"
	BypassVerb     = "bypass"
	// BypassClusterRole (config/rbac) and TargetBypassClusterRole
	// (config/target) grant it; bind one with a RoleBinding in a namespace
	// or a ClusterRoleBinding for every namespace.
	BypassClusterRole       = "pivotcheck-unsafe-move-bypass"
	TargetBypassClusterRole = "pivotcheck-target-unsafe-move-bypass"
)

// Reasons of a bypass attempt (metric label "reason" and audit annotation):
// the operator's free-text reason goes to the log and the audit annotation
// bypass-reason only, so the metric's cardinality stays bounded.
const (
	ReasonBypassForbidden   = "bypass-forbidden"
	ReasonBypassReviewError = "bypass-review-error"
)

// MaxBypassReason bounds the reason copied into the audit annotation and
// the log (the annotation itself may hold up to 256 KiB).
const MaxBypassReason = 256

// AccessReviewer reports whether user may bypass pivotcheck for the object
// name in namespace ns.
type AccessReviewer func(ctx context.Context, user authenticationv1.UserInfo, ns, name string) (bool, error)

// BypassAttributes are the attributes a bypass is authorized for.
func BypassAttributes(ns, name string) *authorizationv1.ResourceAttributes {
	return &authorizationv1.ResourceAttributes{Namespace: ns, Verb: BypassVerb, Group: BypassGroup, Resource: BypassResource, Name: name}
}

// SubjectAccessReviewer asks the API server with a SubjectAccessReview
// (the webhook's identity needs create on subjectaccessreviews).
func SubjectAccessReviewer(c client.Client) AccessReviewer {
	return func(ctx context.Context, u authenticationv1.UserInfo, ns, name string) (bool, error) {
		var extra map[string]authorizationv1.ExtraValue
		if len(u.Extra) > 0 {
			extra = make(map[string]authorizationv1.ExtraValue, len(u.Extra))
			for k, v := range u.Extra {
				extra[k] = authorizationv1.ExtraValue(v)
			}
		}
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra,
			ResourceAttributes: BypassAttributes(ns, name),
		}}
		if err := c.Create(ctx, sar); err != nil {
			return false, fmt.Errorf("creating SubjectAccessReview: %w", err)
		}
		return sar.Status.Allowed && !sar.Status.Denied, nil
	}
}

// permission names what to grant, for messages.
func permission(ns string) string {
	return fmt.Sprintf("verb %s on resource %s in API group %s in namespace %s", BypassVerb, BypassResource, BypassGroup, ns)
}

func who(u authenticationv1.UserInfo) string {
	if u.Username == "" {
		return "the requester"
	}
	return u.Username
}

func shortReason(r string) string {
	if len(r) > MaxBypassReason {
		return r[:MaxBypassReason] + "..."
	}
	return r
}

// bypassOutcome is the verdict on one bypass attempt.
type bypassOutcome struct {
	resp   admission.Response
	reason string
}

// reviewBypass decides a bypass attempt: allowed with the permission,
// denied without it (one sentence naming what to grant), denied when the
// review itself fails (fail closed, like every other read). what describes
// the write; clusterRole is the bundle's role to suggest.
func reviewBypass(ctx context.Context, review AccessReviewer, u authenticationv1.UserInfo, ns, name, what, clusterRole, reason, undo string) bypassOutcome {
	if review == nil {
		return bypassOutcome{admission.Errored(http.StatusServiceUnavailable, fmt.Errorf(
			"pivotcheck cannot check whether %s may bypass it, so it refuses %s despite %s; grant %s, and run the webhook with its bundle's RBAC (create on subjectaccessreviews)",
			who(u), what, BypassAnnotation, permission(ns))), ReasonBypassReviewError}
	}
	ok, err := review(ctx, u, ns, name)
	switch {
	case err != nil:
		return bypassOutcome{admission.Errored(http.StatusServiceUnavailable, fmt.Errorf(
			"pivotcheck could not check whether %s may bypass it (%w), so it refuses %s despite %s; retry in a few seconds",
			who(u), err, what, BypassAnnotation)), ReasonBypassReviewError}
	case !ok:
		user := u.Username
		if user == "" {
			user = "USER"
		}
		return bypassOutcome{admission.Denied(fmt.Sprintf(
			"pivotcheck refuses %s: it carries %s=%q, but %s may not bypass pivotcheck, which needs %s (grant it with: kubectl -n %s create rolebinding pivotcheck-bypass-%s --clusterrole %s --user %s), or %s.",
			what, BypassAnnotation, shortReason(reason), who(u), permission(ns), ns, sanitizeName(user), clusterRole, user, undo)), ReasonBypassForbidden}
	}
	return bypassOutcome{admission.Allowed(fmt.Sprintf("bypassed by %s (reason %q) for %s", BypassAnnotation, shortReason(reason), who(u))), ReasonBypass}
}

// logBypass logs every bypass attempt, allowed or not, with who and why.
func logBypass(log logr.Logger, gate Gate, kind, ns, name string, u authenticationv1.UserInfo, reason, outcome string, dryRun bool) {
	log.Info("bypass annotation", "gate", gate, "kind", kind, "namespace", ns, "name", name,
		"user", u.Username, "groups", u.Groups, "reason", shortReason(reason), "outcome", outcome, "dryRun", dryRun)
}

// bypassAudit adds who bypassed and why to the audit annotations.
func bypassAudit(resp *admission.Response, u authenticationv1.UserInfo, reason string) {
	if resp.AuditAnnotations == nil {
		resp.AuditAnnotations = map[string]string{}
	}
	resp.AuditAnnotations["bypass-user"] = u.Username
	resp.AuditAnnotations["bypass-reason"] = shortReason(reason)
}

// sanitizeName makes a user name usable in a suggested binding name.
func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	out := strings.Trim(b.String(), "-.")
	if len(out) > 40 {
		out = strings.Trim(out[:40], "-.")
	}
	if out == "" {
		return "user"
	}
	return out
}

package preflight

import (
	"strings"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

func TestCheckStatusAnnotations(t *testing.T) {
	good, err := fixture.StatusAnnotationJSON(bmov1alpha1.BareMetalHostStatus{OperationalStatus: bmov1alpha1.OperationalStatusOK,
		Provisioning: bmov1alpha1.ProvisionStatus{State: bmov1alpha1.StateProvisioned, ID: "x"}})
	require.NoError(t, err)
	withConditions := strings.Replace(good, "{", `{"conditions":[],`, 1)
	cases := []struct {
		name   string
		h      bmov1alpha1.BareMetalHost
		target string
		want   []want
	}{
		{name: "valid", h: host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: good}), target: "v0.13.2", want: nil},
		{name: "consumed without annotation: CAPM3 writes it", h: host("h", bmov1alpha1.StateProvisioned, true, nil), target: "v0.13.2", want: nil},
		{name: "spare without annotation", h: host("h", bmov1alpha1.StateAvailable, false, nil), target: "v0.13.2",
			want: []want{{check: StatusMissing, sev: SeverityWarning, name: "h", msg: "`pivotcheck move` writes it"}}},
		{name: "unknown field", h: host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: strings.Replace(good, "{", `{"notAField":1,`, 1)}), target: "v0.13.2",
			want: []want{{check: StatusInvalid, sev: SeverityError, name: "h", msg: `unknown field "notAField"`}}},
		{name: "paused by CAPM3 without status: reported by the host check", h: host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.PausedAnnotation: "metal3.io/capm3"}), target: "v0.13.2", want: nil},
		{name: "not JSON", h: host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: "{"}), target: "v0.13.2",
			want: []want{{check: StatusInvalid, sev: SeverityError, name: "h", msg: "does not parse"}}},
		{name: "servicing", h: host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: strings.Replace(good, `"OK"`, `"servicing"`, 1)}), target: "v0.13.2",
			want: []want{{check: StatusInvalid, sev: SeverityError, name: "h", msg: `operationalStatus "servicing"`}}},
		{name: "servicing error type", h: host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: strings.Replace(good, "{", `{"errorType":"servicing error",`, 1)}), target: "v0.13.2",
			want: []want{{check: StatusInvalid, sev: SeverityError, name: "h", msg: `errorType "servicing error"`}}},
		{name: "conditions for an older target BMO", h: host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: withConditions}), target: "v0.12.1",
			want: []want{{check: StatusInvalid, sev: SeverityError, name: "h", msg: "carries conditions"}}},
		{name: "conditions for a 0.13 target", h: host("h", bmov1alpha1.StateProvisioned, true, map[string]string{bmov1alpha1.StatusAnnotation: withConditions}), target: "v0.13.0", want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{Source: Side{Hosts: []bmov1alpha1.BareMetalHost{tc.h}}, Target: Side{Deployments: []appsv1.Deployment{bmoDeploy(tc.target, true)}}}
			requireFindings(t, checkStatusAnnotations(s), tc.want)
		})
	}
}

// CAPM3 1.14's block-move annotation, explained.
func TestCheckBlockMove(t *testing.T) {
	bm := map[string]string{blockMoveAnnotation: ""}
	capm3 := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "capm3-system", Name: "capm3-controller-manager"}}
	capm3.Spec.Template.Spec.Containers = []corev1.Container{{Name: "manager", Image: "quay.io/metal3-io/cluster-api-provider-metal3:v1.14.0"}}
	capm3.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}
	hostObjs := func(hosts ...bmov1alpha1.BareMetalHost) []metav1.PartialObjectMetadata {
		var out []metav1.PartialObjectMetadata
		for _, h := range hosts {
			o := obj("metal3.io/v1alpha1", "BareMetalHost", h.Name)
			o.Annotations = h.Annotations
			out = append(out, o)
		}
		return out
	}
	unpaused := host("h0", bmov1alpha1.StateProvisioned, true, map[string]string{blockMoveAnnotation: ""})
	early := host("h1", bmov1alpha1.StateProvisioned, true, map[string]string{blockMoveAnnotation: "", bmov1alpha1.PausedAnnotation: "pivotcheck.dev/move"})
	spare := host("h2", bmov1alpha1.StateAvailable, false, map[string]string{blockMoveAnnotation: ""})
	other := obj("infrastructure.cluster.x-k8s.io/v1beta2", "Metal3Machine", "m0")
	other.Annotations = bm
	cases := []struct {
		name  string
		hosts []bmov1alpha1.BareMetalHost
		extra []metav1.PartialObjectMetadata
		deps  []appsv1.Deployment
		want  []want
		msg   []string
	}{
		{name: "none", hosts: []bmov1alpha1.BareMetalHost{host("h0", bmov1alpha1.StateProvisioned, true, nil)}, deps: []appsv1.Deployment{capm3}},
		{name: "CAPM3 1.14 running", hosts: []bmov1alpha1.BareMetalHost{unpaused, early}, deps: []appsv1.Deployment{capm3},
			want: []want{{check: BlockMove, sev: SeverityInfo, name: "ns", msg: "2 consumed BareMetalHost(s) carry clusterctl.cluster.x-k8s.io/block-move"}},
			msg:  []string{"h0; h1 (paused by \"pivotcheck.dev/move\")", "1 of them are paused already", "once the move pauses the Cluster"}},
		{name: "no CAPM3 to remove it", hosts: []bmov1alpha1.BareMetalHost{unpaused}, deps: nil,
			want: []want{{check: BlockMove, sev: SeverityError, name: "ns", msg: "no CAPM3 controller runs in the source"}}},
		{name: "CAPM3 not available", hosts: []bmov1alpha1.BareMetalHost{unpaused}, deps: []appsv1.Deployment{func() appsv1.Deployment {
			d := capm3.DeepCopy()
			d.Status.Conditions = nil
			return *d
		}()}, want: []want{{check: BlockMove, sev: SeverityError, name: "ns", msg: "would wait about 6 minutes and fail"}}},
		{name: "on a spare host and another object", hosts: []bmov1alpha1.BareMetalHost{spare}, extra: []metav1.PartialObjectMetadata{other}, deps: []appsv1.Deployment{capm3},
			want: []want{{check: BlockMove, sev: SeverityWarning, name: "h2", msg: "something else blocks the move"}, {check: BlockMove, sev: SeverityWarning, name: "m0", msg: "Metal3Machine ns/m0"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{Namespace: "ns", Source: Side{Hosts: tc.hosts, Objects: append(hostObjs(tc.hosts...), tc.extra...), Deployments: tc.deps}}
			got := checkBlockMove(s)
			requireFindings(t, got, tc.want)
			for _, m := range tc.msg {
				require.Contains(t, got[0].Message, m)
			}
		})
	}
}

func TestCheckBypassLeft(t *testing.T) {
	withAnn := func(o metav1.PartialObjectMetadata, v string) metav1.PartialObjectMetadata {
		o.Annotations = map[string]string{"pivotcheck.dev/allow-unsafe-move": v}
		return o
	}
	cases := []struct {
		name     string
		src, dst Side
		want     []want
	}{
		{name: "nothing left", src: Side{Objects: []metav1.PartialObjectMetadata{obj("cluster.x-k8s.io/v1beta2", "Cluster", "c")}, NamespaceLabels: map[string]string{"a": "b"}}},
		{name: "annotation on the source Cluster", src: Side{Objects: []metav1.PartialObjectMetadata{withAnn(obj("cluster.x-k8s.io/v1beta2", "Cluster", "c"), "maintenance")}},
			want: []want{{check: BypassLeft, sev: SeverityWarning, name: "c", msg: `Cluster ns/c carries pivotcheck.dev/allow-unsafe-move="maintenance" in the source cluster`}}},
		{name: "empty annotation", src: Side{Objects: []metav1.PartialObjectMetadata{withAnn(obj("cluster.x-k8s.io/v1beta2", "ClusterClass", "cc"), "")}},
			want: []want{{check: BypassLeft, sev: SeverityWarning, name: "cc", msg: "is no bypass (an empty value)"}}},
		{name: "annotation on a target host", dst: Side{Objects: []metav1.PartialObjectMetadata{withAnn(obj("metal3.io/v1alpha1", "BareMetalHost", "h"), "by hand")}},
			want: []want{{check: BypassLeft, sev: SeverityWarning, name: "h", msg: "in the target cluster"}}},
		{name: "label in both clusters", src: Side{NamespaceLabels: map[string]string{"pivotcheck.dev/allow-unsafe-move": "accepted-risk"}}, dst: Side{NamespaceLabels: map[string]string{"pivotcheck.dev/allow-unsafe-move": ""}},
			want: []want{
				{check: BypassLeft, sev: SeverityWarning, name: "ns", msg: `label pivotcheck.dev/allow-unsafe-move="accepted-risk" in the source cluster`},
				{check: BypassLeft, sev: SeverityWarning, name: "ns", msg: "in the target cluster: pivotcheck's webhooks skip every write in it"},
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Snapshot{Namespace: "ns", Source: c.src, Target: c.dst}
			requireFindings(t, checkBypassLeft(s), c.want)
			// Evaluate runs it.
			n := 0
			for _, f := range Evaluate(s) {
				if f.Check == BypassLeft {
					n++
				}
			}
			require.Equal(t, len(c.want), n)
		})
	}
}

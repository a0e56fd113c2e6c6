package bmo

import (
	"context"
	"os"
	"strings"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		tag  string
		want string // "" means no version
	}{
		{tag: "v0.13.2", want: "0.13.2"},
		{tag: "0.13", want: "0.13"},
		{tag: "release-0.13", want: "0.13"},
		{tag: "v0.13.2-rc.1", want: "0.13.2"}, // generic parsing ignores pre-release parts
		{tag: "latest"},
		{tag: "main"},
		{tag: ""},
	} {
		v := ParseVersion(tc.tag)
		if tc.want == "" {
			require.Nil(t, v, tc.tag)
			continue
		}
		require.NotNil(t, v, tc.tag)
		require.Equal(t, tc.want, v.String(), tc.tag)
	}
	require.True(t, ParseVersion("v0.12.9").LessThan(ConditionsSince))
	require.False(t, ParseVersion("release-0.13").LessThan(ConditionsSince))
}

func TestSplitImage(t *testing.T) {
	for _, tc := range []struct{ image, repo, tag string }{
		{image: "quay.io/metal3-io/baremetal-operator:v0.13.2", repo: "quay.io/metal3-io/baremetal-operator", tag: "v0.13.2"},
		{image: "quay.io/metal3-io/baremetal-operator:release-0.13@sha256:abc", repo: "quay.io/metal3-io/baremetal-operator", tag: "release-0.13"},
		{image: "quay.io/metal3-io/baremetal-operator@sha256:abc", repo: "quay.io/metal3-io/baremetal-operator"},
		{image: "registry:5000/metal3/baremetal-operator", repo: "registry:5000/metal3/baremetal-operator"},
		{image: "registry:5000/metal3/baremetal-operator:v0.12.0", repo: "registry:5000/metal3/baremetal-operator", tag: "v0.12.0"},
	} {
		repo, tag := SplitImage(tc.image)
		require.Equal(t, tc.repo, repo, tc.image)
		require.Equal(t, tc.tag, tag, tc.image)
	}
}

func TestFind(t *testing.T) {
	dep := func(ns, name, container, image string) appsv1.Deployment {
		d := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: container, Image: image}}
		return d
	}
	deps := []appsv1.Deployment{
		dep("kube-system", "coredns", "coredns", "registry.k8s.io/coredns:v1.11"),
		dep("metal3", "custom-baremetal-operator-controller-manager", "manager", "mirror.local/bmo@sha256:abc"),
	}
	d, tag := Find(deps)
	require.NotNil(t, d)
	require.Equal(t, "metal3", d.Namespace)
	require.Empty(t, tag)

	deps = append(deps[:1], dep("other", "bmo", "c", "quay.io/metal3-io/baremetal-operator:release-0.13"))
	d, tag = Find(deps)
	require.NotNil(t, d)
	require.Equal(t, "release-0.13", tag)

	d, _ = Find(deps[:1])
	require.Nil(t, d)
}

func status() bmov1alpha1.BareMetalHostStatus {
	now := metav1.Now()
	return bmov1alpha1.BareMetalHostStatus{
		OperationalStatus: bmov1alpha1.OperationalStatusOK, LastUpdated: &now, PoweredOn: true,
		Provisioning:    bmov1alpha1.ProvisionStatus{State: bmov1alpha1.StateProvisioned, ID: "abc"},
		HardwareDetails: &bmov1alpha1.HardwareDetails{Hostname: "h"},
		Conditions:      []metav1.Condition{{Type: "Progressing", Status: metav1.ConditionFalse, Reason: "NotProgressing", LastTransitionTime: now}},
	}
}

func TestEncodeDecodeStatus(t *testing.T) {
	st := status()
	raw, err := EncodeStatus(st, ParseVersion("v0.13.2"))
	require.NoError(t, err)
	require.NotContains(t, raw, `"hardware"`)
	require.Contains(t, raw, `"conditions"`)
	back, err := DecodeStatus(raw, ParseVersion("v0.13.2"))
	require.NoError(t, err)
	require.Equal(t, st.Provisioning, back.Provisioning)

	// An older target BMO's webhook rejects conditions: they are dropped
	// when encoding and reported when decoding.
	old, err := EncodeStatus(st, ParseVersion("v0.12.3"))
	require.NoError(t, err)
	require.NotContains(t, old, `"conditions"`)
	_, err = DecodeStatus(raw, ParseVersion("v0.12.3"))
	require.ErrorContains(t, err, "conditions")

	for _, bad := range []struct {
		mutate func(*bmov1alpha1.BareMetalHostStatus)
		want   string
	}{
		{mutate: func(s *bmov1alpha1.BareMetalHostStatus) { s.OperationalStatus = bmov1alpha1.OperationalStatusServicing }, want: "servicing"},
		{mutate: func(s *bmov1alpha1.BareMetalHostStatus) {
			s.OperationalStatus, s.ErrorType = bmov1alpha1.OperationalStatusError, bmov1alpha1.DetachError
		}, want: "detach error"},
		{mutate: func(s *bmov1alpha1.BareMetalHostStatus) {
			s.OperationalStatus, s.ErrorType = bmov1alpha1.OperationalStatusError, bmov1alpha1.ServicingError
		}, want: "servicing error"},
	} {
		st := status()
		bad.mutate(&st)
		_, err := EncodeStatus(st, nil)
		require.ErrorContains(t, err, bad.want)
	}
	// Every error type BMO's webhook allows can be carried.
	for _, et := range bmov1alpha1.ErrorTypeAllowed {
		st := status()
		st.OperationalStatus, st.ErrorType = bmov1alpha1.OperationalStatusError, bmov1alpha1.ErrorType(et)
		raw, err := EncodeStatus(st, nil)
		require.NoError(t, err, et)
		_, err = DecodeStatus(raw, nil)
		require.NoError(t, err, et)
	}

	for _, raw := range []string{`{"notAField":true}`, `{"operationalStatus":"OK"`, `{"operationalStatus":"OK"}{}`, `[]`} {
		_, err := DecodeStatus(raw, nil)
		require.Error(t, err, raw)
	}
}

// FuzzDecodeStatus: any input is either accepted as a status BMO's webhook
// accepts, or refused with an error; never a panic.
func FuzzDecodeStatus(f *testing.F) {
	raw, _ := EncodeStatus(status(), nil)
	for _, s := range []string{raw, `{}`, `{"operationalStatus":"servicing"}`, `{"errorType":"detach error"}`, `{"conditions":[{}]}`, `null`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		st, err := DecodeStatus(raw, ParseVersion("0.12"))
		if err != nil {
			return
		}
		require.NoError(t, CheckStatus(st))
		if strings.Contains(raw, `"conditions"`) {
			// Accepted despite the key: only possible when it is nested in a string.
			_, err := EncodeStatus(*st, ParseVersion("0.12"))
			require.NoError(t, err)
		}
	})
}

func TestIronicEndpoint(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: DeploymentName}}
	d.Spec.Template.Spec.Containers = []corev1.Container{{
		Name: "manager", Image: "quay.io/metal3-io/baremetal-operator:v0.13.2",
		EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "baremetal-operator-ironic"}}}},
	}}
	cms := []corev1.ConfigMap{{
		ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: "baremetal-operator-ironic"},
		Data:       map[string]string{"IRONIC_ENDPOINT": "https://172.22.0.2:6385/v1/"},
	}}
	e, ok := IronicEndpoint(d, cms)
	require.True(t, ok)
	require.Equal(t, "https://172.22.0.2:6385/v1/", e)

	// The ConfigMap of another namespace is not BMO's.
	cms[0].Namespace = "other"
	_, ok = IronicEndpoint(d, cms)
	require.False(t, ok)

	// IrSO: the Ironic resource BMO follows.
	d.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "IRONIC_NAME", Value: "ironic"}}
	e, ok = IronicEndpoint(d, nil)
	require.True(t, ok)
	require.Equal(t, "Ironic resource baremetal-operator-system/ironic (Ironic Standalone Operator)", e)

	_, ok = IronicEndpoint(nil, nil)
	require.False(t, ok)
}

// Every metal3.io CRD BMO v0.13.2 ships (read from its module) has a
// policy, so no kind falls to the unknown-kind default by accident; each
// one either moves with clusterctl labels or is regenerated.
func TestKindPolicies(t *testing.T) {
	files, err := upstream.BMOCRDs(context.Background())
	require.NoError(t, err)
	var apiKinds []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		crd := &apiextensionsv1.CustomResourceDefinition{}
		require.NoError(t, yaml.Unmarshal(raw, crd))
		if crd.Kind == "CustomResourceDefinition" && crd.Spec.Group == Group {
			apiKinds = append(apiKinds, crd.Spec.Names.Kind)
		}
	}
	require.Len(t, apiKinds, 11, "BMO v0.13.2 ships 11 metal3.io CRDs")
	for _, k := range apiKinds {
		p, known := Policy(k)
		require.True(t, known, k)
		if p.Regenerated {
			require.Empty(t, p.Labels, k)
			require.False(t, MustMove(k), k)
			continue
		}
		require.Contains(t, p.Labels, LabelClusterctl, k)
		require.Contains(t, p.Labels, LabelMove, k)
		require.True(t, MustMove(k), k)
		require.NotEmpty(t, p.Why, k)
	}
	require.Len(t, Kinds, len(apiKinds))
	p, known := Policy("SomeFutureKind")
	require.False(t, known)
	require.Equal(t, UnknownKindLabels, p.Labels)
	require.True(t, MustMove("SomeFutureKind"))
	bmh, _ := Policy("BareMetalHost")
	require.Contains(t, bmh.Labels, LabelMoveHierarchy)
}

package preflight_test

import (
	"context"
	"strings"
	"testing"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/pivotcheck/preflight"
)

func findingsOf(r *preflight.Report, check string) []preflight.Finding {
	var out []preflight.Finding
	for _, f := range r.Findings {
		if f.Check == check {
			out = append(out, f)
		}
	}
	return out
}

// The BMO kinds that hold user intent are covered by the label and
// owner-chain checks through clusterctl's real dry run: labelled as the KRM
// function labels them they move; without the move label a HostUpdatePolicy
// nothing owns yet is left behind; an edited HostFirmwareSettings behind an
// unlabelled CRD is an error; PreprovisioningImages never count.
func TestBMOKindsMoveWithTheirHosts(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	const ns = "bmo-kinds"
	res, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1})
	require.NoError(t, err)
	src := pair.Bootstrap.Client
	h := &bmov1alpha1.BareMetalHost{}
	require.NoError(t, src.Get(ctx, client.ObjectKey{Namespace: ns, Name: res.Hosts[0]}, h))
	owned := metav1.OwnerReference{APIVersion: "metal3.io/v1alpha1", Kind: "BareMetalHost", Name: h.Name, UID: h.UID}

	// BMO created it empty at registration; the user then asked for a setting.
	hfs := &bmov1alpha1.HostFirmwareSettings{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: h.Name, OwnerReferences: []metav1.OwnerReference{owned}},
		Spec: bmov1alpha1.HostFirmwareSettingsSpec{Settings: bmov1alpha1.DesiredSettingsMap{}}}
	require.NoError(t, src.Create(ctx, hfs))
	require.NoError(t, src.Patch(ctx, hfs, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"settings":{"ProcVirtualization":"Disabled"}}}`))))
	require.EqualValues(t, 2, hfs.Generation)
	// Written by the user before BMO registered the host: no owner yet.
	hup := &bmov1alpha1.HostUpdatePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: h.Name},
		Spec: bmov1alpha1.HostUpdatePolicySpec{FirmwareSettings: "onReboot", FirmwareUpdates: "onReboot"}}
	require.NoError(t, src.Create(ctx, hup))
	// BMO's own, rebuilt in the target.
	require.NoError(t, src.Create(ctx, &bmov1alpha1.PreprovisioningImage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: h.Name,
		OwnerReferences: []metav1.OwnerReference{owned}}, Spec: bmov1alpha1.PreprovisioningImageSpec{Architecture: "x86_64"}}))

	r := run(t, opts(t, ns))
	require.Empty(t, errorsOf(r), "labelled as the KRM function labels them, everything moves")
	planned := map[string]bool{}
	for _, o := range r.Plan {
		planned[o.Kind+"/"+o.Name] = true
	}
	require.True(t, planned["HostFirmwareSettings/"+h.Name])
	require.True(t, planned["HostUpdatePolicy/"+h.Name])
	require.False(t, planned["PreprovisioningImage/"+h.Name], "not labelled: BMO rebuilds it")

	// Without the move label, clusterctl leaves the unowned policy behind.
	restore := mutate(t, src, client.ObjectKey{Name: "hostupdatepolicies.metal3.io"}, &apiextensionsv1.CustomResourceDefinition{},
		func(c *apiextensionsv1.CustomResourceDefinition) { delete(c.Labels, testenv.LabelMove) },
		func(c *apiextensionsv1.CustomResourceDefinition) { c.Labels[testenv.LabelMove] = "" })
	r = run(t, opts(t, ns))
	restore()
	labels, chain := findingsOf(r, preflight.CRDLabelsSource), findingsOf(r, preflight.OwnerChain)
	require.Len(t, labels, 1)
	require.Equal(t, preflight.SeverityError, labels[0].Severity)
	require.Contains(t, labels[0].Message, "hostupdatepolicies.metal3.io lacks label clusterctl.cluster.x-k8s.io/move")
	require.Len(t, chain, 1)
	require.Equal(t, "HostUpdatePolicy", chain[0].Object.Kind)
	require.Contains(t, chain[0].Message, "would be left behind by clusterctl move: it has no owner chain")
	require.Contains(t, chain[0].Hint, "label the HostUpdatePolicy CRD clusterctl.cluster.x-k8s.io/move=")

	// Behind an unlabelled CRD, the edited settings are an error (reported
	// once, by the label check).
	restore = mutate(t, src, client.ObjectKey{Name: "hostfirmwaresettings.metal3.io"}, &apiextensionsv1.CustomResourceDefinition{},
		func(c *apiextensionsv1.CustomResourceDefinition) { c.Labels = nil },
		func(c *apiextensionsv1.CustomResourceDefinition) {
			c.Labels = map[string]string{testenv.LabelClusterctl: "", testenv.LabelMove: ""}
		})
	r = run(t, opts(t, ns))
	restore()
	requireOnly(t, r, preflight.CRDLabelsSource, "CustomResourceDefinition", "", "hostfirmwaresettings.metal3.io")
	require.Contains(t, errorsOf(r)[0].Message, "1 of them edited since BMO created them")

	r = run(t, opts(t, ns))
	require.Empty(t, errorsOf(r), "restored")
}

// CAPM3 1.14's block-move on consumed hosts: explained while CAPM3 runs in
// the source, an error when nothing would remove it.
func TestBlockMoveFinding(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	const ns = "block-move"
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 2, CAPM3v114: true})
	require.NoError(t, err)

	r := run(t, opts(t, ns))
	bm := findingsOf(r, preflight.BlockMove)
	require.Len(t, bm, 1)
	require.Equal(t, preflight.SeverityError, bm[0].Severity, "no CAPM3 controller in the source")
	require.Contains(t, bm[0].Message, "2 consumed BareMetalHost(s) carry clusterctl.cluster.x-k8s.io/block-move")

	require.NoError(t, fixture.InstallManagement(ctx, pair.Bootstrap.Client, fixture.Management{CAPM3Version: "v1.14.0"}))
	defer func() {
		d := &metav1.PartialObjectMetadata{}
		d.SetGroupVersionKind(schemaDeployment)
		d.SetNamespace(fixture.CAPM3Namespace)
		d.SetName(fixture.CAPM3Name)
		require.NoError(t, pair.Bootstrap.Client.Delete(ctx, d))
	}()
	r = run(t, opts(t, ns))
	bm = findingsOf(r, preflight.BlockMove)
	require.Len(t, bm, 1)
	require.Equal(t, preflight.SeverityInfo, bm[0].Severity)
	require.True(t, strings.Contains(bm[0].Message, "once the move pauses the Cluster"), bm[0].Message)
	for _, f := range errorsOf(r) {
		require.NotEqual(t, preflight.BlockMove, f.Check)
	}
}

var schemaDeployment = appsv1.SchemeGroupVersion.WithKind("Deployment")

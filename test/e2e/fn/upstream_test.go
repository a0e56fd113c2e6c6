package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/pivotcheck/pivotcheck/fn"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
)

// TestUpstreamIronicKeepalived builds BMO v0.13.2's ironic-deployment/default
// twice with kustomize: once with BMO's own components/keepalived, once with
// pivotcheck fn as an exec transformer. The keepalived containers must be
// equal field by field. Both kustomizations live in temp dirs and point at
// the module cache; nothing upstream is copied.
func TestUpstreamIronicKeepalived(t *testing.T) {
	bin := needBinary(t)
	kz := kustomizeBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ironic, err := upstream.IronicDeployment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kustomization := func(extra string) string {
		dir := t.TempDir()
		// kustomize refuses absolute roots; a relative path to the module cache works.
		rel, err := filepath.Rel(dir, ironic)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "kustomization.yaml"), fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- %s/default\n%s", rel, strings.ReplaceAll(extra, "IRONIC", rel)))
		return dir
	}
	bmoDir := kustomization("components:\n- IRONIC/components/keepalived\n")
	// The component also merges PROVISIONING_IP/INTERFACE into the
	// ConfigMap; give the function's build the same ConfigMap data so both
	// ConfigMaps (and their hash-suffixed names in envFrom) are identical.
	fnDir := kustomization(`configMapGenerator:
- name: ironic-bmo-configmap
  behavior: merge
  literals:
  - PROVISIONING_IP=172.22.0.2
  - PROVISIONING_INTERFACE=ironicendpoint
transformers:
- pivot-prep.yaml
`)
	// No image in the config: the function's default must be BMO's image.
	writeFile(t, filepath.Join(fnDir, "pivot-prep.yaml"), fmt.Sprintf(`apiVersion: fn.pivotcheck.dev/v1alpha1
kind: PivotPrep
metadata:
  name: pivot-prep
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: %s
        args: [fn]
`, bin))
	bmoOut := run(t, bmoDir, kz, "build", ".")
	fnOut := run(t, fnDir, kz, "build", "--enable-alpha-plugins", "--enable-exec", ".")

	bmoDep, bmoKA := ironicDeployment(t, bmoOut)
	fnDep, fnKA := ironicDeployment(t, fnOut)
	if !reflect.DeepEqual(bmoKA, fnKA) {
		a, _ := sigsyaml.Marshal(bmoKA)
		b, _ := sigsyaml.Marshal(fnKA)
		t.Fatalf("keepalived containers differ\nBMO components/keepalived:\n%s\npivotcheck fn:\n%s", a, b)
	}
	if bmoKA.EnvFrom == nil || !strings.HasPrefix(bmoKA.EnvFrom[0].ConfigMapRef.Name, "baremetal-operator-ironic-bmo-configmap-") {
		t.Fatalf("unexpected upstream keepalived container: %+v", bmoKA)
	}
	// The rest of the Deployment is the same too, container order aside:
	// BMO's strategic-merge patch puts keepalived first, the function
	// appends it so Ironic stays kubectl's default container.
	sortContainers(bmoDep)
	sortContainers(fnDep)
	if !reflect.DeepEqual(bmoDep, fnDep) {
		t.Errorf("Ironic Deployments differ beyond container order")
	}
}

func ironicDeployment(t *testing.T, stream string) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	for doc := range strings.SplitSeq(stream, "\n---\n") {
		if !strings.Contains(doc, "kind: Deployment") {
			continue
		}
		var d appsv1.Deployment
		if err := sigsyaml.UnmarshalStrict([]byte(doc), &d); err != nil {
			t.Fatal(err)
		}
		if d.Name != "baremetal-operator-ironic" {
			continue
		}
		var found []corev1.Container
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name == fn.KeepalivedContainer {
				found = append(found, c)
			}
		}
		if len(found) != 1 {
			t.Fatalf("want exactly one %s container, got %d", fn.KeepalivedContainer, len(found))
		}
		return &d, found[0]
	}
	t.Fatal("no baremetal-operator-ironic Deployment in the output")
	return nil, corev1.Container{}
}

func sortContainers(d *appsv1.Deployment) {
	c := d.Spec.Template.Spec.Containers
	slices.SortFunc(c, func(a, b corev1.Container) int { return strings.Compare(a.Name, b.Name) })
}

// expectedCRDLabels is the label set the default config gives a CRD (nil:
// untouched): the README's table of labels.
func expectedCRDLabels(crd *apiextensionsv1.CustomResourceDefinition) map[string]string {
	g, k := crd.Spec.Group, crd.Spec.Names.Kind
	switch {
	case g == "infrastructure.cluster.x-k8s.io" && k == "Metal3DataTemplate":
		return map[string]string{fn.LabelClusterctl: "", fn.LabelMove: "", fn.LabelProvider: "infrastructure-metal3"}
	case g == "infrastructure.cluster.x-k8s.io" && strings.HasPrefix(k, "Metal3"):
		return map[string]string{fn.LabelClusterctl: "", fn.LabelProvider: "infrastructure-metal3"}
	case g == "ipam.metal3.io":
		return map[string]string{fn.LabelClusterctl: "", fn.LabelProvider: "ipam-metal3"}
	case crd.Name == "baremetalhosts.metal3.io":
		return map[string]string{fn.LabelClusterctl: "", fn.LabelMove: "", fn.LabelMoveHierarchy: ""}
	case crd.Name == "preprovisioningimages.metal3.io" || crd.Name == "firmwareschemas.metal3.io":
		return nil // BMO rebuilds them in the target
	case g == "metal3.io":
		// HardwareData, HostFirmwareSettings, HostFirmwareComponents,
		// HostUpdatePolicy, DataImage, BMCEventSubscription, HostClaim,
		// HostDeployPolicy.
		return map[string]string{fn.LabelClusterctl: "", fn.LabelMove: ""}
	}
	return nil
}

func decodeCRDs(t *testing.T, stream string) []*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	var out []*apiextensionsv1.CustomResourceDefinition
	for doc := range strings.SplitSeq(stream, "\n---\n") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
			continue
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := sigsyaml.UnmarshalStrict([]byte(doc), crd); err != nil {
			t.Fatalf("decoding CRD: %v", err)
		}
		out = append(out, crd)
	}
	return out
}

// TestUpstreamCRDs runs the function (standalone form) on the real CAPI,
// CAPM3, BMO and IPAM CRD files: every CRD comes out labelled exactly as the
// README's "What it changes" table says and otherwise unchanged, and the result installs into a real
// API server (envtest) with the labels intact.
func TestUpstreamCRDs(t *testing.T) {
	bin := needBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	files, err := upstream.AllCRDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var in []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, string(b))
	}
	before := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, c := range decodeCRDs(t, strings.Join(in, "\n---\n")) {
		before[c.Name] = c
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, cfg, "apiVersion: fn.pivotcheck.dev/v1alpha1\nkind: PivotPrep\nmetadata:\n  name: defaults\n")
	out, stderr, err := runErr("", bin, append([]string{"fn", cfg}, files...)...)
	if err != nil {
		t.Fatalf("pivotcheck fn: %v\n%s", err, stderr)
	}
	after := decodeCRDs(t, out)
	if len(after) != len(before) || len(after) < 30 {
		t.Fatalf("got %d CRDs back from %d", len(after), len(before))
	}
	groups := map[string]int{}
	for _, got := range after {
		orig := before[got.Name]
		if orig == nil {
			t.Fatalf("unexpected CRD %s", got.Name)
		}
		want := map[string]string{}
		maps.Copy(want, orig.Labels)
		maps.Copy(want, expectedCRDLabels(orig))
		gotLabels := got.Labels
		if gotLabels == nil {
			gotLabels = map[string]string{}
		}
		if !reflect.DeepEqual(gotLabels, want) {
			t.Errorf("%s: labels %v, want %v", got.Name, gotLabels, want)
		}
		rest := got.DeepCopy()
		rest.Labels = orig.Labels
		if !reflect.DeepEqual(rest, orig) {
			t.Errorf("%s: the function changed more than labels", got.Name)
		}
		groups[got.Spec.Group]++
	}
	for _, g := range []string{"cluster.x-k8s.io", "infrastructure.cluster.x-k8s.io", "metal3.io", "ipam.metal3.io"} {
		if groups[g] == 0 {
			t.Errorf("no %s CRDs among the upstream input", g)
		}
	}
	if n := strings.Count(stderr, "[warning]"); n != 0 {
		t.Errorf("unexpected warnings on the upstream CRDs:\n%s", stderr)
	}

	// The labelled CRDs are valid: a real API server installs them and
	// serves the labels back.
	c, err := testenv.Start(ctx, testenv.Options{Name: "fn-crds", CRDs: after})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop() }()
	for _, name := range []string{"baremetalhosts.metal3.io", "hardwaredata.metal3.io", "hostfirmwaresettings.metal3.io", "hostupdatepolicies.metal3.io",
		"metal3machines.infrastructure.cluster.x-k8s.io", "metal3datatemplates.infrastructure.cluster.x-k8s.io", "ippools.ipam.metal3.io"} {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := c.Client.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
			t.Fatalf("get %s from envtest: %v", name, err)
		}
		var want map[string]string
		for _, a := range after {
			if a.Name == name {
				want = a.Labels
			}
		}
		if len(want) == 0 || !reflect.DeepEqual(crd.Labels, want) {
			t.Errorf("%s in the API server: labels %v, want %v", name, crd.Labels, want)
		}
	}
}

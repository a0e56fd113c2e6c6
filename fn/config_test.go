package fn

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/pivotcheck/pivotcheck/internal/test/upstream"
)

func TestParseConfigTyped(t *testing.T) {
	fc := kyaml.MustParse(`apiVersion: fn.pivotcheck.dev/v1alpha1
kind: PivotPrep
metadata:
  name: full
  annotations:
    config.kubernetes.io/local-config: "true"
spec:
  labels:
    overwriteProvider: true
    noDefaults: true
    rules:
    - group: example.com
      kind: Foo*
      labels:
        a: ""
  keepalived:
    image: registry.example.com/keepalived:1
    provisioningIP: 2001:db8::2
    provisioningInterface: br-prov
    ironicSelector:
      names: [my-ironic]
      podLabels: {}
      containerNames: [conductor]
  owners:
    disabled: true
    keepUIDOwnerReferences: true
`)
	c, err := ParseConfig(fc)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.rules) != 1 || c.rules[0].Group != "example.com" || !c.Labels.OverwriteProvider {
		t.Errorf("label rules not read: %+v", c.rules)
	}
	if matchRule(c.rules, "example.com", "FooBar") == nil || matchRule(c.rules, "example.com", "Bar") != nil {
		t.Error("kind prefix rule does not match as documented")
	}
	if c.Keepalived.Image != "registry.example.com/keepalived:1" || c.Keepalived.ProvisioningIP != "2001:db8::2" || c.Keepalived.ProvisioningInterface != "br-prov" {
		t.Errorf("keepalived not read: %+v", c.Keepalived)
	}
	if len(c.selector.Names) != 1 || len(c.selector.PodLabels) != 0 || c.selector.ContainerNames[0] != "conductor" {
		t.Errorf("selector not read: %+v", c.selector)
	}
	if !c.Owners.Disabled || !c.Owners.KeepUIDOwnerReferences {
		t.Errorf("owners not read: %+v", c.Owners)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	for name, fc := range map[string]*kyaml.RNode{
		"none":                nil,
		"kpt empty ConfigMap": kyaml.MustParse("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: function-input\n"),
		"empty typed":         kyaml.MustParse("apiVersion: fn.pivotcheck.dev/v1alpha1\nkind: PivotPrep\n"),
	} {
		c, err := ParseConfig(fc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Keepalived.Image != DefaultKeepalivedImage || len(c.rules) != len(defaultRules()) || c.Labels.Disabled || c.Keepalived.Disabled || c.Owners.Disabled {
			t.Errorf("%s: not the defaults: %+v", name, c)
		}
	}
}

func TestInterfaceNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"eth0": true, "br-prov": true, "enp2s0.100": true, "ironicendpoint": true, "a234567890abcde": true,
		"": false, "a234567890abcdef": false, "eth0/1": false, "eth 0": false, "eth\t0": false, ".": false, "eth0:1": false,
	} {
		if err := validInterfaceName(name); (err == nil) != ok {
			t.Errorf("%q: err=%v, want ok=%v", name, err, ok)
		}
	}
}

func TestProvisioningIPs(t *testing.T) {
	for ip, ok := range map[string]bool{
		"172.22.0.2": true, "fd00:1::2": true, "::1": true,
		"172.22.0.256": false, "172.22.0.2/24": false, "fe80::1%eth0": false, "host.example": false, " 172.22.0.2": false,
	} {
		_, err := newConfig(Spec{Keepalived: KeepalivedSpec{ProvisioningIP: ip}}, false)
		if (err == nil) != ok {
			t.Errorf("%q: err=%v, want ok=%v", ip, err, ok)
		} else if err != nil && !strings.Contains(err.Error(), "provisioningIP") {
			t.Errorf("%q: error does not name the field: %v", ip, err)
		}
	}
}

// The default rules label every metal3.io kind as internal/bmo decides,
// leave the two BMO regenerates alone, move an unknown future kind, and put
// the move label on the Metal3DataTemplate CRD as CAPM3 1.14 ships it.
func TestDefaultRulesBMOKinds(t *testing.T) {
	rules := defaultRules()
	for kind, want := range map[string][]string{
		"BareMetalHost":          {LabelClusterctl, LabelMove, LabelMoveHierarchy},
		"HardwareData":           {LabelClusterctl, LabelMove},
		"HostFirmwareSettings":   {LabelClusterctl, LabelMove},
		"HostFirmwareComponents": {LabelClusterctl, LabelMove},
		"HostUpdatePolicy":       {LabelClusterctl, LabelMove},
		"DataImage":              {LabelClusterctl, LabelMove},
		"BMCEventSubscription":   {LabelClusterctl, LabelMove},
		"HostClaim":              {LabelClusterctl, LabelMove},
		"HostDeployPolicy":       {LabelClusterctl, LabelMove},
		"PreprovisioningImage":   nil,
		"FirmwareSchema":         nil,
		"HostSomethingNew":       {LabelClusterctl, LabelMove},
	} {
		r := matchRule(rules, "metal3.io", kind)
		if r == nil {
			t.Fatalf("%s: no rule", kind)
		}
		var got []string
		for k := range r.Labels {
			got = append(got, k)
		}
		if len(got) != len(want) {
			t.Errorf("%s: labels %v, want %v", kind, got, want)
		}
		for _, k := range want {
			if _, ok := r.Labels[k]; !ok {
				t.Errorf("%s: no %s", kind, k)
			}
		}
		if _, ok := r.Labels[LabelProvider]; ok {
			t.Errorf("%s: a provider label on a BMO CRD", kind)
		}
	}
	dt := matchRule(rules, "infrastructure.cluster.x-k8s.io", "Metal3DataTemplate")
	if _, ok := dt.Labels[LabelMove]; !ok {
		t.Errorf("Metal3DataTemplate: no move label: %v", dt.Labels)
	}
	if m := matchRule(rules, "infrastructure.cluster.x-k8s.io", "Metal3Machine"); m.Labels[LabelProvider] != "infrastructure-metal3" {
		t.Errorf("Metal3Machine: %v", m.Labels)
	}
	if _, ok := matchRule(rules, "infrastructure.cluster.x-k8s.io", "Metal3Machine").Labels[LabelMove]; ok {
		t.Error("Metal3Machine must not be force-moved: it follows its Machine")
	}
}

// The default keepalived image is the one BMO v0.13.2's own
// ironic-deployment/components/keepalived patch uses, read from the module.
func TestDefaultKeepalivedImageIsBMOs(t *testing.T) {
	dir, err := upstream.IronicDeployment(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	patch, err := kyaml.ReadFile(filepath.Join(dir, "components", "keepalived", "keepalived_patch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := patch.Pipe(kyaml.Lookup("spec", "template", "spec", "containers", "[name="+KeepalivedContainer+"]", "image"))
	if err != nil || img == nil {
		t.Fatalf("no %s image in BMO's keepalived component: %v", KeepalivedContainer, err)
	}
	if got := kyaml.GetValue(img); got != DefaultKeepalivedImage {
		t.Errorf("DefaultKeepalivedImage = %q, BMO %s's components/keepalived uses %q", DefaultKeepalivedImage, upstream.BMO.Version, got)
	}
	if DefaultConfig().Keepalived.Image != DefaultKeepalivedImage {
		t.Errorf("the default config does not use DefaultKeepalivedImage: %q", DefaultConfig().Keepalived.Image)
	}
}

// spec.keepalived.image (and keepalivedImage in kpt's ConfigMap form) pins
// another image, by tag or digest.
func TestKeepalivedImagePinned(t *testing.T) {
	const pinned = "quay.io/metal3-io/keepalived@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	for name, fc := range map[string]string{
		"typed":     "apiVersion: fn.pivotcheck.dev/v1alpha1\nkind: PivotPrep\nmetadata:\n  name: p\nspec:\n  keepalived:\n    image: " + pinned + "\n",
		"configmap": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\ndata:\n  keepalivedImage: " + pinned + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := ParseConfig(kyaml.MustParse(fc))
			if err != nil {
				t.Fatal(err)
			}
			if c.Keepalived.Image != pinned {
				t.Errorf("image = %q, want %q", c.Keepalived.Image, pinned)
			}
		})
	}
}

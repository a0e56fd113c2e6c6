package preflight

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
)

func TestCheckProviders(t *testing.T) {
	core := provider("cluster-api", "CoreProvider", "v1.13.6")
	cases := []struct {
		name     string
		src, dst []clusterctlv1.Provider
		want     []want
	}{
		{name: "same", src: []clusterctlv1.Provider{core}, dst: []clusterctlv1.Provider{core}, want: nil},
		{name: "newer target", src: []clusterctlv1.Provider{core}, dst: []clusterctlv1.Provider{provider("cluster-api", "CoreProvider", "v1.14.0")}, want: nil},
		{name: "empty source inventory", src: nil, dst: nil, want: nil},
		{name: "older target", src: []clusterctlv1.Provider{core}, dst: []clusterctlv1.Provider{provider("cluster-api", "CoreProvider", "v1.12.1")},
			want: []want{{check: ProviderInventory, sev: SeverityError, name: "cluster-api", msg: "v1.12.1 in the target but v1.13.6 in the source"}}},
		{name: "missing", src: []clusterctlv1.Provider{core, provider("metal3", "InfrastructureProvider", "v1.13.2")}, dst: []clusterctlv1.Provider{core, provider("metal3", "IPAMProvider", "v1.13.2")},
			want: []want{{check: ProviderInventory, sev: SeverityError, name: "metal3", msg: "InfrastructureProvider metal3 (v1.13.2) is not installed in the target"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{Source: Side{Providers: tc.src}, Target: Side{Providers: tc.dst}}
			requireFindings(t, checkProviders(s), tc.want)
		})
	}
}

func TestCheckBMO(t *testing.T) {
	ok := Side{Deployments: []appsv1.Deployment{bmoDeploy("v0.13.2", true)}, Webhooks: []admissionregistrationv1.ValidatingWebhookConfiguration{webhook(admissionregistrationv1.Fail)}}
	cases := []struct {
		name     string
		src, dst Side
		want     []want
	}{
		{name: "clean", src: ok, dst: ok, want: nil},
		{name: "target without BMO", src: ok, dst: Side{Webhooks: ok.Webhooks},
			want: []want{{check: BMOTarget, sev: SeverityError, name: bmo.DeploymentName, msg: "runs no baremetal-operator"}}},
		{name: "target BMO unavailable", src: ok, dst: Side{Deployments: []appsv1.Deployment{bmoDeploy("v0.13.2", false)}, Webhooks: ok.Webhooks},
			want: []want{{check: BMOTarget, sev: SeverityError, name: bmo.DeploymentName, msg: "not Available"}}},
		{name: "target without webhook", src: ok, dst: Side{Deployments: ok.Deployments},
			want: []want{{check: BMOWebhookTarget, sev: SeverityWarning, name: "", msg: "no validating webhook"}}},
		{name: "older target", src: ok, dst: Side{Deployments: []appsv1.Deployment{bmoDeploy("v0.12.3", true)}, Webhooks: ok.Webhooks},
			want: []want{{check: BMOVersion, sev: SeverityError, name: bmo.DeploymentName, msg: "v0.12.3 but v0.13.2"}}},
		{name: "release branch tags compare", src: Side{Deployments: []appsv1.Deployment{bmoDeploy("release-0.12", true)}}, dst: Side{Deployments: []appsv1.Deployment{bmoDeploy("release-0.13", true)}, Webhooks: ok.Webhooks}, want: nil},
		{name: "unreadable tag", src: ok, dst: Side{Deployments: []appsv1.Deployment{bmoDeploy("latest", true)}, Webhooks: ok.Webhooks},
			want: []want{{check: BMOVersion, sev: SeverityWarning, name: bmo.DeploymentName, msg: "cannot compare"}}},
		{name: "source webhook without BMO", src: Side{Webhooks: ok.Webhooks}, dst: ok,
			want: []want{{check: BMOSource, sev: SeverityError, name: "bmo", msg: "no available baremetal-operator answers it"}}},
		{name: "source webhook Ignore without BMO is fine", src: Side{Webhooks: []admissionregistrationv1.ValidatingWebhookConfiguration{webhook(admissionregistrationv1.Ignore)}}, dst: ok, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireFindings(t, checkBMO(&Snapshot{Source: tc.src, Target: tc.dst}), tc.want)
		})
	}
}

package preflight

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/podenv"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
)

func ironicSide(replicas int32, keepalived bool, ip string) Side {
	d := *fixture.IronicDeployment(replicas, keepalived)
	return Side{
		Deployments: []appsv1.Deployment{d},
		ConfigMaps: []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Namespace: fixture.BMONamespace, Name: fixture.IronicConfigMap},
			Data: map[string]string{"PROVISIONING_IP": ip, "PROVISIONING_INTERFACE": "ironicendpoint"}}},
	}
}

func TestCheckIronic(t *testing.T) {
	cases := []struct {
		name     string
		src, dst Side
		probe    *Probe
		want     []want
	}{
		{name: "stopped source, running target", src: ironicSide(0, true, "172.22.0.2"), dst: ironicSide(1, true, "172.22.0.2"), probe: nil, want: nil},
		{name: "source still runs", src: ironicSide(1, true, "172.22.0.2"), dst: ironicSide(1, true, "172.22.0.2"), probe: nil,
			want: []want{{check: IronicSource, sev: SeverityError, name: fixture.IronicName, msg: "Ironic still runs in the source"}}},
		{name: "no target Ironic", src: ironicSide(0, true, "172.22.0.2"), dst: ironicSide(0, true, "172.22.0.2"), probe: nil,
			want: []want{{check: IronicTarget, sev: SeverityError, name: fixture.IronicName, msg: "no Ironic runs"}}},
		{name: "no keepalived", src: ironicSide(0, true, "172.22.0.2"), dst: ironicSide(1, false, "172.22.0.2"), probe: nil,
			want: []want{{check: KeepalivedTarget, sev: SeverityError, name: fixture.IronicName, msg: "no keepalived container"}}},
		{name: "incomplete settings", src: ironicSide(0, true, "172.22.0.2"), dst: ironicSide(1, true, ""), probe: nil,
			want: []want{{check: KeepalivedTarget, sev: SeverityError, name: fixture.IronicName, msg: "neither PROVISIONING_IP"}}},
		{name: "different VIP", src: ironicSide(0, true, "172.22.0.2"), dst: ironicSide(1, true, "172.22.0.9"), probe: nil,
			want: []want{{check: KeepalivedVIP, sev: SeverityError, name: fixture.IronicName, msg: "PROVISIONING_IP=172.22.0.9"}}},
		{name: "source from its ConfigMap only", src: Side{ConfigMaps: ironicSide(0, true, "172.22.0.2").ConfigMaps}, dst: ironicSide(1, true, "172.22.0.2"), probe: nil, want: nil},
		{name: "source unknown", src: Side{}, dst: ironicSide(1, true, "172.22.0.2"), probe: nil,
			want: []want{{check: KeepalivedVIP, sev: SeverityWarning, name: fixture.IronicName, msg: "could not be read"}}},
		{name: "probe 401", src: ironicSide(0, true, "172.22.0.2"), dst: ironicSide(1, true, "172.22.0.2"), probe: &Probe{URL: "u", Status: 401}, want: nil},
		{name: "probe 500", src: ironicSide(0, true, "172.22.0.2"), dst: ironicSide(1, true, "172.22.0.2"), probe: &Probe{URL: "u", Status: 500},
			want: []want{{check: IronicAPI, sev: SeverityError, name: "u", msg: "HTTP 500"}}},
		{name: "probe refused", src: ironicSide(0, true, "172.22.0.2"), dst: ironicSide(1, true, "172.22.0.2"), probe: &Probe{URL: "u", Err: errors.New("connection refused")},
			want: []want{{check: IronicAPI, sev: SeverityError, name: "u", msg: "connection refused"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{IronicWorkloads: ironic.DefaultWorkloads, Source: tc.src, Target: tc.dst, IronicProbe: tc.probe}
			requireFindings(t, checkIronic(s), tc.want)
		})
	}
}

func TestContainerEnvPrecedence(t *testing.T) {
	c := corev1.Container{
		EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}},
		Env: []corev1.EnvVar{{Name: "PROVISIONING_IP", Value: "10.0.0.1"},
			{Name: "KEEPALIVED_VIRTUAL_IPS", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "VIPS"}}}},
	}
	cms := []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Namespace: "n", Name: "cm"}, Data: map[string]string{"PROVISIONING_IP": "10.0.0.2", "PROVISIONING_INTERFACE": "eth1", "VIPS": "10.0.0.1,eth1"}}}
	env := podenv.Resolve(c, "n", cms)
	require.Equal(t, vip{IP: "10.0.0.1", Interface: "eth1", VirtualIPs: "10.0.0.1,eth1"}, vipOf(env))
	require.Empty(t, podenv.Resolve(c, "other", cms)["PROVISIONING_INTERFACE"])
}

// bmoWithEndpoint is a BMO Deployment whose manager sends Ironic calls to ep.
func bmoWithEndpoint(ep string) appsv1.Deployment {
	d := bmoDeploy("v0.13.2", true)
	d.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "IRONIC_ENDPOINT", Value: ep}}
	return d
}

func TestCheckIronicExternal(t *testing.T) {
	const ep = "https://172.22.0.2:6385/v1/"
	stopped := ironicSide(0, true, "172.22.0.2")
	withBMO := func(s Side, d appsv1.Deployment) Side {
		s.Deployments = append(append([]appsv1.Deployment(nil), s.Deployments...), d)
		return s
	}
	answered := &ironic.ProbeResult{URL: "https://172.22.0.2:6385/v1/nodes", Status: 401}
	silent := &ironic.ProbeResult{URL: "https://172.22.0.2:6385/v1/nodes", Err: errors.New("connection refused")}
	cases := []struct {
		name     string
		src, dst Side
		probe    *ironic.ProbeResult
		want     []want
	}{
		{name: "Ironic runs in the source: the running check reports it", src: ironicSide(1, true, "172.22.0.2"), dst: Side{}, probe: nil, want: nil},
		{name: "none in the source: endpoint named", src: withBMO(stopped, bmoWithEndpoint(ep)), dst: Side{}, probe: nil,
			want: []want{{check: IronicExternal, sev: SeverityWarning, name: bmo.DeploymentName, msg: "sends its Ironic calls to " + ep}}},
		{name: "no endpoint configured", src: withBMO(stopped, bmoDeploy("v0.13.2", true)), dst: Side{}, probe: nil,
			want: []want{{check: IronicExternal, sev: SeverityWarning, name: bmo.DeploymentName, msg: "sets neither IRONIC_ENDPOINT nor IRONIC_NAME"}}},
		{name: "no BMO at all", src: stopped, dst: Side{}, probe: nil,
			want: []want{{check: IronicExternal, sev: SeverityWarning, name: bmo.DeploymentName, msg: "no BMO Deployment there"}}},
		{name: "probe answered, endpoint only the source's: error", src: withBMO(stopped, bmoWithEndpoint(ep)), dst: withBMO(Side{}, bmoWithEndpoint("https://10.0.0.5:6385")), probe: answered,
			want: []want{{check: IronicExternal, sev: SeverityError, name: bmo.DeploymentName, msg: "answered HTTP 401: an Ironic runs there"}}},
		{name: "probe answered, the target uses the same endpoint", src: withBMO(stopped, bmoWithEndpoint(ep)), dst: withBMO(Side{}, bmoWithEndpoint(ep)), probe: answered,
			want: []want{{check: IronicExternal, sev: SeverityWarning, name: bmo.DeploymentName, msg: "may be the target's Ironic"}}},
		{name: "probe silent", src: withBMO(stopped, bmoWithEndpoint(ep)), dst: Side{}, probe: silent,
			want: []want{{check: IronicExternal, sev: SeverityWarning, name: bmo.DeploymentName, msg: "got no answer within 3s"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{IronicWorkloads: ironic.DefaultWorkloads, Source: tc.src, Target: tc.dst, SourceIronicProbe: tc.probe}
			requireFindings(t, checkIronicExternal(s), tc.want)
		})
	}
}

package preflight

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/fixture"
	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/podenv"
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
		{"stopped source, running target", ironicSide(0, true, "172.22.0.2"), ironicSide(1, true, "172.22.0.2"), nil, nil},
		{"source still runs", ironicSide(1, true, "172.22.0.2"), ironicSide(1, true, "172.22.0.2"), nil,
			[]want{{check: IronicSource, sev: SeverityError, name: fixture.IronicName, msg: "Ironic still runs in the source"}}},
		{"no target Ironic", ironicSide(0, true, "172.22.0.2"), ironicSide(0, true, "172.22.0.2"), nil,
			[]want{{check: IronicTarget, sev: SeverityError, name: fixture.IronicName, msg: "no Ironic runs"}}},
		{"no keepalived", ironicSide(0, true, "172.22.0.2"), ironicSide(1, false, "172.22.0.2"), nil,
			[]want{{check: KeepalivedTarget, sev: SeverityError, name: fixture.IronicName, msg: "no keepalived container"}}},
		{"incomplete settings", ironicSide(0, true, "172.22.0.2"), ironicSide(1, true, ""), nil,
			[]want{{check: KeepalivedTarget, sev: SeverityError, name: fixture.IronicName, msg: "neither PROVISIONING_IP"}}},
		{"different VIP", ironicSide(0, true, "172.22.0.2"), ironicSide(1, true, "172.22.0.9"), nil,
			[]want{{check: KeepalivedVIP, sev: SeverityError, name: fixture.IronicName, msg: "PROVISIONING_IP=172.22.0.9"}}},
		{"source from its ConfigMap only", Side{ConfigMaps: ironicSide(0, true, "172.22.0.2").ConfigMaps}, ironicSide(1, true, "172.22.0.2"), nil, nil},
		{"source unknown", Side{}, ironicSide(1, true, "172.22.0.2"), nil,
			[]want{{check: KeepalivedVIP, sev: SeverityWarning, name: fixture.IronicName, msg: "could not be read"}}},
		{"probe 401", ironicSide(0, true, "172.22.0.2"), ironicSide(1, true, "172.22.0.2"), &Probe{URL: "u", Status: 401}, nil},
		{"probe 500", ironicSide(0, true, "172.22.0.2"), ironicSide(1, true, "172.22.0.2"), &Probe{URL: "u", Status: 500},
			[]want{{check: IronicAPI, sev: SeverityError, name: "u", msg: "HTTP 500"}}},
		{"probe refused", ironicSide(0, true, "172.22.0.2"), ironicSide(1, true, "172.22.0.2"), &Probe{URL: "u", Err: errors.New("connection refused")},
			[]want{{check: IronicAPI, sev: SeverityError, name: "u", msg: "connection refused"}}},
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
		{"Ironic runs in the source: the running check reports it", ironicSide(1, true, "172.22.0.2"), Side{}, nil, nil},
		{"none in the source: endpoint named", withBMO(stopped, bmoWithEndpoint(ep)), Side{}, nil,
			[]want{{check: IronicExternal, sev: SeverityWarning, name: bmo.DeploymentName, msg: "sends its Ironic calls to " + ep}}},
		{"no endpoint configured", withBMO(stopped, bmoDeploy("v0.13.2", true)), Side{}, nil,
			[]want{{check: IronicExternal, sev: SeverityWarning, name: bmo.DeploymentName, msg: "sets neither IRONIC_ENDPOINT nor IRONIC_NAME"}}},
		{"no BMO at all", stopped, Side{}, nil,
			[]want{{check: IronicExternal, sev: SeverityWarning, name: bmo.DeploymentName, msg: "no BMO Deployment there"}}},
		{"probe answered, endpoint only the source's: error", withBMO(stopped, bmoWithEndpoint(ep)), withBMO(Side{}, bmoWithEndpoint("https://10.0.0.5:6385")), answered,
			[]want{{check: IronicExternal, sev: SeverityError, name: bmo.DeploymentName, msg: "answered HTTP 401: an Ironic runs there"}}},
		{"probe answered, the target uses the same endpoint", withBMO(stopped, bmoWithEndpoint(ep)), withBMO(Side{}, bmoWithEndpoint(ep)), answered,
			[]want{{check: IronicExternal, sev: SeverityWarning, name: bmo.DeploymentName, msg: "may be the target's Ironic"}}},
		{"probe silent", withBMO(stopped, bmoWithEndpoint(ep)), Side{}, silent,
			[]want{{check: IronicExternal, sev: SeverityWarning, name: bmo.DeploymentName, msg: "got no answer within 3s"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{IronicWorkloads: ironic.DefaultWorkloads, Source: tc.src, Target: tc.dst, SourceIronicProbe: tc.probe}
			requireFindings(t, checkIronicExternal(s), tc.want)
		})
	}
}

package preflight_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"

	"github.com/pivotcheck/pivotcheck/internal/kube"
	"github.com/pivotcheck/pivotcheck/internal/test/fixture"
	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
	"github.com/pivotcheck/pivotcheck/pivotcheck/preflight"
)

var pair *testenv.Pair

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testenv.RunWithPair(m, &pair, func(ctx context.Context, _ *testenv.Pair) error { return installManagement(ctx) }))
}

// installManagement prepares both sides as a correct pivot expects them:
// the source's Ironic scaled to 0 (stopped before the move) but still
// configured, the target's running with keepalived, BMO and the same
// providers in both.
func installManagement(ctx context.Context) error {
	if err := fixture.InstallManagement(ctx, pair.Bootstrap.Client, fixture.Management{
		Ironic: ptr.To(int32(0)), Keepalived: true, BMOVersion: fixture.BMODefaultVersion, Providers: fixture.CAPIProviders(),
	}); err != nil {
		return err
	}
	if err := fixture.InstallManagement(ctx, pair.Target.Client, fixture.Management{
		Ironic: ptr.To(int32(1)), Keepalived: true, BMOVersion: fixture.BMODefaultVersion, Providers: fixture.CAPIProviders(),
	}); err != nil {
		return err
	}
	for _, c := range []client.Client{pair.Bootstrap.Client, pair.Target.Client} {
		if err := fixture.InstallBMOWebhook(ctx, c, admissionregistrationv1.Ignore); err != nil {
			return err
		}
	}
	return nil
}

func requireEnv(t *testing.T) {
	t.Helper()
	if pair == nil {
		t.Skip("needs envtest (run without -short)")
	}
}

func target(c *testenv.Cluster) kube.Cluster {
	return kube.Cluster{Kubeconfig: c.Kubeconfig, Context: c.Context}
}

func testLog(t *testing.T) logr.Logger { return testr.NewWithOptions(t, testr.Options{Verbosity: 0}) }

func opts(t *testing.T, ns string) preflight.Options {
	return preflight.Options{Source: target(pair.Bootstrap), Target: target(pair.Target), Namespace: ns, Log: testLog(t)}
}

func run(t *testing.T, o preflight.Options) *preflight.Report {
	t.Helper()
	r, err := preflight.Run(context.Background(), o)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, preflight.WriteTable(&buf, r, false))
	t.Log("\n" + buf.String())
	return r
}

func errorsOf(r *preflight.Report) []preflight.Finding {
	var out []preflight.Finding
	for _, f := range r.Findings {
		if f.Severity == preflight.SeverityError {
			out = append(out, f)
		}
	}
	return out
}

func TestCleanFixtureIsReady(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: "clean", ControlPlane: 3, Workers: 2, SpareHosts: 1})
	require.NoError(t, err)

	// Ironic's API behind the target's VIP answers 401 without a token.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/nodes" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	o := opts(t, "clean")
	o.IronicURL = srv.URL
	r := run(t, o)
	require.Empty(t, errorsOf(r))
	require.True(t, r.Ready)
	require.NotEmpty(t, r.Plan)

	// The only warnings: the spare host gets no status annotation from
	// CAPM3, and the source's Ironic is stopped, which the API cannot tell
	// from one running outside the cluster.
	var warn []string
	for _, f := range r.Findings {
		if f.Severity == preflight.SeverityWarning {
			warn = append(warn, f.Check+" "+f.Object.Name)
		}
	}
	require.Equal(t, []string{preflight.StatusMissing + " test1-host-5", preflight.IronicExternal + " " + fixture.BMOName}, warn)

	// The JSON shape (-o json marshals the Report) carries no Secret data.
	raw, err := json.Marshal(r)
	require.NoError(t, err)
	var generic map[string]any
	require.NoError(t, json.Unmarshal(raw, &generic))
	keys := []string{}
	for k := range generic {
		keys = append(keys, k)
	}
	require.ElementsMatch(t, []string{"ready", "source", "target", "namespace", "findings"}, keys)
	f0 := generic["findings"].([]any)[0].(map[string]any)
	require.ElementsMatch(t, []string{"check", "severity", "object", "message", "hint"}, mapKeys(f0))
	require.ElementsMatch(t, []string{"apiVersion", "kind", "namespace", "name"}, mapKeys(f0["object"].(map[string]any)))
	require.NotContains(t, string(raw), "fixture-password")
	require.NotContains(t, string(raw), "fixture-kubeconfig")
}

func mapKeys(m map[string]any) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestIronicURLProbe(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: "probe"})
	require.NoError(t, err)
	for _, tc := range []struct {
		status int
		want   bool // an ironic-api error expected
	}{{status: http.StatusOK, want: false}, {status: http.StatusUnauthorized, want: false}, {status: http.StatusServiceUnavailable, want: true}, {status: http.StatusFound, want: true}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.status == http.StatusFound {
				http.Redirect(w, r, "/elsewhere", tc.status)
				return
			}
			w.WriteHeader(tc.status)
		}))
		o := opts(t, "probe")
		o.IronicURL = srv.URL + "/v1"
		r := run(t, o)
		srv.Close()
		got := false
		for _, f := range errorsOf(r) {
			require.Equal(t, preflight.IronicAPI, f.Check, f.Message)
			require.Contains(t, f.Message, fmt.Sprint(tc.status))
			got = true
		}
		require.Equal(t, tc.want, got, "status %d", tc.status)
	}
	// Nothing listening at all.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	o := opts(t, "probe")
	o.IronicURL = url
	r := run(t, o)
	errs := errorsOf(r)
	require.Len(t, errs, 1)
	require.Equal(t, preflight.IronicAPI, errs[0].Check)
}

// TestWorkloadFaults: each fixture fault is reported by the right check,
// naming the right object, and no other check reports an error.
func TestWorkloadFaults(t *testing.T) {
	requireEnv(t)
	cases := []struct {
		name   string
		faults fixture.Faults
		check  string
		kind   string
		object string
	}{
		{name: "provisioning", faults: fixture.Faults{HostState: map[int]bmov1alpha1.ProvisioningState{0: bmov1alpha1.StateProvisioning}}, check: preflight.HostInProgress, kind: "BareMetalHost", object: "test1-host-0"},
		{name: "servicing", faults: fixture.Faults{HostOperationalStatus: map[int]bmov1alpha1.OperationalStatus{0: bmov1alpha1.OperationalStatusServicing}}, check: preflight.HostBusy, kind: "BareMetalHost", object: "test1-host-0"},
		{name: "error", faults: fixture.Faults{HostErrorType: map[int]bmov1alpha1.ErrorType{0: bmov1alpha1.PowerManagementError}}, check: preflight.HostError, kind: "BareMetalHost", object: "test1-host-0"},
		{name: "reboot", faults: fixture.Faults{HostAnnotations: map[int]map[string]string{0: {"reboot.metal3.io/ops": ""}}}, check: preflight.HostPendingReboot, kind: "BareMetalHost", object: "test1-host-0"},
		{name: "inspect", faults: fixture.Faults{HostAnnotations: map[int]map[string]string{0: {"inspect.metal3.io": ""}}}, check: preflight.HostReinspect, kind: "BareMetalHost", object: "test1-host-0"},
		{name: "host-deleting", faults: fixture.Faults{HostDeleting: []int{0}}, check: preflight.HostDeleting, kind: "BareMetalHost", object: "test1-host-0"},
		{name: "user-paused", faults: fixture.Faults{UserPausedHosts: []int{0}}, check: preflight.HostForeignPause, kind: "BareMetalHost", object: "test1-host-0"},
		{name: "bad-status", faults: fixture.Faults{BadStatusAnnotation: []int{0}}, check: preflight.StatusInvalid, kind: "BareMetalHost", object: "test1-host-0"},
		{name: "orphan-userdata", faults: fixture.Faults{OrphanUserDataSecret: true}, check: preflight.OwnerChain, kind: "Secret", object: fixture.OrphanSecretName},
		{name: "bmc-secret", faults: fixture.Faults{BMCSecretWithoutOwner: true}, check: preflight.OwnerChain, kind: "Secret", object: "test1-host-0-bmc-secret"},
		{name: "datatemplate", faults: fixture.Faults{DataTemplateWithoutOwner: true}, check: preflight.OwnerChain, kind: "Metal3DataTemplate", object: "test1-data"},
		{name: "ippool", faults: fixture.Faults{IPPoolWithoutClusterName: true}, check: preflight.OwnerChain, kind: "IPPool", object: "provisioning-pool"},
		{name: "dangling", faults: fixture.Faults{DanglingOwner: true}, check: preflight.OwnerChain, kind: "ConfigMap", object: "test1-addons"},
		{name: "paused", faults: fixture.Faults{ClusterPaused: true}, check: preflight.ClusterPaused, kind: "Cluster", object: "test1"},
		{name: "not-provisioned", faults: fixture.Faults{ClusterNotProvisioned: true}, check: preflight.ClusterProvision, kind: "Cluster", object: "test1"},
		{name: "no-noderef", faults: fixture.Faults{MachineWithoutNodeRef: true}, check: preflight.MachineNodeRef, kind: "Machine", object: "test1-cp-0"},
		{name: "machine-deleting", faults: fixture.Faults{MachineDeleting: true}, check: preflight.MachineDeleting, kind: "Machine", object: "test1-cp-0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := "f-" + tc.name
			_, err := fixture.Build(context.Background(), pair.Bootstrap.Client, fixture.Options{Namespace: ns, ControlPlane: 1, Workers: 1, Faults: tc.faults})
			require.NoError(t, err)
			r := run(t, opts(t, ns))
			requireOnly(t, r, tc.check, tc.kind, ns, tc.object)
		})
	}
}

// TestNonErrorFaults: faults that must not block a move.
func TestNonErrorFaults(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: "f-poweredon", SpareHosts: 1, Faults: fixture.Faults{PoweredOnSpares: true}})
	require.NoError(t, err)
	r := run(t, opts(t, "f-poweredon"))
	require.True(t, r.Ready)
	found := false
	for _, f := range r.Findings {
		if f.Check == preflight.HostPoweredOn {
			require.Equal(t, preflight.SeverityWarning, f.Severity)
			require.Equal(t, "test1-host-1", f.Object.Name)
			found = true
		}
	}
	require.True(t, found)

	// A valid CAPM3-written status annotation: nothing to report about it.
	_, err = fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: "f-annotated", Faults: fixture.Faults{StatusAnnotation: []int{0}}})
	require.NoError(t, err)
	r = run(t, opts(t, "f-annotated"))
	require.True(t, r.Ready)
	for _, f := range r.Findings {
		require.NotEqual(t, "test1-host-0", f.Object.Name, "%s: %s", f.Check, f.Message)
	}
}

// requireOnly asserts an error of check about kind ns/name, and that every
// error comes from that check.
func requireOnly(t *testing.T, r *preflight.Report, check, kind, ns, name string) {
	t.Helper()
	require.False(t, r.Ready)
	found := false
	for _, f := range errorsOf(r) {
		require.Equal(t, check, f.Check, "unexpected error from another check: %s", f.Message)
		if f.Object.Kind == kind && f.Object.Name == name && f.Object.Namespace == ns {
			found = true
		}
	}
	require.True(t, found, "no %s error naming %s %s/%s", check, kind, ns, name)
}

// TestManagementFaults breaks one management component at a time and
// restores it afterwards.
func TestManagementFaults(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: "mgmt"})
	require.NoError(t, err)
	src, dst := pair.Bootstrap.Client, pair.Target.Client
	ironicKey := client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName}
	bmoKey := client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.BMOName}

	cases := []struct {
		name         string
		break_       func(t *testing.T) func()
		check        string
		kind, ns, nm string
	}{
		{name: "source-ironic-running", break_: func(t *testing.T) func() {
			return mutate(t, src, ironicKey, &appsv1.Deployment{}, func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To(int32(1)) },
				func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To(int32(0)) })
		}, check: preflight.IronicSource, kind: "Deployment", ns: fixture.BMONamespace, nm: fixture.IronicName},
		{name: "source-ironic-pod-terminating", break_: func(t *testing.T) func() {
			require.NoError(t, fixture.InstallManagement(ctx, src, fixture.Management{IronicPods: 1, IronicTerminating: true}))
			return func() {
				p := &corev1.Pod{}
				require.NoError(t, src.Get(ctx, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicName + "-0"}, p))
				p.Finalizers = nil
				require.NoError(t, src.Update(ctx, p))
			}
		}, check: preflight.IronicSource, kind: "Deployment", ns: fixture.BMONamespace, nm: fixture.IronicName},
		{name: "target-no-ironic", break_: func(t *testing.T) func() {
			return mutate(t, dst, ironicKey, &appsv1.Deployment{}, func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To(int32(0)) },
				func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To(int32(1)) })
		}, check: preflight.IronicTarget, kind: "Deployment", ns: fixture.BMONamespace, nm: fixture.IronicName},
		{name: "target-no-keepalived", break_: func(t *testing.T) func() {
			var saved []corev1.Container
			return mutate(t, dst, ironicKey, &appsv1.Deployment{}, func(d *appsv1.Deployment) {
				saved = append([]corev1.Container(nil), d.Spec.Template.Spec.Containers...)
				d.Spec.Template.Spec.Containers = saved[:len(saved)-1]
			}, func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers = saved })
		}, check: preflight.KeepalivedTarget, kind: "Deployment", ns: fixture.BMONamespace, nm: fixture.IronicName},
		{name: "target-vip-differs", break_: func(t *testing.T) func() {
			return mutate(t, dst, client.ObjectKey{Namespace: fixture.BMONamespace, Name: fixture.IronicConfigMap}, &corev1.ConfigMap{},
				func(c *corev1.ConfigMap) { c.Data["PROVISIONING_IP"] = "172.22.0.3" },
				func(c *corev1.ConfigMap) { c.Data["PROVISIONING_IP"] = fixture.DefaultProvIP })
		}, check: preflight.KeepalivedVIP, kind: "Deployment", ns: fixture.BMONamespace, nm: fixture.IronicName},
		{name: "target-provider-older", break_: func(t *testing.T) func() {
			return mutate(t, dst, client.ObjectKey{Namespace: "capm3-system", Name: "infrastructure-metal3"}, &clusterctlv1.Provider{},
				func(p *clusterctlv1.Provider) { p.Version = "v1.12.0" }, func(p *clusterctlv1.Provider) { p.Version = "v1.13.2" })
		}, check: preflight.ProviderInventory, kind: "Provider", ns: "capm3-system", nm: "infrastructure-metal3"},
		{name: "target-bmo-older", break_: func(t *testing.T) func() {
			return mutate(t, dst, bmoKey, &appsv1.Deployment{},
				func(d *appsv1.Deployment) {
					d.Spec.Template.Spec.Containers[0].Image = "quay.io/metal3-io/baremetal-operator:v0.12.0"
				},
				func(d *appsv1.Deployment) {
					d.Spec.Template.Spec.Containers[0].Image = "quay.io/metal3-io/baremetal-operator:" + fixture.BMODefaultVersion
				})
		}, check: preflight.BMOVersion, kind: "Deployment", ns: fixture.BMONamespace, nm: fixture.BMOName},
		{name: "source-crd-unlabelled", break_: func(t *testing.T) func() {
			return mutate(t, src, client.ObjectKey{Name: "metal3datatemplates.infrastructure.cluster.x-k8s.io"}, &apiextensionsv1.CustomResourceDefinition{},
				func(c *apiextensionsv1.CustomResourceDefinition) { delete(c.Labels, testenv.LabelClusterctl) },
				func(c *apiextensionsv1.CustomResourceDefinition) { c.Labels[testenv.LabelClusterctl] = "" })
		}, check: preflight.CRDLabelsSource, kind: "CustomResourceDefinition", ns: "", nm: "metal3datatemplates.infrastructure.cluster.x-k8s.io"},
		{name: "target-crd-missing-version", break_: func(t *testing.T) func() {
			// The target only serves v1beta1 of Metal3Machine: clusterctl copies v1beta2.
			return mutate(t, dst, client.ObjectKey{Name: "metal3machines.infrastructure.cluster.x-k8s.io"}, &apiextensionsv1.CustomResourceDefinition{},
				func(c *apiextensionsv1.CustomResourceDefinition) { setServed(c, "v1beta2", false) },
				func(c *apiextensionsv1.CustomResourceDefinition) { setServed(c, "v1beta2", true) })
		}, check: preflight.CRDTargetVersion, kind: "CustomResourceDefinition", ns: "", nm: "metal3machines.infrastructure.cluster.x-k8s.io"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			restore := tc.break_(t)
			r := run(t, opts(t, "mgmt"))
			restore()
			requireOnly(t, r, tc.check, tc.kind, tc.ns, tc.nm)
		})
	}
	// Everything restored: ready again.
	r := run(t, opts(t, "mgmt"))
	require.Empty(t, errorsOf(r))
}

func setServed(c *apiextensionsv1.CustomResourceDefinition, v string, served bool) {
	for i := range c.Spec.Versions {
		if c.Spec.Versions[i].Name == v {
			c.Spec.Versions[i].Served = served
		}
	}
}

// mutate applies change to the object and returns a function that applies undo.
func mutate[T client.Object](t *testing.T, c client.Client, key client.ObjectKey, obj T, change, undo func(T)) func() {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, c.Get(ctx, key, obj))
	change(obj)
	require.NoError(t, c.Update(ctx, obj))
	return func() {
		// Decode into a zeroed object: Get reuses slices and maps otherwise.
		reflect.ValueOf(obj).Elem().Set(reflect.Zero(reflect.TypeOf(obj).Elem()))
		require.NoError(t, c.Get(ctx, key, obj))
		undo(obj)
		require.NoError(t, c.Update(ctx, obj))
	}
}

func TestTargetCollisions(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	o := fixture.Options{Namespace: "collide", ControlPlane: 1}
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, o)
	require.NoError(t, err)
	// A partial copy from an earlier failed move.
	_, err = fixture.Build(ctx, pair.Target.Client, o)
	require.NoError(t, err)
	r := run(t, opts(t, "collide"))
	require.Empty(t, errorsOf(r))
	kinds := map[string]bool{}
	for _, f := range r.Findings {
		if f.Check == preflight.TargetCollision {
			require.Equal(t, preflight.SeverityWarning, f.Severity)
			kinds[f.Object.Kind] = true
		}
		if f.Check == preflight.TargetNamespace {
			require.Contains(t, f.Message, "exists in the target")
		}
	}
	require.True(t, kinds["BareMetalHost"] && kinds["Cluster"] && kinds["Secret"], "collisions by kind: %v", kinds)
}

// TestLeastPrivilege runs preflight as a user holding exactly
// config/rbac/preflight-role.yaml in both clusters (the ClusterRole
// cluster-wide, the Secrets Role in the moved namespace), then without one
// rule, then without the Secrets Role: Secrets are never readable outside
// the moved namespace.
func TestLeastPrivilege(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	_, err := fixture.Build(ctx, pair.Bootstrap.Client, fixture.Options{Namespace: "rbac"})
	require.NoError(t, err)
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "preflight-role.yaml"))
	require.NoError(t, err)
	docs := bytes.Split(raw, []byte("\n---\n"))
	require.Len(t, docs, 5, "ClusterRole; Role and RoleBinding in the moved namespace and in CAPM3's")
	role := &rbacv1.ClusterRole{}
	require.NoError(t, yaml.UnmarshalStrict(docs[0], role))
	secrets := &rbacv1.Role{}
	require.NoError(t, yaml.UnmarshalStrict(docs[1], secrets))
	binding := &rbacv1.RoleBinding{}
	require.NoError(t, yaml.UnmarshalStrict(docs[2], binding))
	secrets2, binding2 := &rbacv1.Role{}, &rbacv1.RoleBinding{}
	require.NoError(t, yaml.UnmarshalStrict(docs[3], secrets2))
	require.NoError(t, yaml.UnmarshalStrict(docs[4], binding2))
	require.Equal(t, "capm3-system", secrets2.Namespace)
	require.Equal(t, secrets.Rules, secrets2.Rules)
	require.Equal(t, binding.RoleRef, binding2.RoleRef)
	for _, r := range role.Rules {
		require.NotContains(t, r.Resources, "secrets", "the ClusterRole reads no Secret cluster-wide")
		if slices.Contains(r.APIGroups, "") || slices.Contains(r.APIGroups, "*") {
			require.NotContains(t, r.Resources, "*", "no wildcard over the core group")
		}
	}
	require.Equal(t, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}}, secrets.Rules)
	require.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: secrets.Name}, binding.RoleRef)
	require.Equal(t, secrets.Namespace, binding.Namespace)

	// clusterctl also lists Secrets in each infrastructure provider's
	// namespace (global credentials): the file's second Role is for CAPM3's.
	var providers clusterctlv1.ProviderList
	require.NoError(t, pair.Bootstrap.Client.List(ctx, &providers))
	var infraNS []string
	for _, p := range providers.Items {
		if p.Type == string(clusterctlv1.InfrastructureProviderType) {
			infraNS = append(infraNS, p.Namespace)
		}
	}
	require.NotEmpty(t, infraNS)

	// grant binds role cluster-wide and, with withSecrets, the file's
	// Role and RoleBinding (bound to the user) in ns and in the
	// infrastructure providers' namespaces.
	grant := func(c *testenv.Cluster, name string, role *rbacv1.ClusterRole, ns string, withSecrets bool) kube.Cluster {
		role = role.DeepCopy()
		role.Name = name
		require.NoError(t, c.Client.Create(ctx, role))
		require.NoError(t, c.Client.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}},
		}))
		user := name + "-user"
		for _, n := range append([]string{ns}, infraNS...) {
			if !withSecrets {
				break
			}
			r, b := secrets.DeepCopy(), binding.DeepCopy()
			r.Namespace, b.Namespace = n, n
			r.Name, b.Name, b.RoleRef.Name = name, name, name
			b.Subjects = []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
			err := c.Client.Create(ctx, r)
			if apierrors.IsNotFound(err) {
				continue // no such namespace in this cluster
			}
			require.NoError(t, err)
			require.NoError(t, c.Client.Create(ctx, b))
		}
		u, err := c.Env.AddUser(envtest.User{Name: user, Groups: []string{name}}, nil)
		require.NoError(t, err)
		kc, err := u.KubeConfig()
		require.NoError(t, err)
		path := filepath.Join(t.TempDir(), c.Name+"-"+name+".kubeconfig")
		require.NoError(t, os.WriteFile(path, kc, 0o600))
		return kube.Cluster{Kubeconfig: path}
	}

	o := opts(t, "rbac")
	o.Source = grant(pair.Bootstrap, "preflight-exact", role, "rbac", true)
	// The target has no namespace rbac: preflight reads no Secret there.
	o.Target = grant(pair.Target, "preflight-exact", role, "rbac", false)
	r, err := preflight.Run(ctx, o)
	require.NoError(t, err)
	require.Empty(t, errorsOf(r))

	// The same user cannot read Secrets anywhere else.
	srcClient, _, err := o.Source.Client(kube.Rate{})
	require.NoError(t, err)
	err = srcClient.List(ctx, &corev1.SecretList{}, client.InNamespace("default"))
	require.Error(t, err)
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	require.NoError(t, srcClient.List(ctx, &corev1.SecretList{}, client.InNamespace("rbac")))

	// Without the metal3.io rule in the source: exit 2 naming the resource.
	less := role.DeepCopy()
	for i := range less.Rules {
		var groups []string
		for _, g := range less.Rules[i].APIGroups {
			if g != "metal3.io" {
				groups = append(groups, g)
			}
		}
		less.Rules[i].APIGroups = groups
	}
	o.Source = grant(pair.Bootstrap, "preflight-less", less, "rbac", true)
	_, err = preflight.Run(ctx, o)
	require.Error(t, err)
	t.Log(err)
	require.Contains(t, err.Error(), "source cluster: missing permission to list")
	require.Regexp(t, `[a-z]+\.metal3\.io`, err.Error()) // any metal3.io kind preflight lists
	require.NotContains(t, err.Error(), "\n")
	require.True(t, strings.Contains(err.Error(), "rbac") || strings.Contains(err.Error(), "cluster-wide"))

	// Without the Secrets Role in the moved namespace: exit 2 naming it.
	o.Source = grant(pair.Bootstrap, "preflight-nosecrets", role, "rbac", false)
	_, err = preflight.Run(ctx, o)
	require.Error(t, err)
	t.Log(err)
	require.Contains(t, err.Error(), "secrets")
	require.NotContains(t, err.Error(), "\n")
}

package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/pivotcheck/pivotcheck/internal/bmo"
	"github.com/pivotcheck/pivotcheck/internal/loadavg"
	"github.com/pivotcheck/pivotcheck/webhook"
)

// copiedHost is a BareMetalHost as clusterctl move sends it to the target:
// full spec, labels, finalizer, the CAPM3 pause and (when annotated) the
// status annotation of a provisioned host; no status.
func copiedHost(t testing.TB, i int, consumed, annotated bool) *bmov1alpha1.BareMetalHost {
	name := fmt.Sprintf("test1-host-%d", i)
	h := &bmov1alpha1.BareMetalHost{
		TypeMeta: metav1.TypeMeta{APIVersion: "metal3.io/v1alpha1", Kind: "BareMetalHost"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "metal3", Finalizers: []string{bmov1alpha1.BareMetalHostFinalizer},
			Labels:      map[string]string{"cluster.x-k8s.io/cluster-name": "test1"},
			Annotations: map[string]string{bmov1alpha1.PausedAnnotation: "metal3.io/capm3"}},
		Spec: bmov1alpha1.BareMetalHostSpec{
			Online: true, BootMACAddress: fmt.Sprintf("00:5c:52:31:3a:%02x", i), BootMode: bmov1alpha1.UEFI,
			BMC:             bmov1alpha1.BMCDetails{Address: "redfish+http://192.168.111.1:8000/redfish/v1/Systems/" + name, CredentialsName: name + "-bmc-secret"},
			RootDeviceHints: &bmov1alpha1.RootDeviceHints{DeviceName: "/dev/sda"},
		},
	}
	if consumed {
		h.Spec.ConsumerRef = &corev1.ObjectReference{APIVersion: "infrastructure.cluster.x-k8s.io/v1beta2", Kind: "Metal3Machine", Name: fmt.Sprintf("test1-cp-%d", i), Namespace: "metal3"}
		h.Spec.Image = &bmov1alpha1.Image{URL: "http://172.22.0.1/images/UBUNTU_24.04_NODE_IMAGE_K8S_v1.35.4-raw.img",
			Checksum: "http://172.22.0.1/images/UBUNTU_24.04_NODE_IMAGE_K8S_v1.35.4-raw.img.sha256sum", ChecksumType: bmov1alpha1.SHA256, DiskFormat: ptr.To("raw")}
		h.Spec.UserData = &corev1.SecretReference{Name: fmt.Sprintf("test1-cp-%d-user-data", i), Namespace: "metal3"}
	}
	if annotated {
		now := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
		st := bmov1alpha1.BareMetalHostStatus{
			OperationalStatus: bmov1alpha1.OperationalStatusOK, LastUpdated: &now, HardwareProfile: "unknown", PoweredOn: true,
			GoodCredentials: bmov1alpha1.CredentialsStatus{Reference: &corev1.SecretReference{Name: name + "-bmc-secret", Namespace: "metal3"}, Version: "4242"},
			Provisioning: bmov1alpha1.ProvisionStatus{State: bmov1alpha1.StateProvisioned, ID: "8f1c2c4e-0000-4000-8000-1234567890ab", BootMode: bmov1alpha1.UEFI,
				RootDeviceHints: &bmov1alpha1.RootDeviceHints{DeviceName: "/dev/sda"}, Image: *h.Spec.Image},
			Conditions: []metav1.Condition{{Type: "Provisioned", Status: metav1.ConditionTrue, Reason: "Provisioned", LastTransitionTime: now},
				{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Provisioned", LastTransitionTime: now}},
		}
		raw, err := bmo.EncodeStatus(st, nil)
		require.NoError(t, err)
		h.Annotations[bmov1alpha1.StatusAnnotation] = raw
	}
	return h
}

func createRequest(t testing.TB, h *bmov1alpha1.BareMetalHost) admission.Request {
	raw, err := json.Marshal(h)
	require.NoError(t, err)
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "bench", Kind: metav1.GroupVersionKind{Group: "metal3.io", Version: "v1alpha1", Kind: "BareMetalHost"},
		Resource:  metav1.GroupVersionResource{Group: "metal3.io", Version: "v1alpha1", Resource: "baremetalhosts"},
		Namespace: h.Namespace, Name: h.Name, Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw},
	}}
}

// BenchmarkTargetGuardDecision: one CREATE decision of the target guard as
// the webhook server runs it (decode the copied host, decide, build the
// response with its message, warnings and audit annotations), for the three
// outcomes: a consumed host with its status (allowed), a consumed host
// without (denied), a spare host without (allowed with a warning). Reports
// p50/p99/max over 10,000 calls of each and the load average.
func BenchmarkTargetGuardDecision(b *testing.B) {
	h := &webhook.TargetHandler{Log: logr.Discard(), Record: func(webhook.Gate, bool, string) {}}
	ctx := context.Background()
	cases := []struct {
		name    string
		req     admission.Request
		allowed bool
	}{
		{"consumed-annotated", createRequest(b, copiedHost(b, 0, true, true)), true},
		{"consumed-missing", createRequest(b, copiedHost(b, 1, true, false)), false},
		{"spare-missing", createRequest(b, copiedHost(b, 2, false, false)), true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for range 1000 { // warm up
				h.Handle(ctx, c.req)
			}
			const samples = 10000
			lat := make([]time.Duration, 0, samples)
			done := loadavg.Sample(b)
			b.ResetTimer()
			for range b.N {
				lat = lat[:0]
				for range samples {
					s := time.Now()
					resp := h.Handle(ctx, c.req)
					lat = append(lat, time.Since(s))
					if resp.Allowed != c.allowed {
						b.Fatalf("allowed=%v, want %v", resp.Allowed, c.allowed)
					}
				}
			}
			b.StopTimer()
			done()
			slices.Sort(lat)
			b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
			b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
			b.ReportMetric(float64(len(c.req.Object.Raw)), "request-bytes")
		})
	}
}

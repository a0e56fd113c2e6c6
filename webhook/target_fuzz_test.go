package webhook

import (
	"context"
	"testing"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// FuzzTargetHandler: whatever the API server sends as the new object, the
// guard answers (allowed, denied or a 400) and never panics; a host it
// cannot decode is never allowed.
func FuzzTargetHandler(f *testing.F) {
	for _, seed := range []string{
		``, `null`, `{}`, `[]`, `{"metadata":null}`, `{"metadata":{"annotations":{"baremetalhost.metal3.io/status":"{}"}}}`,
		`{"metadata":{"name":"h","annotations":{"baremetalhost.metal3.io/status":"{\"provisioning\":{\"state\":\"provisioned\"}}"}},"spec":{"consumerRef":{"name":"m"}}}`,
		`{"spec":{"consumerRef":{}},"metadata":{"annotations":{"baremetalhost.metal3.io/status":"{\"operationalStatus\":\"servicing\"}"}}}`,
		`{"spec":{"externallyProvisioned":"yes"}}`, `{"metadata":{"annotations":{"pivotcheck.dev/allow-unsafe-move":"x"}}}`,
	} {
		f.Add([]byte(seed))
	}
	h := &TargetHandler{Log: logr.Discard()}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
			UID: "fuzz", Kind: metav1.GroupVersionKind{Group: "metal3.io", Version: "v1alpha1", Kind: "BareMetalHost"},
			Namespace: "ns", Name: "h", Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw},
		}}
		resp := h.Handle(context.Background(), req)
		if resp.Result == nil && !resp.Allowed {
			t.Fatal("a denial without a message")
		}
		if _, err := decodeGuardedHost(raw); err != nil && resp.Allowed {
			t.Fatalf("allowed a host it could not decode: %q", raw)
		}
	})
}

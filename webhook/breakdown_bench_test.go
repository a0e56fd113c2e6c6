package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bmov1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
	"github.com/pivotcheck/pivotcheck/internal/scheme"
	"github.com/pivotcheck/pivotcheck/webhook"
)

// wireRecorder records, per request, the bytes on the wire and when the
// body was read to its end (client-go reads the whole body, then decodes).
type wireRecorder struct {
	mu   sync.Mutex
	last wireStat // of the read: bytes and requests summed, eof of the last body
}

func (w *wireRecorder) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = wireStat{}
}

type wireStat struct {
	url, encoding string
	bytes         int64
	requests      int
	eof           time.Time
}

func (w *wireRecorder) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		st := wireStat{url: r.URL.RequestURI()}
		resp, err := rt.RoundTrip(r)
		if err != nil {
			return resp, err
		}
		st.encoding = resp.Header.Get("Content-Encoding")
		if resp.Uncompressed {
			st.encoding = "gzip, counted decompressed"
		}
		resp.Body = &countingBody{ReadCloser: resp.Body, done: func(n int64) {
			w.mu.Lock()
			w.last.url, w.last.encoding = st.url, st.encoding
			w.last.bytes += n
			w.last.requests++
			if now := time.Now(); now.After(w.last.eof) {
				w.last.eof = now
			}
			w.mu.Unlock()
		}}
		return resp, nil
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type countingBody struct {
	io.ReadCloser
	n    int64
	done func(int64)
	once sync.Once
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err == io.EOF {
		b.once.Do(func() { b.done(b.n) })
	}
	return n, err
}

// TestLivePauseBreakdown measures, one at a time, each read of the live
// pause confirmation against the realistic cluster (5,000 hosts plus the
// createRealisticCluster objects): objects, bytes on the wire, time until
// the body is read (API server + transfer) and the client's decode. Then
// the candidates for a faster host read. Opt-in (PIVOTCHECK_WEBHOOK_BREAKDOWN=1):
// it only reports.
func TestLivePauseBreakdown(t *testing.T) {
	if os.Getenv("PIVOTCHECK_WEBHOOK_BREAKDOWN") == "" {
		t.Skip("set PIVOTCHECK_WEBHOOK_BREAKDOWN=1 to measure the live pause reads")
	}
	p := envPair(t)
	const ns = "bench-hosts"
	createHosts(t, p.Bootstrap, ns, 5000, 10)
	createRealisticCluster(t, p.Bootstrap)
	ctx := context.Background()
	base := webhook.Options{}.Rate().Apply(webhookConfig(t, p.Bootstrap))

	for _, gzip := range []bool{true, false} {
		rec := &wireRecorder{}
		cfg := rest.CopyConfig(base)
		cfg.DisableCompression = !gzip
		cfg.WrapTransport = rec.wrap
		c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
		require.NoError(t, err)
		hc, err := rest.HTTPClientFor(cfg)
		require.NoError(t, err)

		type read struct {
			name string
			run  func() (int, error)
		}
		listOf := func(l client.ObjectList, items func() int, opts ...client.ListOption) func() (int, error) {
			return func() (int, error) { err := c.List(ctx, l, opts...); return items(), err }
		}
		meta := &metav1.PartialObjectMetadataList{}
		meta.SetGroupVersionKind(bmov1alpha1.GroupVersion.WithKind("BareMetalHostList"))
		var full bmov1alpha1.BareMetalHostList
		var deps appsv1.DeploymentList
		var dss appsv1.DaemonSetList
		var pods, allPods corev1.PodList
		var cms corev1.ConfigMapList
		reads := []read{
			{"hosts metadata (protobuf)", listOf(meta, func() int { return len(meta.Items) }, client.InNamespace(ns))},
			{"hosts full (typed JSON)", listOf(&full, func() int { return len(full.Items) }, client.InNamespace(ns))},
			{"Deployments (protobuf)", listOf(&deps, func() int { return len(deps.Items) })},
			{"DaemonSets (protobuf)", listOf(&dss, func() int { return len(dss.Items) })},
			{"pods name=ironic", listOf(&pods, func() int { return len(pods.Items) }, client.MatchingLabels{ironic.PodLabel: ironic.PodLabelVal})},
			{"every pod (not read live)", listOf(&allPods, func() int { return len(allPods.Items) })},
			{"every ConfigMap (not read live)", listOf(&cms, func() int { return len(cms.Items) })},
		}
		for _, size := range []int{250, 500, 1000, 2500, 5000} {
			proj, err := webhook.NewHostProjection(cfg)
			require.NoError(t, err)
			proj.PageSize = size
			reads = append(reads, read{fmt.Sprintf("HostProjection (pages of %d, no gzip)", size), func() (int, error) {
				hosts, err := proj.ListHosts(ctx, ns)
				return len(hosts), err
			}})
		}
		proj, err := webhook.NewHostProjection(cfg)
		require.NoError(t, err)
		// A long read budget: this measures, it does not fail closed.
		h := &webhook.Handler{Live: c, Cache: c, LiveHosts: proj, Workloads: ironic.DefaultWorkloads, ReadTimeout: time.Minute}
		reads = append(reads, read{"the whole live snapshot (in parallel)", func() (int, error) {
			s, err := h.LiveEvidence(ctx, ns)
			return len(s.Hosts), err
		}})
		for _, limit := range []int{0, 500} {
			reads = append(reads, read{fmt.Sprintf("hosts projection (raw JSON, limit %d)", limit), func() (int, error) {
				return rawHostProjection(ctx, hc, cfg.Host, ns, limit)
			}})
		}
		// Other ways to ask for the same hosts, to see what the API server's
		// side of each costs: only the list's resourceVersion (limit 1),
		// metadata from the watch cache without freshness (resourceVersion
		// 0), metadata as JSON, and a Table without objects.
		hostsURL := strings.TrimSuffix(cfg.Host, "/") + "/apis/metal3.io/v1alpha1/namespaces/" + ns + "/baremetalhosts"
		const metaPB = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
		for _, rr := range []struct{ name, query, accept string }{
			{"hosts, limit 1 (list resourceVersion)", "?limit=1", metaPB},
			{"hosts metadata, resourceVersion 0", "?resourceVersion=0", metaPB},
			{"hosts metadata (JSON)", "", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"},
			{"hosts Table, no objects", "?includeObject=None", "application/json;as=Table;g=meta.k8s.io;v=v1"},
		} {
			reads = append(reads, read{rr.name, func() (int, error) { return rawRead(ctx, hc, hostsURL+rr.query, rr.accept) }})
		}
		for _, r := range reads {
			var total, wire []time.Duration
			var n int
			var st wireStat
			for range 7 {
				rec.reset()
				s := time.Now()
				got, err := r.run()
				require.NoError(t, err, r.name)
				end := time.Now()
				rec.mu.Lock()
				st = rec.last
				rec.mu.Unlock()
				n = got
				total = append(total, end.Sub(s))
				wire = append(wire, st.eof.Sub(s))
			}
			slices.Sort(total)
			slices.Sort(wire)
			t.Logf("gzip=%-5v %-40s %5d objects, %8.1f KB in %2d response(s) (%s), median total %6.1f ms, of which until the last body was read %6.1f ms, decode after it %6.1f ms (min total %6.1f ms)",
				gzip, r.name, n, float64(st.bytes)/1024, st.requests, cmpOr(st.encoding, "identity"), ms(total[3]), ms(wire[3]), ms(total[3]-wire[3]), ms(total[0]))
		}
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// rawRead GETs url with accept and reads the body; it returns 0 objects
// (the bytes are on the wire record).
func rawRead(ctx context.Context, hc *http.Client, url, accept string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", accept)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, b)
	}
	return 0, nil
}

// rawHostProjection lists the namespace's hosts as JSON and decodes only
// what the verdict reads (a measurement stand-in for the handler's read).
func rawHostProjection(ctx context.Context, hc *http.Client, host, ns string, limit int) (int, error) {
	type item struct {
		Metadata struct {
			Name              string            `json:"name"`
			Annotations       map[string]string `json:"annotations"`
			DeletionTimestamp *metav1.Time      `json:"deletionTimestamp"`
		} `json:"metadata"`
		Status struct {
			OperationalStatus string `json:"operationalStatus"`
			Provisioning      struct {
				State string `json:"state"`
			} `json:"provisioning"`
		} `json:"status"`
	}
	n, cont := 0, ""
	for {
		u := fmt.Sprintf("%s/apis/metal3.io/v1alpha1/namespaces/%s/baremetalhosts?limit=%d", strings.TrimSuffix(host, "/"), ns, limit)
		if cont != "" {
			u += "&continue=" + cont
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return n, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return n, err
		}
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			return n, fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
		}
		var l struct {
			Metadata struct {
				Continue string `json:"continue"`
			} `json:"metadata"`
			Items []item `json:"items"`
		}
		err = json.NewDecoder(resp.Body).Decode(&l)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return n, err
		}
		n += len(l.Items)
		if cont = l.Metadata.Continue; cont == "" {
			return n, nil
		}
	}
}

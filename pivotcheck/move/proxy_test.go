package move

import (
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pivotcheck/pivotcheck/internal/test/testenv"
)

// apiProxy is an HTTPS reverse proxy in front of one envtest API server.
// It terminates TLS with its own loopback certificate and forwards with the
// cluster's admin credentials, so a test sees every request (method, path,
// user agent) and can answer chosen ones itself: a server error, a 409
// conflict, or forwarding it and then killing the client process before the
// answer goes back.
type apiProxy struct {
	name string
	srv  *httptest.Server
	rp   *httputil.ReverseProxy

	mu    sync.Mutex
	fault *proxyFault
}

// proxyFault is what the proxy does to the requests match selects.
type proxyFault struct {
	match func(r *http.Request) bool
	// status answers a matching request with this code instead of
	// forwarding it (500 or 409), budget times (-1: until healed).
	status int
	budget int
	// afterForward, when set, runs once the matching request reached the
	// API server and before its answer goes back (a SIGKILL of the client).
	afterForward func()
	// onHit runs on every injected fault (outside the lock).
	onHit func(n int)
	hits  int
}

func newAPIProxy(t *testing.T, name string, c *testenv.Cluster) *apiProxy {
	t.Helper()
	backend, err := url.Parse(c.Config.Host)
	require.NoError(t, err)
	tr, err := rest.TransportFor(c.Config)
	require.NoError(t, err)
	p := &apiProxy{name: name}
	p.rp = &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(backend); pr.Out.Host = backend.Host },
		Transport:     tr,
		FlushInterval: -1, // watches stream
		ErrorLog:      nil,
	}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

// set installs f (nil heals) and returns the previous fault's hit count.
func (p *apiProxy) set(f *proxyFault) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	if p.fault != nil {
		n = p.fault.hits
	}
	p.fault = f
	return n
}

func (p *apiProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	f := p.fault
	var hit bool
	if f != nil && f.budget != 0 && f.match(r) {
		hit = true
		f.hits++
		if f.budget > 0 {
			f.budget--
		}
	}
	var n int
	if f != nil {
		n = f.hits
	}
	p.mu.Unlock()
	if !hit {
		p.rp.ServeHTTP(w, r)
		return
	}
	if f.onHit != nil {
		f.onHit(n)
	}
	if f.afterForward != nil {
		rec := httptest.NewRecorder()
		p.rp.ServeHTTP(rec, r)
		f.afterForward()
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	reason := "InternalError"
	if f.status == http.StatusConflict {
		reason = "Conflict"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"injected by the test's API proxy (%s %s)","reason":%q,"code":%d}`,
		r.Method, strings.ReplaceAll(r.URL.Path, `"`, ""), reason, f.status)
}

// kubeconfig writes a kubeconfig that reaches the cluster through the proxy
// (no credentials: the proxy adds the admin's).
func (p *apiProxy) kubeconfig(t *testing.T) string {
	t.Helper()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[p.name] = &clientcmdapi.Cluster{Server: p.srv.URL, CertificateAuthorityData: ca}
	cfg.AuthInfos[p.name] = &clientcmdapi.AuthInfo{}
	cfg.Contexts[p.name] = &clientcmdapi.Context{Cluster: p.name, AuthInfo: p.name}
	cfg.CurrentContext = p.name
	path := filepath.Join(t.TempDir(), p.name+".kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))
	return path
}

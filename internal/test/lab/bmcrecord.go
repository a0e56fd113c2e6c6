package lab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"regexp"
	"strings"
	"sync"
	"time"
)

// BMCWrite is one request that could change an emulated server: every
// method but GET, HEAD and OPTIONS, sent to the BMC emulator through the
// recording proxy of one Ironic.
type BMCWrite struct {
	Time time.Time
	// Ironic names the Ironic whose proxy carried the request.
	Ironic string
	// System is the emulated system's UUID the path names, Host its name
	// ("" when the path names no system, e.g. a session login).
	System, Host string
	Method, Path string
	// Kind is what the write does to the server: "power", "boot",
	// "vmedia-insert", "vmedia-eject", "bios" or "other"; "session" is a
	// Redfish login or logout, which changes no server.
	Kind string
	// Summary is the request body, compacted and cut to 200 bytes.
	Summary string
	// Status is the emulator's answer (502 when it could not be reached).
	Status int
}

func (w BMCWrite) String() string {
	host := w.Host
	if host == "" {
		host = "-"
	}
	return fmt.Sprintf("%s %s %s: %s %s %s -> %d", w.Ironic, host, w.Kind, w.Method, w.Path, w.Summary, w.Status)
}

// Kinds of BMC writes.
const (
	BMCPower        = "power"
	BMCBoot         = "boot"
	BMCVMediaInsert = "vmedia-insert"
	BMCVMediaEject  = "vmedia-eject"
	BMCBIOS         = "bios"
	BMCOther        = "other"
	BMCSession      = "session"
)

// classifyBMCWrite says what a Redfish write does, which system it is for
// (sushy-tools' fake driver gives each system's manager the system's UUID,
// so /Managers/<uuid>/VirtualMedia/... names the system too) and a short
// summary of its body.
func classifyBMCWrite(method, path string, body []byte) (kind, system, summary string) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	// redfish v1 Systems|Managers <id> ...
	if len(parts) >= 4 && parts[0] == "redfish" && parts[1] == "v1" && (parts[2] == "Systems" || parts[2] == "Managers") {
		system = parts[3]
	}
	summary = summarize(body)
	switch {
	case strings.HasPrefix(path, "/redfish/v1/SessionService/Sessions"):
		kind = BMCSession
	case strings.HasSuffix(path, "/Actions/ComputerSystem.Reset"):
		kind = BMCPower
	case strings.HasSuffix(path, "/Actions/VirtualMedia.InsertMedia"):
		kind = BMCVMediaInsert
	case strings.HasSuffix(path, "/Actions/VirtualMedia.EjectMedia"):
		kind = BMCVMediaEject
	case method == http.MethodPatch && strings.Contains(path, "/VirtualMedia/"):
		// Redfish also inserts and ejects by PATCHing the Image field.
		kind = BMCVMediaInsert
		var v struct{ Image *string }
		if json.Unmarshal(body, &v) == nil && (v.Image == nil || *v.Image == "") {
			kind = BMCVMediaEject
		}
	case strings.Contains(path, "/Bios"):
		kind = BMCBIOS
	case method == http.MethodPatch && len(parts) == 4 && parts[2] == "Systems" && bytes.Contains(body, []byte(`"Boot"`)):
		kind = BMCBoot
	default:
		kind = BMCOther
	}
	return kind, system, summary
}

var password = regexp.MustCompile(`"Password":"[^"]*"`)

// summarize compacts a JSON body, hides a login's password and cuts it.
func summarize(body []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, body) != nil {
		b.Reset()
		b.Write(bytes.TrimSpace(body))
	}
	s := password.ReplaceAllString(b.String(), `"Password":"***"`)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// BMCRecorder keeps every BMC write the recording proxies carried, and
// every request they refused because it was not for loopback.
type BMCRecorder struct {
	bmc   string            // host:port of the BMC emulator
	hosts map[string]string // system UUID -> name
	mu    sync.Mutex
	log   []BMCWrite
	// refused are requests for an address that is not loopback.
	refused []string
	// agents are the stand-in deploy ramdisks the proxies start when an
	// Ironic network-boots a host (nil: none, as for a bare recorder).
	agents *agents
}

// NewBMCRecorder records writes to the BMC emulator at bmc (host:port),
// naming systems by hosts (UUID -> name).
func NewBMCRecorder(bmc string, hosts map[string]string) *BMCRecorder {
	return &BMCRecorder{bmc: bmc, hosts: hosts}
}

// Writes returns the writes recorded so far for which keep is true (every
// one when keep is nil), in order.
func (r *BMCRecorder) Writes(keep func(BMCWrite) bool) []BMCWrite {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []BMCWrite
	for _, w := range r.log {
		if keep == nil || keep(w) {
			out = append(out, w)
		}
	}
	return out
}

// By selects the writes of one Ironic that change a server (not logins),
// to one host when host is not "".
func By(ironic, host string) func(BMCWrite) bool {
	return func(w BMCWrite) bool {
		return w.Ironic == ironic && w.Kind != BMCSession && (host == "" || w.Host == host)
	}
}

// Refused returns the requests the proxies refused (not for loopback).
func (r *BMCRecorder) Refused() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.refused...)
}

// NameSystem names the system uuid in the writes recorded from now on (a
// lab names a pooled system after the host it was given to).
func (r *BMCRecorder) NameSystem(uuid, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	hosts := make(map[string]string, len(r.hosts)+1)
	maps.Copy(hosts, r.hosts)
	hosts[uuid] = name
	r.hosts = hosts
}

func (r *BMCRecorder) record(w BMCWrite) {
	r.mu.Lock()
	w.Host = r.hosts[w.System]
	r.log = append(r.log, w)
	r.mu.Unlock()
}

// hostName is the name of the system uuid ("" when unknown).
func (r *BMCRecorder) hostName(uuid string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hosts[uuid]
}

// AgentCalls returns what the stand-in agents (agent.go) did and were
// asked, in order.
func (r *BMCRecorder) AgentCalls() []AgentCall {
	return r.agents.Calls()
}

func (r *BMCRecorder) refuse(s string) {
	r.mu.Lock()
	r.refused = append(r.refused, s)
	r.mu.Unlock()
}

// BMCProxy is one Ironic's HTTP forward proxy: the Ironic gets it as
// http_proxy, so every request it makes (python-requests honours the
// variable, and nothing in no_proxy exempts loopback) passes here. Writes
// to the BMC emulator are recorded under the Ironic's name; requests for
// any address but loopback are refused, so an Ironic cannot reach out.
// When the Ironic powers a host on to network-boot it, the proxy has a
// stand-in deploy agent started for the host that calls that Ironic back.
type BMCProxy struct {
	// URL is what http_proxy is set to.
	URL    string
	ironic string
	api    string // the Ironic's API root, for its agents
	rec    *BMCRecorder
	srv    *http.Server
	rp     *httputil.ReverseProxy
}

// Proxy starts a recording proxy on a free loopback port for the Ironic
// called ironic whose API root is api (http://127.0.0.1:PORT; "" starts no
// agents). Stop ends it.
func (r *BMCRecorder) Proxy(ironic, api string) (*BMCProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("BMC proxy for Ironic %s: %w", ironic, err)
	}
	p := &BMCProxy{URL: "http://" + ln.Addr().String(), ironic: ironic, api: api, rec: r}
	p.rp = &httputil.ReverseProxy{
		// The request line already carries the absolute URL.
		Rewrite:   func(*httputil.ProxyRequest) {},
		Transport: &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 4},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Stop closes the proxy.
func (p *BMCProxy) Stop() {
	if p != nil {
		_ = p.srv.Close()
	}
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (p *BMCProxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodConnect {
		// TLS through the proxy cannot be recorded; the lab's BMCs and
		// servers are plain HTTP, so a tunnel is only ever a stray request.
		p.rec.refuse(p.ironic + " CONNECT " + req.Host)
		http.Error(w, "the lab's BMC proxy does not tunnel", http.StatusForbidden)
		return
	}
	if !req.URL.IsAbs() || !loopbackHost(req.URL.Hostname()) {
		p.rec.refuse(p.ironic + " " + req.Method + " " + req.URL.String())
		http.Error(w, "the lab's BMC proxy only forwards to loopback", http.StatusForbidden)
		return
	}
	write := req.URL.Host == p.rec.bmc && req.Method != http.MethodGet && req.Method != http.MethodHead && req.Method != http.MethodOptions
	if !write {
		p.rp.ServeHTTP(w, req)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "reading the request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	p.rp.ServeHTTP(sw, req)
	kind, system, summary := classifyBMCWrite(req.Method, req.URL.Path, body)
	p.rec.record(BMCWrite{
		Time: time.Now(), Ironic: p.ironic, System: system,
		Method: req.Method, Path: req.URL.Path, Kind: kind, Summary: summary, Status: sw.status,
	})
	if kind == BMCPower && sw.status/100 == 2 && p.rec.agents != nil {
		var reset struct{ ResetType string }
		_ = json.Unmarshal(body, &reset)
		p.rec.agents.powered(powerEvent{system: system, by: p.ironic, ironic: p.ironic, api: p.api, resetType: reset.ResetType})
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

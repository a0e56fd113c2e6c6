package lab

// A stand-in for ironic-python-agent (IPA), the deploy ramdisk.
//
// Ironic's `direct` deploy interface boots a host into IPA and then waits
// for it: IPA looks its node up by MAC, heartbeats with the URL of its own
// small API, and Ironic drives the deploy by sending it commands there
// (list the deploy steps, write the image, report partition UUIDs, power
// the host off). The lab's hosts have no disks and the tests no root, so
// the real IPA cannot run; Metal3's own scale tests use a fake agent for
// the same reason. This file is such a fake: it speaks IPA's protocol to a
// real Ironic, answers every command as succeeded and never downloads or
// writes an image. Ironic's side (its states, steps, BMC writes) is the
// real thing.
//
// The recording proxies start an agent when an Ironic powers an emulated
// host on while its boot device is network boot (iPXE), and end it when the
// host powers off or restarts; the agent talks to the Ironic that powered
// the host on.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

const (
	// AgentWriter is the name BMCWrite.Ironic carries for a BMC write the
	// stand-in agent made (powering its host off when Ironic asked it to),
	// so the writes counted per Ironic stay the Ironic's own.
	AgentWriter = "agent"
	// AgentVersion is the IPA version the stand-in reports: recent enough
	// that Ironic uses the step-based deploy protocol.
	AgentVersion = "13.0.0"
	// agentAPIVersion is the Ironic API microversion the agent asks for
	// (IPA 13 asks for at most 1.68: agent tokens and agent_version).
	agentAPIVersion = "1.68"
)

// AgentCall is one thing a stand-in agent did or was asked.
type AgentCall struct {
	Time time.Time
	// Ironic is the Ironic the agent talks to, Host and System the host
	// it runs on.
	Ironic, Host, System string
	// Kind is "start", "lookup", "heartbeat", "command" or "stop".
	Kind string
	// Detail is the command's name, the answer's status, or why.
	Detail string
}

func (c AgentCall) String() string {
	return fmt.Sprintf("%s %s %s %s", c.Ironic, c.Host, c.Kind, c.Detail)
}

// Kinds of agent calls.
const (
	AgentStart     = "start"
	AgentLookup    = "lookup"
	AgentHeartbeat = "heartbeat"
	AgentCommand   = "command"
	AgentStop      = "stop"
)

// powerEvent is a power write to one system that succeeded: by whom (an
// Ironic's name or AgentWriter), and the Ironic an agent it boots talks to.
type powerEvent struct {
	system, by, ironic, api, resetType string
}

// agents runs at most one stand-in agent per emulated system. Power events
// are handled in order by one goroutine, so an off followed by an on is
// never seen the other way round.
type agents struct {
	emulator string            // http://127.0.0.1:PORT
	macs     map[string]string // system UUID -> MAC
	rec      *BMCRecorder

	evMu   sync.Mutex // guards events and closed
	events chan powerEvent
	closed bool
	done   chan struct{}

	mu      sync.Mutex
	running map[string]*fakeAgent // by system UUID
	calls   []AgentCall
}

// agentHTTP talks to Ironic and the emulator directly, like IPA would: no
// proxy, nothing recorded as an Ironic's.
var agentHTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}

func newAgents(emulator string, systems []FakeSystem, rec *BMCRecorder) *agents {
	a := &agents{
		emulator: emulator, macs: map[string]string{}, rec: rec,
		events: make(chan powerEvent, 64), done: make(chan struct{}),
		running: map[string]*fakeAgent{},
	}
	for _, s := range systems {
		a.macs[s.UUID] = s.MAC
	}
	go a.loop()
	return a
}

// Powered tells the agents a power write to system succeeded.
func (a *agents) powered(ev powerEvent) {
	a.evMu.Lock()
	defer a.evMu.Unlock()
	if a.closed {
		return
	}
	a.events <- ev
}

func (a *agents) loop() {
	defer close(a.done)
	for ev := range a.events {
		a.handle(ev)
	}
}

// powerAction says what a Redfish ResetType does to a running ramdisk:
// "on" (keeps one running, boots one if none), "restart" (ends it and
// boots again) or "off" (ends it); "" changes nothing known.
func powerAction(resetType string) string {
	switch resetType {
	case "On", "ForceOn":
		return "on"
	case "ForceRestart", "GracefulRestart", "PowerCycle":
		return "restart"
	case "ForceOff", "GracefulShutdown":
		return "off"
	}
	return ""
}

func (a *agents) handle(ev powerEvent) {
	action := powerAction(ev.resetType)
	if action == "" {
		return
	}
	a.mu.Lock()
	cur := a.running[ev.system]
	a.mu.Unlock()
	if action == "on" && cur != nil && cur.ironic == ev.ironic {
		return // already running: an "On" of a host that is on boots nothing
	}
	if cur != nil {
		a.stopAgent(cur, "host "+action+" ("+ev.resetType+" by "+ev.by+")")
	}
	if action == "off" || ev.api == "" {
		return
	}
	boot, err := a.bootTarget(ev.system)
	if err != nil {
		a.log(AgentCall{Ironic: ev.ironic, System: ev.system, Kind: AgentStart, Detail: "not started: " + err.Error()})
		return
	}
	if boot != "Pxe" {
		return // boots from disk (or elsewhere): no ramdisk
	}
	mac := a.macs[ev.system]
	if mac == "" {
		a.log(AgentCall{Ironic: ev.ironic, System: ev.system, Kind: AgentStart, Detail: "not started: the system has no MAC"})
		return
	}
	fa, err := startFakeAgent(a, ev.system, mac, ev.ironic, ev.api)
	if err != nil {
		a.log(AgentCall{Ironic: ev.ironic, System: ev.system, Kind: AgentStart, Detail: "not started: " + err.Error()})
		return
	}
	a.mu.Lock()
	a.running[ev.system] = fa
	a.mu.Unlock()
	a.log(AgentCall{Ironic: ev.ironic, System: ev.system, Kind: AgentStart, Detail: fa.url + " for Ironic " + ev.api})
}

func (a *agents) stopAgent(fa *fakeAgent, why string) {
	fa.stop()
	a.mu.Lock()
	if a.running[fa.system] == fa {
		delete(a.running, fa.system)
	}
	a.mu.Unlock()
	a.log(AgentCall{Ironic: fa.ironic, System: fa.system, Kind: AgentStop, Detail: why})
}

// redfishSystem is the part of a Redfish ComputerSystem the agents read.
type redfishSystem struct {
	PowerState string
	Boot       struct {
		BootSourceOverrideTarget string
	}
}

func (a *agents) system(ctx context.Context, system string) (redfishSystem, error) {
	var s redfishSystem
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.emulator+"/redfish/v1/Systems/"+system, nil)
	if err != nil {
		return s, err
	}
	resp, err := agentHTTP.Do(req)
	if err != nil {
		return s, fmt.Errorf("reading system %s from the BMC emulator: %w", system, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("reading system %s from the BMC emulator: %s", system, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("reading system %s from the BMC emulator: %w", system, err)
	}
	return s, nil
}

func (a *agents) bootTarget(system string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := a.system(ctx, system)
	return s.Boot.BootSourceOverrideTarget, err
}

// reset sends a ResetType to system's BMC as the agent (not as an Ironic),
// records the write and tells the agents.
func (a *agents) reset(system, resetType, ironic, api string) error {
	path := "/redfish/v1/Systems/" + system + "/Actions/ComputerSystem.Reset"
	body := []byte(`{"ResetType":"` + resetType + `"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.emulator+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	status := http.StatusBadGateway
	resp, err := agentHTTP.Do(req)
	if err == nil {
		status = resp.StatusCode
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	a.rec.record(BMCWrite{
		Time: time.Now(), Ironic: AgentWriter, System: system,
		Method: http.MethodPost, Path: path, Kind: BMCPower, Summary: string(body), Status: status,
	})
	if err != nil {
		return fmt.Errorf("agent: %s of system %s: %w", resetType, system, err)
	}
	if status/100 != 2 {
		return fmt.Errorf("agent: %s of system %s: HTTP %d", resetType, system, status)
	}
	a.powered(powerEvent{system: system, by: AgentWriter, ironic: ironic, api: api, resetType: resetType})
	return nil
}

func (a *agents) log(c AgentCall) {
	if c.Time.IsZero() {
		c.Time = time.Now()
	}
	a.mu.Lock()
	c.Host = a.rec.hostName(c.System)
	a.calls = append(a.calls, c)
	a.mu.Unlock()
}

// Calls returns what the agents did and were asked, in order.
func (a *agents) Calls() []AgentCall {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]AgentCall(nil), a.calls...)
}

// close ends every agent; power events after it are ignored.
func (a *agents) close() {
	if a == nil {
		return
	}
	a.evMu.Lock()
	if a.closed {
		a.evMu.Unlock()
		return
	}
	a.closed = true
	close(a.events)
	a.evMu.Unlock()
	<-a.done
	a.mu.Lock()
	var all []*fakeAgent
	for _, fa := range a.running {
		all = append(all, fa)
	}
	a.mu.Unlock()
	for _, fa := range all {
		a.stopAgent(fa, "BMC emulator stopped")
	}
}

// agentCommand is one command's result as IPA serialises it
// (BaseCommandResult in ironic_python_agent/extensions/base.py): Ironic
// reads command_name (without the extension), command_status,
// command_result and command_error.
type agentCommand struct {
	ID      string `json:"id"`
	Name    string `json:"command_name"`
	Status  string `json:"command_status"`
	Error   any    `json:"command_error"`
	Result  any    `json:"command_result"`
	created time.Time
}

// fakeAgent is one stand-in agent: the deploy ramdisk booted on one host.
type fakeAgent struct {
	parent                     *agents
	system, mac, ironic, api   string
	url                        string
	srv                        *http.Server
	ctx                        context.Context
	cancel                     context.CancelFunc
	done                       chan struct{}
	started                    time.Time
	mu                         sync.Mutex
	token, node                string
	interval                   time.Duration
	commands                   []agentCommand
	poweringOff, stopHeartbeat bool
}

func startFakeAgent(parent *agents, system, mac, ironic, api string) (*fakeAgent, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("agent port: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	fa := &fakeAgent{
		parent: parent, system: system, mac: mac, ironic: ironic, api: strings.TrimSuffix(api, "/"),
		url: "http://" + ln.Addr().String(), ctx: ctx, cancel: cancel, done: make(chan struct{}),
		started: time.Now(), interval: time.Second,
	}
	fa.srv = &http.Server{Handler: fa, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = fa.srv.Serve(ln) }()
	go fa.run()
	return fa, nil
}

func (fa *fakeAgent) stop() {
	fa.cancel()
	_ = fa.srv.Close()
	<-fa.done
}

func (fa *fakeAgent) log(kind, detail string) {
	fa.parent.log(AgentCall{Ironic: fa.ironic, System: fa.system, Kind: kind, Detail: detail})
}

// sleep waits d or until the agent stops; false when it stopped.
func (fa *fakeAgent) sleep(d time.Duration) bool {
	select {
	case <-fa.ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// run is the ramdisk's life: it boots once the BMC says the host is on,
// looks its node up until Ironic answers, then heartbeats.
func (fa *fakeAgent) run() {
	defer close(fa.done)
	for {
		s, err := fa.parent.system(fa.ctx, fa.system)
		if err == nil && s.PowerState == "On" {
			break
		}
		if !fa.sleep(250 * time.Millisecond) {
			return
		}
	}
	for {
		err := fa.lookup()
		if err == nil {
			break
		}
		fa.log(AgentLookup, err.Error())
		if !fa.sleep(time.Second) {
			return
		}
	}
	for {
		fa.mu.Lock()
		stop, interval := fa.stopHeartbeat, fa.interval
		fa.mu.Unlock()
		if stop {
			return
		}
		status, err := fa.heartbeat()
		detail := status
		if err != nil {
			detail = err.Error()
		}
		fa.log(AgentHeartbeat, detail)
		if !fa.sleep(interval) {
			return
		}
	}
}

// ironic sends one request to the agent's Ironic.
func (fa *fakeAgent) ironicCall(method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(fa.ctx, method, fa.api+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-OpenStack-Ironic-API-Version", agentAPIVersion)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := agentHTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, ironic.ErrorMessage(raw))
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// lookupAnswer is the part of Ironic's lookup answer the agent uses (see
// ironic/api/controllers/v1/ramdisk.py).
type lookupAnswer struct {
	Node struct {
		UUID string `json:"uuid"`
	} `json:"node"`
	Config struct {
		AgentToken       string  `json:"agent_token"`
		HeartbeatTimeout float64 `json:"heartbeat_timeout"`
	} `json:"config"`
}

// heartbeatInterval: IPA heartbeats well inside Ironic's timeout; the lab
// keeps it between half a second and two seconds so a deploy takes
// seconds.
func heartbeatInterval(timeout float64) time.Duration {
	d := time.Duration(timeout / 10 * float64(time.Second))
	return min(max(d, 500*time.Millisecond), 2*time.Second)
}

func (fa *fakeAgent) lookup() error {
	var ans lookupAnswer
	if _, err := fa.ironicCall(http.MethodGet, "/v1/lookup?addresses="+url.QueryEscape(fa.mac), nil, &ans); err != nil {
		return err
	}
	if ans.Node.UUID == "" || ans.Config.AgentToken == "" {
		return fmt.Errorf("GET /v1/lookup: no node UUID or agent token in the answer")
	}
	fa.mu.Lock()
	fa.node, fa.token = ans.Node.UUID, ans.Config.AgentToken
	fa.interval = heartbeatInterval(ans.Config.HeartbeatTimeout)
	fa.mu.Unlock()
	fa.log(AgentLookup, "node "+ans.Node.UUID)
	return nil
}

func (fa *fakeAgent) heartbeat() (string, error) {
	fa.mu.Lock()
	node, token := fa.node, fa.token
	fa.mu.Unlock()
	status, err := fa.ironicCall(http.MethodPost, "/v1/heartbeat/"+node, map[string]any{
		"callback_url": fa.url, "agent_token": token, "agent_version": AgentVersion,
	}, nil)
	return fmt.Sprint(status), err
}

// fault is IPA's error answer (format_exception in its api/app.py).
func fault(w http.ResponseWriter, status int, msg string) {
	kind := "Client"
	if status >= 500 {
		kind = "Server"
	}
	writeJSON(w, status, map[string]string{"faultcode": kind, "faultstring": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ServeHTTP is IPA's API: status, run a command, list the commands run.
func (fa *fakeAgent) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	path := strings.TrimSuffix(req.URL.Path, "/")
	switch {
	case path == "" || path == "/v1":
		writeJSON(w, http.StatusOK, map[string]any{"name": "OpenStack Ironic Python Agent API (lab stand-in)"})
	case path == "/v1/status" && req.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"started_at": float64(fa.started.UnixNano()) / 1e9, "version": AgentVersion})
	case strings.HasPrefix(path, "/v1/commands"):
		fa.mu.Lock()
		token := fa.token
		fa.mu.Unlock()
		if token == "" || req.URL.Query().Get("agent_token") != token {
			fault(w, http.StatusUnauthorized, "Token invalid.")
			return
		}
		fa.commandsAPI(w, req, strings.TrimPrefix(strings.TrimPrefix(path, "/v1/commands"), "/"))
	default:
		fault(w, http.StatusNotFound, "The resource could not be found.")
	}
}

func (fa *fakeAgent) commandsAPI(w http.ResponseWriter, req *http.Request, id string) {
	switch {
	case req.Method == http.MethodGet && id == "":
		fa.mu.Lock()
		cmds := append([]agentCommand{}, fa.commands...)
		fa.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"commands": cmds})
	case req.Method == http.MethodGet:
		fa.mu.Lock()
		defer fa.mu.Unlock()
		for _, c := range fa.commands {
			if c.ID == id {
				writeJSON(w, http.StatusOK, c)
				return
			}
		}
		fault(w, http.StatusNotFound, "Command "+id+" not found.")
	case req.Method == http.MethodPost && id == "":
		var body struct {
			Name   string                     `json:"name"`
			Params map[string]json.RawMessage `json:"params"`
		}
		if err := json.NewDecoder(req.Body).Decode(&body); err != nil || body.Name == "" || body.Params == nil {
			fault(w, http.StatusBadRequest, "Missing or invalid name or params")
			return
		}
		result, known := agentAnswer(body.Name, body.Params)
		if !known {
			fa.log(AgentCommand, body.Name+" (unknown)")
			fault(w, http.StatusBadRequest, "Invalid command: Unknown command: "+body.Name)
			return
		}
		_, short, _ := strings.Cut(body.Name, ".")
		c := agentCommand{ID: newID(), Name: short, Status: "SUCCEEDED", Result: result, created: time.Now()}
		fa.mu.Lock()
		fa.commands = append(fa.commands, c)
		fa.mu.Unlock()
		fa.log(AgentCommand, body.Name)
		writeJSON(w, http.StatusOK, c)
		fa.afterCommand(body.Name)
	default:
		fault(w, http.StatusMethodNotAllowed, "Method not allowed.")
	}
}

// afterCommand does what a command does to the host once answered: the
// agent powers it off or reboots it through the BMC, as IPA's shutdown of
// the machine would, and stops heartbeating (the ramdisk is gone).
func (fa *fakeAgent) afterCommand(name string) {
	var resetType string
	switch name {
	case "standby.power_off":
		resetType = "ForceOff"
	case "standby.run_image":
		resetType = "ForceRestart"
	default:
		return
	}
	fa.mu.Lock()
	if fa.poweringOff {
		fa.mu.Unlock()
		return
	}
	fa.poweringOff, fa.stopHeartbeat = true, true
	fa.mu.Unlock()
	go func() {
		// IPA answers, then shuts the machine down.
		time.Sleep(200 * time.Millisecond)
		if err := fa.parent.reset(fa.system, resetType, fa.ironic, fa.api); err != nil {
			fa.log(AgentCommand, name+": "+err.Error())
		}
	}()
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// agentHardwareManager is the one hardware manager the stand-in reports,
// with its version (Ironic keeps it and sends it back with each step).
var agentHardwareManager = map[string]string{"generic_hardware_manager": "1.2"}

// agentDeploySteps are the in-band deploy steps the stand-in offers: IPA's
// generic ones that Ironic's direct deploy can ask for, all at priority 0
// (run only when asked; write_image is asked for by Ironic's own
// out-of-band write_image step).
var agentDeploySteps = []map[string]any{
	{"step": "write_image", "priority": 0, "interface": "deploy", "reboot_requested": false},
	{"step": "erase_devices_metadata", "priority": 0, "interface": "deploy", "reboot_requested": false},
	{"step": "apply_configuration", "priority": 0, "interface": "raid", "reboot_requested": false},
}

// agentAnswer is the command_result the stand-in gives a command (names as
// Ironic's agent_client.py sends them, "<extension>.<command>"), in the
// shape IPA 13 gives it; known is false for a command it does not have.
// It writes nothing and downloads nothing: every command succeeds.
func agentAnswer(name string, params map[string]json.RawMessage) (result any, known bool) {
	var step map[string]any
	if raw, ok := params["step"]; ok {
		_ = json.Unmarshal(raw, &step)
	}
	switch name {
	case "deploy.get_deploy_steps":
		return map[string]any{
			"deploy_steps":             map[string]any{"GenericHardwareManager": agentDeploySteps},
			"hardware_manager_version": agentHardwareManager,
		}, true
	case "deploy.execute_deploy_step":
		var res any
		if step["step"] == "write_image" {
			id := "image"
			var args struct {
				ImageInfo struct {
					ID string `json:"id"`
				} `json:"image_info"`
			}
			if raw, err := json.Marshal(step["args"]); err == nil && json.Unmarshal(raw, &args) == nil && args.ImageInfo.ID != "" {
				id = args.ImageInfo.ID
			}
			res = fmt.Sprintf("image (%s) written to device /dev/sda (lab stand-in: nothing downloaded or written)", id)
		}
		return map[string]any{"deploy_result": res, "deploy_step": step}, true
	case "clean.get_clean_steps":
		return map[string]any{
			"clean_steps":              map[string]any{"GenericHardwareManager": []map[string]any{}},
			"hardware_manager_version": agentHardwareManager,
		}, true
	case "clean.execute_clean_step":
		return map[string]any{"clean_result": nil, "clean_step": step}, true
	case "standby.get_partition_uuids":
		// A whole-disk image: IPA records no partitions.
		return map[string]any{}, true
	case "image.install_bootloader", "standby.power_off", "standby.run_image", "standby.sync":
		return nil, true
	case "log.collect_system_logs":
		return map[string]any{"system_logs": agentLogs()}, true
	}
	return nil, false
}

// agentLogs is what collect_system_logs returns: a gzipped tarball,
// base64-encoded, here with one file saying it is a stand-in.
func agentLogs() string {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	msg := []byte("pivotcheck lab: stand-in for ironic-python-agent; no system logs.\n")
	_ = tw.WriteHeader(&tar.Header{Name: "README", Mode: 0o644, Size: int64(len(msg)), ModTime: time.Now()})
	_, _ = tw.Write(msg)
	_ = tw.Close()
	_ = gz.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

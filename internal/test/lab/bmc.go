package lab

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// FakeSystem is one server the BMC emulator pretends to manage.
type FakeSystem struct {
	UUID, Name string
	// PowerState is "On" or "Off" at the start.
	PowerState string
	// MAC is its one NIC's address (a BareMetalHost's bootMACAddress).
	MAC string
}

// NewFakeSystems makes one powered-off system per name, with a random UUID
// and a locally administered MAC.
func NewFakeSystems(names ...string) []FakeSystem {
	out := make([]FakeSystem, len(names))
	for i, name := range names {
		var b [22]byte
		_, _ = rand.Read(b[:])
		b[6] = b[6]&0x0f | 0x40 // UUID version 4
		b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
		out[i] = FakeSystem{
			UUID:       fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]),
			Name:       name,
			PowerState: "Off",
			MAC:        fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", b[16], b[17], b[18], b[19], b[20]),
		}
	}
	return out
}

// BMCEmulator is one sushy-tools Redfish emulator on loopback with its fake
// driver: the BMCs of every lab cluster's hosts, shared by the clusters'
// Ironics as the same physical BMCs would be. It keeps each system's power
// state, boot device and virtual media in a state folder; no libvirt, no
// VM. Every write an Ironic sends it through its recording proxy (Proxy) is
// in Recorder. When an Ironic powers a system on to network-boot it, a
// stand-in for ironic-python-agent runs for it (agent.go); what those agents
// did is in Recorder.AgentCalls.
type BMCEmulator struct {
	// URL is the emulator's root, http://127.0.0.1:PORT.
	URL     string
	Systems []FakeSystem
	// Recorder has every write the proxies carried.
	Recorder *BMCRecorder
	// Dir holds its configuration, state and log.
	Dir string
	// Started is how long it took to answer /redfish/v1/Systems.
	Started time.Duration

	proc *process
	keep bool
}

// emulatorConfig renders sushy-tools' configuration (a Python file).
func emulatorConfig(port int, stateDir string, systems []FakeSystem) (string, error) {
	type nic struct {
		MAC string `json:"mac"`
		IP  string `json:"ip"`
	}
	type system struct {
		UUID       string `json:"uuid"`
		Name       string `json:"name"`
		PowerState string `json:"power_state"`
		Notifier   bool   `json:"external_notifier"`
		NICs       []nic  `json:"nics"`
	}
	var ss []system
	for _, s := range systems {
		ss = append(ss, system{UUID: s.UUID, Name: s.Name, PowerState: s.PowerState, NICs: []nic{{MAC: s.MAC, IP: "127.0.0.1"}}})
	}
	raw, err := json.Marshal(ss)
	if err != nil {
		return "", fmt.Errorf("BMC emulator: systems: %w", err)
	}
	return fmt.Sprintf(`# sushy-tools configuration written by the pivotcheck lab.
import json
SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'
SUSHY_EMULATOR_LISTEN_PORT = %d
SUSHY_EMULATOR_STATE_DIR = %s
SUSHY_EMULATOR_FAKE_DRIVER = True
SUSHY_EMULATOR_FAKE_SYSTEMS = json.loads(%s)
`, port, strconv.Quote(stateDir), strconv.Quote(string(raw))), nil
}

// noProxyEnv keeps a process off any proxy the test's environment names.
var noProxyEnv = []string{"http_proxy=", "HTTP_PROXY=", "https_proxy=", "HTTPS_PROXY=", "all_proxy=", "ALL_PROXY=", "no_proxy=", "NO_PROXY="}

// StartBMCEmulator starts the emulator for systems (each with a distinct
// name) and waits until it answers. Stop ends it.
func StartBMCEmulator(ctx context.Context, systems []FakeSystem, timeout time.Duration) (e *BMCEmulator, err error) {
	inst, err := FindIronic()
	if err != nil {
		return nil, err
	}
	hosts := map[string]string{}
	for _, s := range systems {
		if s.Name == "" || s.UUID == "" {
			return nil, fmt.Errorf("BMC emulator: a system needs a name and a UUID (got %+v)", s)
		}
		if _, dup := hosts[s.UUID]; dup {
			return nil, fmt.Errorf("BMC emulator: system UUID %s is declared twice", s.UUID)
		}
		hosts[s.UUID] = s.Name
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pivotcheck-bmc-")
	if err != nil {
		return nil, fmt.Errorf("BMC emulator folder: %w", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	e = &BMCEmulator{URL: "http://" + addr, Systems: systems, Recorder: NewBMCRecorder(addr, hosts), Dir: dir}
	e.Recorder.agents = newAgents(e.URL, systems, e.Recorder)
	defer func() {
		if err != nil {
			e.keep = true
			_ = e.Stop()
		}
	}()
	cfg, err := emulatorConfig(port, filepath.Join(dir, "state"), systems)
	if err != nil {
		return e, err
	}
	cfgPath := filepath.Join(dir, "emulator.conf")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return e, fmt.Errorf("BMC emulator: writing its configuration: %w", err)
	}
	e.proc = &process{
		name: "bmc-emulator", bin: inst.Emulator, args: []string{"--config", cfgPath},
		env: noProxyEnv, dir: filepath.Join(dir, "run"), logPath: filepath.Join(dir, "bmc-emulator.log"),
	}
	begin := time.Now()
	if err := e.proc.start(); err != nil {
		return e, err
	}
	if err := e.proc.waitReady(ctx, timeout, httpReady(e.URL+"/redfish/v1/Systems")); err != nil {
		return e, err
	}
	e.Started = time.Since(begin)
	return e, nil
}

// System returns the system called host.
func (e *BMCEmulator) System(host string) (FakeSystem, error) {
	for _, s := range e.Systems {
		if s.Name == host {
			return s, nil
		}
	}
	return FakeSystem{}, fmt.Errorf("BMC emulator: no system called %q", host)
}

// Address is host's BMC address as a BareMetalHost or an Ironic node's
// redfish_address would name it: redfish+http://127.0.0.1:PORT/redfish/v1/Systems/<uuid>.
func (e *BMCEmulator) Address(host string) (string, error) {
	s, err := e.System(host)
	if err != nil {
		return "", err
	}
	return "redfish+" + e.URL + "/redfish/v1/Systems/" + s.UUID, nil
}

// Check reports whether the emulator has stopped, with its log.
func (e *BMCEmulator) Check() error {
	if e == nil || e.proc == nil {
		return nil
	}
	if err := e.proc.exited(); err != nil {
		return e.proc.failure("has stopped", err)
	}
	return nil
}

// Logs returns the last lines of the emulator's log (its access log: every
// request any Ironic sent).
func (e *BMCEmulator) Logs(lines int) string {
	if e == nil || e.proc == nil {
		return ""
	}
	return fmt.Sprintf("--- %s (%s), last %d lines:\n%s\n", e.proc.name, e.proc.logPath, lines, indent(tail(e.proc.logPath, lines)))
}

// Keep keeps the emulator's folder after Stop (a test failed).
func (e *BMCEmulator) Keep() {
	if e != nil {
		e.keep = true
	}
}

// Stop ends the emulator and removes its folder unless Keep was called.
func (e *BMCEmulator) Stop() error {
	if e == nil {
		return nil
	}
	e.Recorder.agents.close()
	if e.proc != nil {
		e.proc.stop(5 * time.Second)
	}
	if e.keep {
		fmt.Fprintf(os.Stderr, "lab: BMC emulator files kept in %s\n", e.Dir)
		return nil
	}
	if err := os.RemoveAll(e.Dir); err != nil {
		return fmt.Errorf("removing BMC emulator folder %s: %w", e.Dir, err)
	}
	return nil
}

// DriverInfo is the driver_info of an Ironic redfish node for host, as BMO
// v0.13.2 sets it for a redfish+http:// address (the emulator asks for no
// credentials; Ironic still wants some).
func (e *BMCEmulator) DriverInfo(host string) (map[string]any, error) {
	s, err := e.System(host)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"redfish_address":   e.URL,
		"redfish_system_id": "/redfish/v1/Systems/" + s.UUID,
		"redfish_username":  "admin",
		"redfish_password":  "password",
	}, nil
}

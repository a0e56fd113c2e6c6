package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Pinned Python releases; hack/ironic.sh installs exactly these, with every
// dependency pinned by hack/ironic-constraints.txt.
const (
	IronicVersion     = "39.0.0"
	SushyToolsVersion = "2.2.0"
	// IronicMinAPI is the Ironic API microversion BMO v0.13.2 requires
	// (its baseline; it refuses an older Ironic).
	IronicMinAPI = "1.89"
)

// IronicInstall is the virtual environment hack/ironic.sh fills.
type IronicInstall struct {
	Venv string
	// Ironic is the all-in-one `ironic` command (API and conductor in
	// one service), DBSync `ironic-dbsync`, Emulator sushy-tools'
	// `sushy-emulator`.
	Ironic, DBSync, Emulator string
	// Schema is an empty database hack/ironic.sh made with `ironic-dbsync
	// create_schema`; when present, each Ironic starts from a copy.
	Schema string
}

// FindIronic locates the venv in the lab folder (PIVOTCHECK_LAB_BIN or the
// cache); a missing one is an error naming the command that installs it.
func FindIronic() (IronicInstall, error) {
	bin := os.Getenv("PIVOTCHECK_LAB_BIN")
	if bin == "" {
		cache, err := CacheDir()
		if err != nil {
			return IronicInstall{}, err
		}
		bin = filepath.Join(cache, "lab")
	}
	venv := filepath.Join(bin, "ironic-"+IronicVersion)
	in := IronicInstall{
		Venv:     venv,
		Ironic:   filepath.Join(venv, "bin", "ironic"),
		DBSync:   filepath.Join(venv, "bin", "ironic-dbsync"),
		Emulator: filepath.Join(venv, "bin", "sushy-emulator"),
		Schema:   filepath.Join(venv, "schema.sqlite"),
	}
	for _, path := range []string{in.Ironic, in.DBSync, in.Emulator} {
		if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return IronicInstall{}, fmt.Errorf("lab: Ironic %s not found at %s: run `make lab` (installs it from PyPI, see hack/ironic.sh)", IronicVersion, path)
		}
	}
	return in, nil
}

// IronicOptions configure one cluster's Ironic.
type IronicOptions struct {
	// Name names the Ironic in logs and in the BMC write record
	// ("bootstrap", "target").
	Name string
	// BMC is the emulator of the hosts' BMCs: the Ironic reaches it (and
	// anything else) only through a proxy that records its writes there
	// under Name.
	BMC *BMCEmulator
	// ReadyTimeout bounds the start (default 90 s).
	ReadyTimeout time.Duration
	// Port is the API port (0: a free one). A lab restarting a cluster's
	// Ironic keeps its port, so BMO's endpoint stays valid.
	Port int
	// Dir is the folder its own folder is made in (default: the system's
	// temporary folder).
	Dir string
	// HTTPURL and HTTPRoot, when set, are a file server the caller keeps
	// across restarts (BMO's deploy image URLs point at it); else the
	// Ironic serves a folder of its own.
	HTTPURL, HTTPRoot string
}

// Ironic is one real Ironic on loopback: the all-in-one `ironic` service
// (API and conductor together, no RPC bus, no keystone), a fresh sqlite
// database, no DHCP, no automated cleaning, the hardware types and
// interfaces BMO v0.13.2 asks for. Its own file server stands in for the
// httpd that serves the boot images Ironic writes.
type Ironic struct {
	Name string
	// URL is the API root, http://127.0.0.1:PORT (the API is URL+"/v1").
	URL string
	// HTTPURL serves HTTPRoot: Ironic's [deploy] http_url and http_root.
	HTTPURL, HTTPRoot string
	// Dir holds its configuration, database, state and log.
	Dir string
	// Schema is how long making its empty database took, Serve how long
	// the service then took to answer /v1 with its drivers loaded.
	Schema, Serve time.Duration

	proc  *process
	proxy *BMCProxy
	http  *http.Server
	keep  bool
}

type ironicParams struct {
	Name, Dir         string
	APIPort           int
	HTTPURL, HTTPRoot string
	HardwareTypes     []string
	Interfaces        map[string][]string // kind -> enabled implementations
}

// ironicInterfaces are the implementations BMO v0.13.2 sets on the nodes it
// registers (hardwareutils v0.13.1's redfish schemes, its deploy and inspect
// choices), plus the no-op ones it falls back to and the fake ones a test
// may use.
var ironicInterfaces = map[string][]string{
	"boot":       {"ipxe", "redfish-virtual-media", "fake"},
	"deploy":     {"direct", "ramdisk", "custom-agent", "fake"},
	"inspect":    {"agent", "no-inspect", "fake"},
	"power":      {"redfish", "fake"},
	"management": {"redfish", "fake"},
	"raid":       {"redfish", "agent", "no-raid", "fake"},
	"bios":       {"redfish", "no-bios", "fake"},
	"firmware":   {"redfish", "no-firmware", "fake"},
	"vendor":     {"redfish", "no-vendor", "fake"},
	"network":    {"noop"},
}

// ironicConfig renders ironic.conf.
func ironicConfig(p ironicParams) string {
	var b strings.Builder
	url := "http://127.0.0.1:" + strconv.Itoa(p.APIPort)
	fmt.Fprintf(&b, `# Ironic configuration written by the pivotcheck lab.
[DEFAULT]
host = ironic-%s
auth_strategy = noauth
rpc_transport = none
debug = true
use_stderr = true
state_path = %s
enabled_hardware_types = %s
`, p.Name, filepath.Join(p.Dir, "state"), strings.Join(p.HardwareTypes, ","))
	kinds := make([]string, 0, len(p.Interfaces))
	for k := range p.Interfaces {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "enabled_%s_interfaces = %s\n", k, strings.Join(p.Interfaces[k], ","))
	}
	fmt.Fprintf(&b, `default_network_interface = noop

[api]
host_ip = 127.0.0.1
port = %d
# The deploy ramdisk (the lab's stand-in agent) heartbeats well inside this.
ramdisk_heartbeat_timeout = 10

[agent]
# A direct deploy waits on the agent: poll it and the power state after its
# power-off every second, not every 5-6 s, so a deploy takes seconds.
command_wait_interval = 1
post_deploy_get_power_state_retry_interval = 1
post_deploy_get_power_state_retries = 30
# The stand-in agent serves plain HTTP on loopback (IPA would serve TLS with
# a certificate it makes at boot).
require_tls = false
deploy_logs_local_path = %s

[database]
connection = sqlite:///%s

[dhcp]
dhcp_provider = none

[conductor]
automated_clean = false

[deploy]
http_url = %s
http_root = %s
# Every deploy boots the ramdisk afresh (no agent kept running between
# operations).
fast_track = false

[pxe]
tftp_root = %s

[oslo_concurrency]
lock_path = %s

[service_catalog]
# Without it the conductor looks the API up in a service catalog, and
# direct deploys fail.
endpoint_override = %s
`, p.APIPort, filepath.Join(p.Dir, "deploy-logs"), filepath.Join(p.Dir, "ironic.db"), p.HTTPURL, p.HTTPRoot,
		filepath.Join(p.Dir, "tftpboot"), filepath.Join(p.Dir, "locks"), url)
	return b.String()
}

// StartIronic creates a fresh database and starts one Ironic; it returns
// once the API answers and the redfish driver is loaded. Stop ends it.
func StartIronic(ctx context.Context, o IronicOptions) (ir *Ironic, err error) {
	if o.Name == "" || o.BMC == nil {
		return nil, errors.New("lab: an Ironic needs a name and a BMC emulator")
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 90 * time.Second
	}
	inst, err := FindIronic()
	if err != nil {
		return nil, err
	}
	apiPort := o.Port
	if apiPort == 0 {
		if apiPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp(o.Dir, "pivotcheck-ironic-"+o.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("Ironic %s folder: %w", o.Name, err)
	}
	ir = &Ironic{Name: o.Name, URL: "http://127.0.0.1:" + strconv.Itoa(apiPort), Dir: dir, HTTPRoot: filepath.Join(dir, "httpboot")}
	if o.HTTPRoot != "" {
		ir.HTTPRoot, ir.HTTPURL = o.HTTPRoot, o.HTTPURL
	}
	defer func() {
		if err != nil {
			ir.keep = true
			_ = ir.Stop()
		}
	}()
	for _, d := range []string{ir.HTTPRoot, filepath.Join(dir, "tftpboot"), filepath.Join(dir, "locks"), filepath.Join(dir, "state"), filepath.Join(dir, "deploy-logs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return ir, fmt.Errorf("Ironic %s: %w", o.Name, err)
		}
	}
	if ir.HTTPURL == "" {
		if ir.HTTPURL, ir.http, err = serveFiles(ir.HTTPRoot); err != nil {
			return ir, fmt.Errorf("Ironic %s file server: %w", o.Name, err)
		}
	}

	if ir.proxy, err = o.BMC.Recorder.Proxy(o.Name, ir.URL); err != nil {
		return ir, err
	}
	conf := filepath.Join(dir, "ironic.conf")
	cfg := ironicConfig(ironicParams{
		Name: o.Name, Dir: dir, APIPort: apiPort, HTTPURL: ir.HTTPURL, HTTPRoot: ir.HTTPRoot,
		HardwareTypes: []string{"redfish", "fake-hardware"}, Interfaces: ironicInterfaces,
	})
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		return ir, fmt.Errorf("Ironic %s: writing its configuration: %w", o.Name, err)
	}
	// Every HTTP request the Ironic makes goes through its recording proxy;
	// an empty no_proxy keeps loopback (the BMCs) from being exempted.
	env := []string{
		"http_proxy=" + ir.proxy.URL, "HTTP_PROXY=" + ir.proxy.URL,
		"https_proxy=" + ir.proxy.URL, "HTTPS_PROXY=" + ir.proxy.URL,
		"all_proxy=", "ALL_PROXY=", "no_proxy=", "NO_PROXY=",
	}
	if bin, err := isoTool(inst, dir); err != nil {
		return ir, fmt.Errorf("Ironic %s: %w", o.Name, err)
	} else if bin != "" {
		env = append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	}

	begin := time.Now()
	if err := ir.database(ctx, inst, conf, env, o.ReadyTimeout); err != nil {
		return ir, err
	}
	ir.Schema = time.Since(begin)

	begin = time.Now()
	ir.proc = &process{
		name: "ironic-" + o.Name, bin: inst.Ironic, args: []string{"--config-file", conf},
		env: env, dir: filepath.Join(dir, "run"), logPath: filepath.Join(dir, "ironic.log"),
		group: true,
	}
	if err := ir.proc.start(); err != nil {
		return ir, err
	}
	if err := ir.proc.waitReady(ctx, o.ReadyTimeout, ir.ready); err != nil {
		return ir, err
	}
	ir.Serve = time.Since(begin)
	return ir, nil
}

// isoTool gives the Ironic a `genisoimage` when the machine has none:
// pycdlib's pure-Python one from the venv (it takes the options Ironic
// passes). Ironic packs a host's config drive (the metadata BMO sends with
// every deploy) into an ISO with it; without one a direct deploy fails at
// write_image. It returns the folder to put first on PATH ("" when the
// machine has its own tool or the venv has none).
func isoTool(inst IronicInstall, dir string) (string, error) {
	for _, tool := range []string{"genisoimage", "mkisofs", "xorrisofs"} {
		if _, err := exec.LookPath(tool); err == nil {
			return "", nil
		}
	}
	pycdlib := filepath.Join(inst.Venv, "bin", "pycdlib-genisoimage")
	if _, err := os.Stat(pycdlib); err != nil {
		return "", nil
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o700); err != nil {
		return "", err
	}
	if err := os.Symlink(pycdlib, filepath.Join(bin, "genisoimage")); err != nil {
		return "", fmt.Errorf("config drive tool: %w", err)
	}
	return bin, nil
}

// serveFiles serves root on a free loopback port until the server is closed.
func serveFiles(root string) (string, *http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(root)), ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), srv, nil
}

// database gives the Ironic an empty database: a copy of the one
// hack/ironic.sh made, or else one made now by `ironic-dbsync create_schema`
// (about 5 s, 15 s on a busy machine).
func (ir *Ironic) database(ctx context.Context, inst IronicInstall, conf string, env []string, timeout time.Duration) error {
	db := filepath.Join(ir.Dir, "ironic.db")
	if raw, err := os.ReadFile(inst.Schema); err == nil {
		if err := os.WriteFile(db, raw, 0o600); err != nil {
			return fmt.Errorf("Ironic %s: copying the empty database: %w", ir.Name, err)
		}
		return nil
	}
	p := &process{
		name: "ironic-" + ir.Name + "/dbsync", bin: inst.DBSync, args: []string{"--config-file", conf, "create_schema"},
		env: env, dir: filepath.Join(ir.Dir, "run"), logPath: filepath.Join(ir.Dir, "ironic-dbsync.log"),
	}
	if err := p.start(); err != nil {
		return err
	}
	defer p.stop(time.Second)
	select {
	case <-p.done:
	case <-ctx.Done():
		return fmt.Errorf("Ironic %s: creating its database: %w", ir.Name, ctx.Err())
	case <-time.After(timeout):
		return p.failure("did not finish", fmt.Errorf("timeout %s", timeout))
	}
	if state := p.cmd.ProcessState; state == nil || !state.Success() {
		return p.failure("failed", p.exited())
	}
	return nil
}

// ready: /v1 answers and the conductor has registered the redfish driver
// (the API answers a moment before it can take a node).
func (ir *Ironic) ready(ctx context.Context) error {
	if err := httpReady(ir.URL + "/v1")(ctx); err != nil {
		return err
	}
	var drivers struct {
		Drivers []struct{ Name string } `json:"drivers"`
	}
	if err := ir.Client().Do(ctx, http.MethodGet, "/v1/drivers", nil, &drivers); err != nil {
		return err
	}
	for _, d := range drivers.Drivers {
		if d.Name == "redfish" {
			return nil
		}
	}
	return fmt.Errorf("the redfish driver is not loaded yet (drivers: %+v)", drivers.Drivers)
}

// Client is an API client of this Ironic.
func (ir *Ironic) Client() *IronicClient { return &IronicClient{URL: ir.URL} }

// Check reports whether the Ironic has stopped, with its log.
func (ir *Ironic) Check() error {
	if ir == nil || ir.proc == nil {
		return nil
	}
	if err := ir.proc.exited(); err != nil {
		return ir.proc.failure("has stopped", err)
	}
	return nil
}

// Logs returns the last lines of the Ironic's log.
func (ir *Ironic) Logs(lines int) string {
	if ir == nil || ir.proc == nil {
		return ""
	}
	return fmt.Sprintf("--- %s (%s), last %d lines:\n%s\n", ir.proc.name, ir.proc.logPath, lines, indent(tail(ir.proc.logPath, lines)))
}

// Keep keeps the Ironic's folder after Stop (a test failed).
func (ir *Ironic) Keep() {
	if ir != nil {
		ir.keep = true
	}
}

// Pid is the Ironic's main process id (0 before it started).
func (ir *Ironic) Pid() int {
	if ir == nil || ir.proc == nil || ir.proc.cmd == nil {
		return 0
	}
	return ir.proc.cmd.Process.Pid
}

// Stop ends the Ironic (SIGTERM; its worker ends with it), its proxy and
// file server, and removes its folder unless Keep was called.
func (ir *Ironic) Stop() error {
	if ir == nil {
		return nil
	}
	ir.halt()
	if ir.keep {
		fmt.Fprintf(os.Stderr, "lab: Ironic %s files kept in %s\n", ir.Name, ir.Dir)
		return nil
	}
	if err := os.RemoveAll(ir.Dir); err != nil {
		return fmt.Errorf("removing Ironic folder %s: %w", ir.Dir, err)
	}
	return nil
}

// halt ends the Ironic, its proxy and file server, and keeps its folder.
func (ir *Ironic) halt() {
	if ir.proc != nil {
		ir.proc.stop(10 * time.Second)
	}
	ir.proxy.Stop()
	if ir.http != nil {
		_ = ir.http.Close()
	}
}

// decodeJSON decodes a response body into out (when out is not nil).
func decodeJSON(resp *http.Response, out any) error {
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding %s %s: %w", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}

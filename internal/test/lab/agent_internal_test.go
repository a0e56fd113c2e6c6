package lab

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The stand-in agent's answers have the shapes Ironic's agent_base.py and
// agent.py read.
func TestAgentAnswers(t *testing.T) {
	raw := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return b
	}
	res, ok := agentAnswer("deploy.get_deploy_steps", map[string]json.RawMessage{"node": raw(map[string]any{}), "ports": raw([]any{})})
	require.True(t, ok)
	var steps struct {
		DeploySteps     map[string][]map[string]any `json:"deploy_steps"`
		HardwareManager map[string]string           `json:"hardware_manager_version"`
	}
	require.NoError(t, json.Unmarshal(raw(res), &steps))
	require.NotEmpty(t, steps.HardwareManager)
	for _, list := range steps.DeploySteps {
		for _, s := range list {
			for _, k := range []string{"interface", "step", "priority"} {
				require.Contains(t, s, k, "Ironic refuses a step without %s", k)
			}
		}
	}

	step := map[string]any{"interface": "deploy", "step": "write_image", "args": map[string]any{"image_info": map[string]any{"id": "disk.img"}}}
	res, ok = agentAnswer("deploy.execute_deploy_step", map[string]json.RawMessage{"step": raw(step)})
	require.True(t, ok)
	var done struct {
		Step   map[string]any `json:"deploy_step"`
		Result string         `json:"deploy_result"`
	}
	require.NoError(t, json.Unmarshal(raw(res), &done))
	require.Equal(t, "write_image", done.Step["step"], "Ironic matches the finished step by interface and name")
	require.Equal(t, "deploy", done.Step["interface"])
	require.Contains(t, done.Result, "disk.img")

	res, ok = agentAnswer("standby.get_partition_uuids", nil)
	require.True(t, ok)
	require.Equal(t, "{}", string(raw(res)), "a whole-disk image has no partitions")

	res, ok = agentAnswer("log.collect_system_logs", nil)
	require.True(t, ok)
	require.NotEmpty(t, res.(map[string]any)["system_logs"])

	for _, name := range []string{"standby.power_off", "standby.sync", "image.install_bootloader"} {
		_, ok = agentAnswer(name, nil)
		require.True(t, ok, name)
	}
	_, ok = agentAnswer("system.lockdown", nil)
	require.False(t, ok, "a command the stand-in does not have is refused, as IPA refuses unknown ones")
}

func TestAgentPowerAction(t *testing.T) {
	for in, want := range map[string]string{
		"On": "on", "ForceOn": "on", "ForceRestart": "restart", "GracefulRestart": "restart", "PowerCycle": "restart",
		"ForceOff": "off", "GracefulShutdown": "off", "Nmi": "", "": "",
	} {
		require.Equal(t, want, powerAction(in), in)
	}
	require.Equal(t, 2*time.Second, heartbeatInterval(300))
	require.Equal(t, time.Second, heartbeatInterval(10))
	require.Equal(t, 500*time.Millisecond, heartbeatInterval(5))
	require.Equal(t, 500*time.Millisecond, heartbeatInterval(0))
}

// The wiring, against a fake emulator and a fake Ironic API (pure protocol,
// no processes): an Ironic's network-boot power-on through its proxy starts
// an agent that looks its node up and heartbeats with its callback URL;
// commands need the token; power_off powers the system off through the
// emulator as the agent, which then stops.
func TestAgentLifecycle(t *testing.T) {
	const uuid, mac = "11111111-2222-4333-8444-555555555555", "02:00:00:00:00:01"
	var mu sync.Mutex
	power, boot := "Off", "Pxe"
	var resets []string
	emu := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/redfish/v1/Systems/"+uuid:
			_ = json.NewEncoder(w).Encode(map[string]any{"PowerState": power, "Boot": map[string]any{"BootSourceOverrideTarget": boot}})
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Actions/ComputerSystem.Reset"):
			var b struct{ ResetType string }
			_ = json.NewDecoder(r.Body).Decode(&b)
			resets = append(resets, b.ResetType)
			power = map[bool]string{true: "Off", false: "On"}[powerAction(b.ResetType) == "off"]
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	defer emu.Close()
	callback := make(chan string, 100)
	ironic := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/lookup" && r.URL.Query().Get("addresses") == mac:
			_ = json.NewEncoder(w).Encode(map[string]any{"node": map[string]any{"uuid": "node-1"}, "config": map[string]any{"agent_token": "tok", "heartbeat_timeout": 5}})
		case r.URL.Path == "/v1/heartbeat/node-1" && r.Method == http.MethodPost:
			var b map[string]string
			_ = json.NewDecoder(r.Body).Decode(&b)
			if b["agent_token"] != "tok" || b["agent_version"] != AgentVersion {
				http.Error(w, "bad heartbeat", http.StatusBadRequest)
				return
			}
			callback <- b["callback_url"]
			w.WriteHeader(http.StatusAccepted)
		default:
			http.NotFound(w, r)
		}
	}))
	defer ironic.Close()

	rec := NewBMCRecorder(strings.TrimPrefix(emu.URL, "http://"), map[string]string{uuid: "host-0"})
	rec.agents = newAgents(emu.URL, []FakeSystem{{UUID: uuid, Name: "host-0", MAC: mac}}, rec)
	defer rec.agents.close()
	p, err := rec.Proxy("bootstrap", ironic.URL)
	require.NoError(t, err)
	defer p.Stop()
	proxyURL, err := url.Parse(p.URL)
	require.NoError(t, err)
	viaProxy := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	resp, err := viaProxy.Post(emu.URL+"/redfish/v1/Systems/"+uuid+"/Actions/ComputerSystem.Reset", "application/json", strings.NewReader(`{"ResetType":"On"}`))
	require.NoError(t, err)
	resp.Body.Close()

	var agentURL string
	select {
	case agentURL = <-callback:
	case <-time.After(10 * time.Second):
		t.Fatalf("no heartbeat; calls: %v", rec.AgentCalls())
	}
	command := func(token, name string) (int, map[string]any) {
		resp, err := http.Post(agentURL+"/v1/commands/?wait=true&agent_token="+token, "application/json", strings.NewReader(`{"name":"`+name+`","params":{}}`))
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out
	}
	code, _ := command("wrong", "deploy.get_deploy_steps")
	require.Equal(t, http.StatusUnauthorized, code)
	code, out := command("tok", "deploy.get_deploy_steps")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "get_deploy_steps", out["command_name"])
	require.Equal(t, "SUCCEEDED", out["command_status"])
	require.Contains(t, out, "command_error")
	code, out = command("tok", "system.lockdown")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, out["faultstring"], "Unknown command")
	code, _ = command("tok", "standby.power_off")
	require.Equal(t, http.StatusOK, code)

	require.Eventually(t, func() bool {
		return len(rec.Writes(func(w BMCWrite) bool { return w.Ironic == AgentWriter })) == 1
	}, 10*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		calls := rec.AgentCalls()
		return len(calls) > 0 && calls[len(calls)-1].Kind == AgentStop
	}, 10*time.Second, 50*time.Millisecond)
	mu.Lock()
	require.Equal(t, []string{"On", "ForceOff"}, resets)
	mu.Unlock()
	require.Len(t, rec.Writes(By("bootstrap", "host-0")), 1, "the Ironic's own write is its power-on only")
	calls := rec.AgentCalls()
	require.Equal(t, AgentStart, calls[0].Kind)
	require.Equal(t, "host-0", calls[0].Host)
	require.Contains(t, calls[len(calls)-1].Detail, "ForceOff by agent")

	// Booting from disk starts no agent.
	mu.Lock()
	boot = "Hdd"
	mu.Unlock()
	n := len(rec.AgentCalls())
	resp, err = viaProxy.Post(emu.URL+"/redfish/v1/Systems/"+uuid+"/Actions/ComputerSystem.Reset", "application/json", strings.NewReader(`{"ResetType":"On"}`))
	require.NoError(t, err)
	resp.Body.Close()
	time.Sleep(300 * time.Millisecond)
	require.Len(t, rec.AgentCalls(), n)
}

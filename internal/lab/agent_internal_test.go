package lab

import (
	"encoding/json"
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

package lab

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The configuration keeps Ironic standalone and on loopback.
func TestIronicConfig(t *testing.T) {
	cfg := ironicConfig(ironicParams{
		Name: "target", Dir: "/tmp/x", APIPort: 6385, HTTPURL: "http://127.0.0.1:8088", HTTPRoot: "/tmp/x/httpboot",
		HardwareTypes: []string{"redfish", "fake-hardware"}, Interfaces: ironicInterfaces,
	})
	for _, line := range []string{
		"host = ironic-target", "auth_strategy = noauth", "rpc_transport = none",
		"enabled_hardware_types = redfish,fake-hardware",
		"enabled_boot_interfaces = ipxe,redfish-virtual-media,fake",
		"enabled_deploy_interfaces = direct,ramdisk,custom-agent,fake",
		"enabled_inspect_interfaces = agent,no-inspect,fake",
		"host_ip = 127.0.0.1", "port = 6385",
		"connection = sqlite:////tmp/x/ironic.db",
		"dhcp_provider = none", "automated_clean = false",
		"http_url = http://127.0.0.1:8088", "http_root = /tmp/x/httpboot",
		"endpoint_override = http://127.0.0.1:6385",
		// A direct deploy with the stand-in agent takes seconds.
		"ramdisk_heartbeat_timeout = 10", "fast_track = false",
		"post_deploy_get_power_state_retry_interval = 1", "deploy_logs_local_path = /tmp/x/deploy-logs", "require_tls = false",
	} {
		require.Contains(t, strings.Split(cfg, "\n"), line)
	}
}

// hack/ironic.sh installs exactly the versions the lab looks for.
func TestIronicVersionsPinned(t *testing.T) {
	script, err := os.ReadFile("../../../hack/ironic.sh")
	require.NoError(t, err)
	require.Contains(t, string(script), `IRONIC_VERSION="${IRONIC_VERSION:-`+IronicVersion+`}"`)
	require.Contains(t, string(script), `SUSHY_TOOLS_VERSION="${SUSHY_TOOLS_VERSION:-`+SushyToolsVersion+`}"`)
	constraints, err := os.ReadFile("../../../hack/ironic-constraints.txt")
	require.NoError(t, err)
	lines := strings.Split(string(constraints), "\n")
	require.Contains(t, lines, "ironic=="+IronicVersion)
	require.Contains(t, lines, "sushy-tools=="+SushyToolsVersion)
}

package lab

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassifyBMCWrite(t *testing.T) {
	const sys = "0b3e0f9c-2d0a-4c0e-9b51-7b8f2a9f6c11"
	for _, tc := range []struct {
		method, path, body    string
		kind, system, summary string
	}{
		{"POST", "/redfish/v1/Systems/" + sys + "/Actions/ComputerSystem.Reset", `{"ResetType": "On"}`, BMCPower, sys, `{"ResetType":"On"}`},
		{"PATCH", "/redfish/v1/Systems/" + sys, `{"Boot": {"BootSourceOverrideTarget": "Pxe"}}`, BMCBoot, sys, `{"Boot":{"BootSourceOverrideTarget":"Pxe"}}`},
		{"POST", "/redfish/v1/Managers/" + sys + "/VirtualMedia/Cd/Actions/VirtualMedia.InsertMedia", `{"Image": "http://127.0.0.1:1/boot.iso"}`, BMCVMediaInsert, sys, `{"Image":"http://127.0.0.1:1/boot.iso"}`},
		{"POST", "/redfish/v1/Systems/" + sys + "/VirtualMedia/Cd/Actions/VirtualMedia.EjectMedia", `{}`, BMCVMediaEject, sys, `{}`},
		{"PATCH", "/redfish/v1/Managers/" + sys + "/VirtualMedia/Cd", `{"Image": null, "Inserted": false}`, BMCVMediaEject, sys, `{"Image":null,"Inserted":false}`},
		{"PATCH", "/redfish/v1/Managers/" + sys + "/VirtualMedia/Cd", `{"Image": "http://x/y.iso"}`, BMCVMediaInsert, sys, `{"Image":"http://x/y.iso"}`},
		{"PATCH", "/redfish/v1/Systems/" + sys + "/Bios/Settings", `{"Attributes": {}}`, BMCBIOS, sys, `{"Attributes":{}}`},
		{"POST", "/redfish/v1/SessionService/Sessions", `{"UserName": "admin", "Password": "secret"}`, BMCSession, "", `{"UserName":"admin","Password":"***"}`},
		{"POST", "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate", `not json`, BMCOther, "", `not json`},
	} {
		kind, system, summary := classifyBMCWrite(tc.method, tc.path, []byte(tc.body))
		require.Equal(t, tc.kind, kind, tc.path)
		require.Equal(t, tc.system, system, tc.path)
		require.Equal(t, tc.summary, summary, tc.path)
	}
	_, _, long := classifyBMCWrite("POST", "/x", []byte(strings.Repeat("a", 300)))
	require.Len(t, long, 203)
}

func TestAPIVersionAtLeast(t *testing.T) {
	require.True(t, APIVersionAtLeast("1.115", "1.89"))
	require.True(t, APIVersionAtLeast("1.89", "1.89"))
	require.False(t, APIVersionAtLeast("1.82", "1.89"))
	require.True(t, APIVersionAtLeast("2.0", "1.89"))
	require.False(t, APIVersionAtLeast("latest", "1.89"))
}

// The proxy records writes to the BMC under its Ironic's name, forwards
// reads unrecorded, and refuses anything not for loopback without dialing.
func TestBMCProxyRecords(t *testing.T) {
	var got []string
	bmc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+string(b))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer bmc.Close()
	host := strings.TrimPrefix(bmc.URL, "http://")
	const sys = "11111111-2222-4333-8444-555555555555"
	rec := NewBMCRecorder(host, map[string]string{sys: "host-0"})
	p, err := rec.Proxy("bootstrap", "")
	require.NoError(t, err)
	defer p.Stop()
	pu, err := url.Parse(p.URL)
	require.NoError(t, err)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}

	resp, err := c.Post(bmc.URL+"/redfish/v1/Systems/"+sys+"/Actions/ComputerSystem.Reset", "application/json", strings.NewReader(`{"ResetType":"ForceOff"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, err = c.Get(bmc.URL + "/redfish/v1/Systems/" + sys)
	require.NoError(t, err)
	resp.Body.Close()
	resp, err = c.Post(bmc.URL+"/redfish/v1/SessionService/Sessions", "application/json", strings.NewReader(`{"UserName":"u","Password":"p"}`))
	require.NoError(t, err)
	resp.Body.Close()
	resp, err = c.Get("http://192.0.2.1:8000/redfish/v1")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	require.Equal(t, []string{
		"POST /redfish/v1/Systems/" + sys + "/Actions/ComputerSystem.Reset {\"ResetType\":\"ForceOff\"}",
		"GET /redfish/v1/Systems/" + sys + " ",
		`POST /redfish/v1/SessionService/Sessions {"UserName":"u","Password":"p"}`,
	}, got, "the BMC saw the write with its body, and the read")
	require.Len(t, rec.Writes(nil), 2, "the login is recorded")
	require.Len(t, rec.Writes(By("bootstrap", "")), 1, "but is no server change")
	w := rec.Writes(By("bootstrap", "host-0"))
	require.Len(t, w, 1)
	require.Equal(t, BMCPower, w[0].Kind)
	require.Equal(t, `{"ResetType":"ForceOff"}`, w[0].Summary)
	require.Equal(t, http.StatusNoContent, w[0].Status)
	require.Empty(t, rec.Writes(By("target", "")))
	require.Equal(t, []string{"bootstrap GET http://192.0.2.1:8000/redfish/v1"}, rec.Refused())
}

package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pivotcheck/pivotcheck/internal/ironic"
)

// IronicClient is the few calls of Ironic's REST API the lab needs (noauth).
type IronicClient struct {
	// URL is the API root, without /v1.
	URL string
	// Version is the API microversion asked for ("latest" when empty).
	Version string
}

// ironicHTTP never uses a proxy: the test talks to the Ironic directly.
var ironicHTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}

// Do sends in (JSON, when not nil) to path and decodes the answer into out
// (when not nil); an answer that is not 2xx is an error with Ironic's
// message.
func (c *IronicClient) Do(ctx context.Context, method, path string, in, out any) error {
	_, err := c.do(ctx, method, path, in, out)
	return err
}

func (c *IronicClient) do(ctx context.Context, method, path string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("Ironic %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, body)
	if err != nil {
		return nil, fmt.Errorf("Ironic %s %s: %w", method, path, err)
	}
	v := c.Version
	if v == "" {
		v = "latest"
	}
	req.Header.Set("X-OpenStack-Ironic-API-Version", v)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := ironicHTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("Ironic %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.Header, fmt.Errorf("Ironic %s %s: %s: %s", method, path, resp.Status, ironic.ErrorMessage(raw))
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return resp.Header, nil
	}
	return resp.Header, decodeJSON(resp, out)
}

// MaxAPIVersion is the highest API microversion the Ironic serves.
func (c *IronicClient) MaxAPIVersion(ctx context.Context) (string, error) {
	h, err := c.do(ctx, http.MethodGet, "/v1", nil, nil)
	if err != nil {
		return "", err
	}
	v := h.Get("X-OpenStack-Ironic-API-Maximum-Version")
	if v == "" {
		return "", fmt.Errorf("Ironic GET /v1: no X-OpenStack-Ironic-API-Maximum-Version header")
	}
	return v, nil
}

// APIVersionAtLeast reports whether microversion v ("1.115") is at least
// min ("1.89"); a malformed one is never.
func APIVersionAtLeast(v, minimum string) bool {
	parse := func(s string) (int, int, bool) {
		a, b, ok := strings.Cut(s, ".")
		if !ok {
			return 0, 0, false
		}
		x, err1 := strconv.Atoi(a)
		y, err2 := strconv.Atoi(b)
		return x, y, err1 == nil && err2 == nil
	}
	vx, vy, ok1 := parse(v)
	mx, my, ok2 := parse(minimum)
	if !ok1 || !ok2 {
		return false
	}
	return vx > mx || (vx == mx && vy >= my)
}

// IronicNode is the part of a node the lab reads.
type IronicNode struct {
	UUID                 string         `json:"uuid"`
	Name                 string         `json:"name"`
	Driver               string         `json:"driver"`
	ProvisionState       string         `json:"provision_state"`
	TargetProvisionState *string        `json:"target_provision_state"`
	PowerState           *string        `json:"power_state"`
	TargetPowerState     *string        `json:"target_power_state"`
	LastError            *string        `json:"last_error"`
	InstanceInfo         map[string]any `json:"instance_info"`
	DeployInterface      string         `json:"deploy_interface"`
	BootInterface        string         `json:"boot_interface"`
}

func (n IronicNode) String() string {
	s := func(p *string) string {
		if p == nil {
			return "-"
		}
		return *p
	}
	return fmt.Sprintf("node %s (%s): provision %s (target %s), power %s (target %s), last error %s",
		n.Name, n.UUID, n.ProvisionState, s(n.TargetProvisionState), s(n.PowerState), s(n.TargetPowerState), s(n.LastError))
}

// NodeProgress returns each node's String() by node name. It changes
// whenever a node's provision or power state, their targets or its last
// error change: what the lab's build nudger (fixture.Nudge) waits for.
func (c *IronicClient) NodeProgress(ctx context.Context) (map[string]string, error) {
	var list struct {
		Nodes []IronicNode `json:"nodes"`
	}
	if err := c.Do(ctx, http.MethodGet, "/v1/nodes?fields=uuid,name,provision_state,target_provision_state,power_state,target_power_state,last_error", nil, &list); err != nil {
		return nil, fmt.Errorf("listing the nodes of Ironic %s: %w", c.URL, err)
	}
	out := make(map[string]string, len(list.Nodes))
	for _, n := range list.Nodes {
		out[n.Name] = n.String()
	}
	return out, nil
}

// Power is the node's power state ("" when unknown).
func (n IronicNode) Power() string {
	if n.PowerState == nil {
		return ""
	}
	return *n.PowerState
}

// Idle reports whether no provision or power change is under way.
func (n IronicNode) Idle() bool {
	return (n.TargetProvisionState == nil || *n.TargetProvisionState == "") && (n.TargetPowerState == nil || *n.TargetPowerState == "")
}

// CreateNode enrolls a node (fields as the API takes them: name, driver,
// driver_info, interfaces...).
func (c *IronicClient) CreateNode(ctx context.Context, fields map[string]any) (IronicNode, error) {
	var n IronicNode
	err := c.Do(ctx, http.MethodPost, "/v1/nodes", fields, &n)
	return n, err
}

// Node reads a node by name or UUID.
func (c *IronicClient) Node(ctx context.Context, node string) (IronicNode, error) {
	var n IronicNode
	err := c.Do(ctx, http.MethodGet, "/v1/nodes/"+node, nil, &n)
	return n, err
}

// Provision asks for a provision state change ("manage", "adopt",
// "provide", "active"...), with extra fields of the request.
func (c *IronicClient) Provision(ctx context.Context, node, target string, extra map[string]any) error {
	body := map[string]any{"target": target}
	maps.Copy(body, extra)
	return c.Do(ctx, http.MethodPut, "/v1/nodes/"+node+"/states/provision", body, nil)
}

// Power asks for "power on", "power off" or "rebooting".
func (c *IronicClient) Power(ctx context.Context, node, target string) error {
	return c.Do(ctx, http.MethodPut, "/v1/nodes/"+node+"/states/power", map[string]any{"target": target}, nil)
}

// Patch applies a JSON patch to a node.
func (c *IronicClient) Patch(ctx context.Context, node string, ops []map[string]any) error {
	return c.Do(ctx, http.MethodPatch, "/v1/nodes/"+node, ops, nil)
}

// WaitNode polls a node until done holds, ctx ends or timeout passes; the
// error shows the node as last read.
func (c *IronicClient) WaitNode(ctx context.Context, node string, timeout time.Duration, done func(IronicNode) bool) (IronicNode, error) {
	var n IronicNode
	var readErr error
	// Every read costs Ironic CPU; twice a second is soon enough.
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		n, readErr = c.Node(ctx, node)
		return readErr == nil && done(n), nil
	})
	switch {
	case err == nil:
		return n, nil
	case readErr != nil:
		return n, fmt.Errorf("waiting for Ironic node %s: %w", node, readErr)
	case wait.Interrupted(err) && ctx.Err() == nil:
		return n, fmt.Errorf("waiting for Ironic node %s: not within %s: %s", node, timeout, n)
	default:
		return n, fmt.Errorf("waiting for Ironic node %s: %w", node, err)
	}
}

// IronicEvent is one entry of a node's history.
type IronicEvent struct {
	CreatedAt string `json:"created_at"`
	Event     string `json:"event"`
	EventType string `json:"event_type"`
	Severity  string `json:"severity"`
	Conductor string `json:"conductor"`
}

// History reads a node's history (API >= 1.78).
func (c *IronicClient) History(ctx context.Context, node string) ([]IronicEvent, error) {
	var h struct {
		History []IronicEvent `json:"history"`
	}
	if err := c.Do(ctx, http.MethodGet, "/v1/nodes/"+node+"/history?detail=true", nil, &h); err != nil {
		return nil, err
	}
	return h.History, nil
}

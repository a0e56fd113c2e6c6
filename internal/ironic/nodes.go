package ironic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Reading nodes from the target's Ironic: the evidence `pivotcheck move
// --wait-for-hosts --ironic-url` uses to count a host adopted.

// NodeAPIVersion is the API microversion every node read asks for: node
// history (GET /v1/nodes/{node}/history) exists from 1.78 on, and the
// fields read here all exist at 1.78. An Ironic older than that answers 406.
const NodeAPIVersion = "1.78"

// RequestTimeout bounds one request to the target's Ironic.
const RequestTimeout = 10 * time.Second

// maxBody bounds what is read of one answer (a node list of a few thousand
// nodes with the fields asked for fits easily).
const maxBody = 64 << 20

// NodeName is the name BMO gives a host's Ironic node: namespace~name
// (ironicNodeName in BMO's pkg/provisioner/ironic/ironic.go).
func NodeName(namespace, host string) string { return namespace + "~" + host }

// Node is the part of an Ironic node the adoption evidence reads.
type Node struct {
	Name, UUID           string
	ProvisionState       string
	TargetProvisionState string
	LastError            string
	DeployInterface      string
	// DriverInternalInfo and InstanceInfo keep their values raw: only
	// the presence of some keys matters.
	DriverInternalInfo map[string]json.RawMessage
	InstanceInfo       map[string]json.RawMessage
}

// Idle reports whether no provision state change is under way.
func (n Node) Idle() bool { return n.TargetProvisionState == "" }

// Event is one entry of a node's history.
type Event struct {
	CreatedAt time.Time // zero when Ironic gave none
	Severity  string    // INFO or ERROR
	EventType string
	Event     string
}

// nodeFields are the fields asked for in a node list.
var nodeFields = []string{"uuid", "name", "provision_state", "target_provision_state", "last_error", "deploy_interface", "driver_internal_info", "instance_info"}

// DecodeNode decodes one node object; what it names in an error is the
// node (as far as it is known) and the field.
func DecodeNode(raw []byte) (Node, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Node{}, fmt.Errorf("node: not a JSON object: %w", err)
	}
	return nodeFrom(m)
}

func nodeFrom(m map[string]json.RawMessage) (Node, error) {
	var n Node
	var errs []error
	str := func(field string, into *string) {
		if err := optString(m[field], into); err != nil {
			errs = append(errs, fmt.Errorf("field %s: %w", field, err))
		}
	}
	str("name", &n.Name)
	str("uuid", &n.UUID)
	str("provision_state", &n.ProvisionState)
	str("target_provision_state", &n.TargetProvisionState)
	str("last_error", &n.LastError)
	str("deploy_interface", &n.DeployInterface)
	obj := func(field string, into *map[string]json.RawMessage) {
		if err := optObject(m[field], into); err != nil {
			errs = append(errs, fmt.Errorf("field %s: %w", field, err))
		}
	}
	obj("driver_internal_info", &n.DriverInternalInfo)
	obj("instance_info", &n.InstanceInfo)
	if len(errs) == 0 && n.Name == "" && n.UUID == "" {
		errs = append(errs, errors.New("fields name and uuid: both missing"))
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("node %s: %w", nodeLabel(n), errors.Join(errs...))
	}
	return n, nil
}

func nodeLabel(n Node) string {
	switch {
	case n.Name != "":
		return n.Name
	case n.UUID != "":
		return n.UUID
	}
	return "(no name, no uuid)"
}

// optString decodes a JSON string or null (""); anything else is an error.
func optString(raw json.RawMessage, into *string) error {
	if len(raw) == 0 || string(raw) == "null" {
		*into = ""
		return nil
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("want a string, got %s", preview(raw))
	}
	return nil
}

// optObject decodes a JSON object or null (nil); anything else is an error.
func optObject(raw json.RawMessage, into *map[string]json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		*into = nil
		return nil
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("want an object, got %s", preview(raw))
	}
	return nil
}

func preview(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

// DecodeNodeList decodes the answer of GET /v1/nodes: its nodes and the
// URL of the next page ("" on the last). A node that does not decode is an
// error naming it.
func DecodeNodeList(raw []byte) ([]Node, string, error) {
	var page struct {
		Nodes []json.RawMessage `json:"nodes"`
		Next  json.RawMessage   `json:"next"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return nil, "", fmt.Errorf("node list: field nodes: %w", err)
	}
	var next string
	if err := optString(page.Next, &next); err != nil {
		return nil, "", fmt.Errorf("node list: field next: %w", err)
	}
	out := make([]Node, 0, len(page.Nodes))
	for i, r := range page.Nodes {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(r, &m); err != nil {
			return nil, "", fmt.Errorf("node list: nodes[%d]: want an object, got %s", i, preview(r))
		}
		n, err := nodeFrom(m)
		if err != nil {
			return nil, "", err
		}
		out = append(out, n)
	}
	return out, next, nil
}

// DecodeHistory decodes the answer of GET /v1/nodes/{node}/history; errors
// name node and the entry's field.
func DecodeHistory(node string, raw []byte) ([]Event, error) {
	var h struct {
		History []map[string]json.RawMessage `json:"history"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("history of node %s: field history: %w", node, err)
	}
	out := make([]Event, 0, len(h.History))
	for i, m := range h.History {
		var e Event
		var created string
		for _, f := range []struct {
			name string
			into *string
		}{{"created_at", &created}, {"severity", &e.Severity}, {"event_type", &e.EventType}, {"event", &e.Event}} {
			if err := optString(m[f.name], f.into); err != nil {
				return nil, fmt.Errorf("history of node %s: history[%d].%s: %w", node, i, f.name, err)
			}
		}
		if created != "" {
			t, err := parseIronicTime(created)
			if err != nil {
				return nil, fmt.Errorf("history of node %s: history[%d].created_at: %q is not a time", node, i, created)
			}
			e.CreatedAt = t
		}
		out = append(out, e)
	}
	return out, nil
}

// parseIronicTime reads Ironic's timestamps: ISO 8601 with an offset
// ("2026-12-06T09:58:11.980341+00:00"), or without one (UTC).
func parseIronicTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC)
}

// Client reads nodes from one Ironic API. It sends no credentials: an
// Ironic that enforces authentication answers ErrUnauthorized.
type Client struct {
	// Endpoint is the Ironic API as --ironic-url or BMO's IRONIC_ENDPOINT
	// spell it (with or without /v1 or /v1/nodes).
	Endpoint string
	// HTTP defaults to the probe's client (no redirects; the certificate
	// is not verified: Metal3's Ironic is usually self-signed).
	HTTP *http.Client
	// Timeout bounds each request (default RequestTimeout).
	Timeout time.Duration
}

// ErrUnauthorized: the Ironic answered 401 or 403 (authentication enforced).
var ErrUnauthorized = errors.New("the Ironic API requires authentication")

// ErrVersion: the Ironic does not serve NodeAPIVersion (406).
var ErrVersion = fmt.Errorf("the Ironic API does not serve microversion %s (node history)", NodeAPIVersion)

// Nodes lists every node with the fields the evidence reads, following
// Ironic's pages.
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	base, ok := NodesURL(c.Endpoint)
	if !ok {
		return nil, fmt.Errorf("%q is not an http(s) URL", c.Endpoint)
	}
	u := base + "?fields=" + url.QueryEscape(strings.Join(nodeFields, ","))
	var all []Node
	for range 1000 {
		raw, err := c.get(ctx, u)
		if err != nil {
			return nil, err
		}
		nodes, next, err := DecodeNodeList(raw)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", u, err)
		}
		all = append(all, nodes...)
		if next == "" || len(nodes) == 0 {
			return all, nil
		}
		// Ironic's next link carries the marker and the fields; keep
		// talking to the address we were given (the link names the
		// API's own idea of its host).
		nu, err := url.Parse(next)
		if err != nil {
			return nil, fmt.Errorf("GET %s: field next: %q is not a URL", u, next)
		}
		bu, _ := url.Parse(base)
		bu.RawQuery = nu.RawQuery
		u = bu.String()
	}
	return nil, fmt.Errorf("GET %s: more than 1000 pages of nodes", base)
}

// History reads node's history (name or UUID).
func (c *Client) History(ctx context.Context, node string) ([]Event, error) {
	base, ok := NodesURL(c.Endpoint)
	if !ok {
		return nil, fmt.Errorf("%q is not an http(s) URL", c.Endpoint)
	}
	raw, err := c.get(ctx, base+"/"+url.PathEscape(node)+"/history?detail=true")
	if err != nil {
		return nil, fmt.Errorf("reading the history of Ironic node %s: %w", node, err)
	}
	return DecodeHistory(node, raw)
}

func (c *Client) get(ctx context.Context, u string) ([]byte, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = RequestTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	req.Header.Set("X-OpenStack-Ironic-API-Version", NodeAPIVersion)
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = probeClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the answer: %w", u, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("GET %s: HTTP %d: %w", u, resp.StatusCode, ErrUnauthorized)
	case resp.StatusCode == http.StatusNotAcceptable:
		return nil, fmt.Errorf("GET %s: HTTP 406 (%s): %w", u, ErrorMessage(raw), ErrVersion)
	case resp.StatusCode/100 != 2:
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", u, resp.StatusCode, ErrorMessage(raw))
	}
	return raw, nil
}

// ErrorMessage extracts Ironic's error message (a JSON string holding JSON
// with a faultstring, inside "error_message"), or the body itself, short.
func ErrorMessage(raw []byte) string {
	var e struct {
		ErrorMessage string `json:"error_message"`
	}
	if json.Unmarshal(raw, &e) == nil && e.ErrorMessage != "" {
		var inner struct {
			Faultstring string `json:"faultstring"`
		}
		if json.Unmarshal([]byte(e.ErrorMessage), &inner) == nil && inner.Faultstring != "" {
			return inner.Faultstring
		}
		return e.ErrorMessage
	}
	s := strings.TrimSpace(string(raw))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

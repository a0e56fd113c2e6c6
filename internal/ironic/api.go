package ironic

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// APIProbeTimeout bounds a check of the target's Ironic API (--ironic-url).
const APIProbeTimeout = 10 * time.Second

// Problem says what is wrong with an Ironic API that must be up: "" when
// it answered 401 (auth enforced, Metal3 CI's post-move check) or 200 (auth
// disabled).
func (p ProbeResult) Problem() string {
	switch {
	case p.Err != nil:
		return fmt.Sprintf("Ironic API %s did not answer: %v", p.URL, p.Err)
	case p.Status != http.StatusOK && p.Status != http.StatusUnauthorized:
		return fmt.Sprintf("Ironic API %s answered HTTP %d, expected 401 (auth enforced) or 200", p.URL, p.Status)
	}
	return ""
}

// ProbeAPI checks the Ironic API at url (which may end in /v1 or /v1/nodes)
// with one GET of /v1/nodes.
func ProbeAPI(ctx context.Context, url string) *ProbeResult {
	r := Probe(ctx, url, APIProbeTimeout)
	return &r
}

package scenario

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pivotcheck/pivotcheck/internal/test/lab"
)

// NodePollInterval is how often a NodePoll reads an Ironic's nodes: often
// enough to see a short state (adopting lasts about a second). A read costs
// Ironic about 7.5 ms of CPU, yet reading every 500 ms did not lower the
// Ironic CPU of a whole make test (1,143 CPU-s before, 1,190 after): most of
// it is Ironic's own Redfish calls (see docs/lab.md), so the finer watch stays.
const NodePollInterval = 100 * time.Millisecond

// NodePoll records, in the order seen, the provision states of an Ironic's
// nodes whose names start with a prefix. A poll can miss a short state,
// never reorder them. While the Ironic is down there is nothing to read.
type NodePoll struct {
	mu     sync.Mutex
	seen   map[string][]string
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// PollNodes starts a NodePoll of the Ironic c serves; prefix "" keeps
// every node.
func PollNodes(ctx context.Context, c *lab.IronicClient, prefix string) *NodePoll {
	ctx, cancel := context.WithCancel(ctx)
	p := &NodePoll{seen: map[string][]string{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(NodePollInterval)
		defer t.Stop()
		for {
			p.read(ctx, c, prefix)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *NodePoll) read(ctx context.Context, c *lab.IronicClient, prefix string) {
	var list struct {
		Nodes []lab.IronicNode `json:"nodes"`
	}
	if err := c.Do(ctx, http.MethodGet, "/v1/nodes?fields=name,provision_state", nil, &list); err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range list.Nodes {
		if !strings.HasPrefix(n.Name, prefix) {
			continue
		}
		if s := p.seen[n.Name]; len(s) == 0 || s[len(s)-1] != n.ProvisionState {
			p.seen[n.Name] = append(s, n.ProvisionState)
		}
	}
}

// Stop ends the poll; it may be called more than once.
func (p *NodePoll) Stop() {
	p.once.Do(func() {
		p.cancel()
		<-p.done
	})
}

// States returns each node's provision states so far, in the order seen.
func (p *NodePoll) States() map[string][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string][]string, len(p.seen))
	for k, v := range p.seen {
		out[k] = slices.Clone(v)
	}
	return out
}

// Nodes returns the names of the nodes seen so far, sorted.
func (p *NodePoll) Nodes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Sorted(maps.Keys(p.seen))
}

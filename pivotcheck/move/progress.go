package move

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/pivotcheck/pivotcheck/internal/mover"
)

// progress turns clusterctl's events into one updating line on a terminal
// and throttled plain lines otherwise (a log file must not get 1,000 lines
// per move).
type progress struct {
	mu       sync.Mutex
	out      io.Writer
	terminal bool
	total    int // objects per pass; a move makes two passes (create, delete)
	start    time.Time
	phase    string
	created  int
	deleted  int
	saved    int
	last     time.Time
	lastLen  int
	now      func() time.Time
	// seen counts each object once per action: clusterctl logs an object
	// again on every retry of its write.
	seen map[mover.Event]bool
}

func newProgress(out io.Writer, terminal bool, total int) *progress {
	return &progress{out: out, terminal: terminal, total: total, start: time.Now(), now: time.Now, seen: map[mover.Event]bool{}}
}

func (p *progress) event(e mover.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Action != "" {
		k := mover.Event{Action: e.Action, Object: e.Object}
		if p.seen[k] {
			return
		}
		p.seen[k] = true
	}
	switch e.Action {
	case mover.Creating, mover.Restoring:
		p.created++
	case mover.Deleting:
		p.deleted++
	case mover.Saving:
		p.saved++
	case "":
		p.phase = e.Phase
		p.print(true)
		return
	}
	p.print(false)
}

// line renders the state: phase, done/total, elapsed and ETA.
func (p *progress) line() string {
	elapsed := p.now().Sub(p.start)
	done, total := p.created+p.deleted, 2*p.total
	if p.saved > 0 && p.created == 0 {
		done, total = p.saved, p.total
	}
	s := fmt.Sprintf("%s: %d/%d objects", p.phase, done, total)
	if p.total > 0 {
		s = fmt.Sprintf("%s (created %d, deleted %d of %d)", s, p.created, p.deleted, p.total)
	}
	s += fmt.Sprintf(", elapsed %s", elapsed.Round(100*time.Millisecond))
	if done > 0 && total > done {
		eta := time.Duration(float64(elapsed) / float64(done) * float64(total-done))
		s += fmt.Sprintf(", ETA %s", eta.Round(time.Second))
	}
	return s
}

func (p *progress) print(force bool) {
	now := p.now()
	if p.terminal {
		if !force && now.Sub(p.last) < 100*time.Millisecond {
			return
		}
		l := p.line()
		pad := ""
		if n := p.lastLen - len(l); n > 0 {
			pad = fmt.Sprintf("%*s", n, "")
		}
		fmt.Fprintf(p.out, "\r%s%s", l, pad)
		p.lastLen = len(l)
		p.last = now
		return
	}
	if !force && now.Sub(p.last) < 5*time.Second {
		return
	}
	fmt.Fprintln(p.out, p.line())
	p.last = now
}

// finish ends the updating line.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		fmt.Fprintf(p.out, "\r%s\n", p.line())
	} else {
		fmt.Fprintln(p.out, p.line())
	}
}

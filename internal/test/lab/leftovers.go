package lab

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"
)

// started is every process the lab started in this test process: the
// check that a test or the demo leaves nothing running reads it.
var started struct {
	mu    sync.Mutex
	procs []*process
}

func register(p *process) {
	started.mu.Lock()
	defer started.mu.Unlock()
	started.procs = append(started.procs, p)
}

// Leftovers waits up to timeout for every process the lab started in this
// test process to be gone, with every member of its process group (an
// Ironic's forked workers), and names those still running. A stopped
// lab's processes are gone by then; one that was never stopped is not.
func Leftovers(timeout time.Duration) []string {
	started.mu.Lock()
	procs := slices.Clone(started.procs)
	started.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for {
		var left []string
		for _, p := range procs {
			if what := p.running(); what != "" {
				left = append(left, what)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			slices.Sort(left)
			return left
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// CheckNoneLeft is what a lab test package's TestMain calls after its
// tests: an error naming every process still running, nil when none is.
func CheckNoneLeft(timeout time.Duration) error {
	if left := Leftovers(timeout); len(left) > 0 {
		return fmt.Errorf("lab: %d process(es) still running after the tests stopped everything: %v", len(left), left)
	}
	return nil
}

// running says what of p still runs: "" when nothing does.
func (p *process) running() string {
	if p.cmd == nil || p.cmd.Process == nil {
		return ""
	}
	pid := p.cmd.Process.Pid
	select {
	case <-p.done:
	default:
		return fmt.Sprintf("%s (pid %d)", p.name, pid)
	}
	if !p.group {
		return ""
	}
	// Signal 0 to the group: ESRCH once no member is left, zombies
	// included (an orphaned worker is reaped by init soon after it dies).
	if err := syscall.Kill(-pid, 0); err == nil || !errors.Is(err, syscall.ESRCH) {
		return fmt.Sprintf("%s's process group (pgid %d)", p.name, pid)
	}
	return ""
}

// Main is the TestMain body of a package whose tests start lab processes:
// it runs the tests, then fails the package if one of those processes
// outlived them. It returns the exit code.
func Main(m interface{ Run() int }) int {
	code := m.Run()
	if err := CheckNoneLeft(30 * time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	return code
}

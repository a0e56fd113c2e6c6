package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivotcheck/pivotcheck/internal/test/lab"
)

// Proc is one process the demo started (a descendant of its own process),
// told apart from a later process with the same pid by its start time.
type Proc struct {
	Pid   int
	Start uint64 // clock ticks after boot, /proc/<pid>/stat field 22
	Name  string // the program: argv[0]'s base, or the script a Python runs
}

func (p Proc) String() string { return fmt.Sprintf("%s (pid %d)", p.Name, p.Pid) }

// procTable reads every process's parent and start time from /proc.
func procTable() (map[int]Proc, map[int]int) {
	procs, parent := map[int]Proc{}, map[int]int{}
	for _, p := range lab.Procs(nil) {
		procs[p.Pid] = Proc{Pid: p.Pid, Start: p.Start, Name: progName(p.Pid)}
		parent[p.Pid] = p.PPid
	}
	return procs, parent
}

// statOf reads a process's parent pid and start time.
func statOf(pid int) (ppid int, start uint64, ok bool) {
	p, ok := lab.ReadProcStat(pid)
	return p.PPid, p.Start, ok
}

func progName(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(b) == 0 {
		return "?"
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	if prog, _, retitled := strings.Cut(args[0], ": "); retitled && !strings.Contains(prog, "/") {
		// Retitled by setproctitle, as Ironic's processes are:
		// "ironic: master process [...]".
		return prog
	}
	name := filepath.Base(args[0])
	if strings.HasPrefix(name, "python") && len(args) > 1 {
		for _, a := range args[1:] {
			if !strings.HasPrefix(a, "-") {
				return filepath.Base(a)
			}
		}
	}
	return name
}

// descendants lists the processes below pid now.
func descendants(pid int) []Proc {
	procs, parent := procTable()
	children := map[int][]int{}
	for p, pp := range parent {
		children[pp] = append(children[pp], p)
	}
	var out []Proc
	queue := slices.Clone(children[pid])
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, procs[p])
		queue = append(queue, children[p]...)
	}
	return out
}

// procSet collects the demo's processes at several moments of the story,
// so the end can check that every one of them is gone.
type procSet map[Proc]bool

// snapshot adds the demo's current descendants; the external commands it
// runs (kustomize, clusterctl, pivotcheck) have exited by then.
func (s procSet) snapshot() {
	for _, p := range descendants(os.Getpid()) {
		s[p] = true
	}
}

// alive returns the processes of s that still run (same pid, same start).
func (s procSet) alive() []Proc {
	var out []Proc
	for p := range s {
		if _, start, ok := statOf(p.Pid); ok && start == p.Start {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Proc) int { return a.Pid - b.Pid })
	return out
}

// waitGone waits up to timeout for every process of s to exit and returns
// those still running.
func (s procSet) waitGone(timeout time.Duration) []Proc {
	deadline := time.Now().Add(timeout)
	for {
		left := s.alive()
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// byName counts the processes per program, "kube-apiserver ×2, etcd ×2".
func (s procSet) byName() string {
	n := map[string]int{}
	for p := range s {
		n[p.Name]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, n[k]))
	}
	return strings.Join(parts, ", ")
}

func (s procSet) list() []Proc {
	out := slices.Collect(maps.Keys(s))
	slices.SortFunc(out, func(a, b Proc) int { return a.Pid - b.Pid })
	return out
}

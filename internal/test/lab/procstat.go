package lab

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcStat is what the tests and the demo read of a process from
// /proc/<pid>/stat.
type ProcStat struct {
	Pid int
	// Comm is the command name as the kernel gives it, with its parentheses.
	Comm  string
	State string // R, S, Z...
	PPid  int
	PGrp  int
	// Start is the start time in clock ticks after boot: with Pid, it tells
	// a process from a later one that got the same pid.
	Start uint64
}

// Zombie reports a process that has exited and is waiting to be reaped.
func (p ProcStat) Zombie() bool { return p.State == "Z" }

// ReadProcStat reads one process; false when it is gone or unreadable. The
// command name may itself hold spaces and parentheses, so the fields are
// counted after its last ')'.
func ReadProcStat(pid int) (ProcStat, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return ProcStat{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	j := bytes.IndexByte(b, '(')
	if i < 0 || j < 0 || j > i {
		return ProcStat{}, false
	}
	// f[0] is field 3 (state); ppid is field 4, pgrp 5, starttime 22.
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return ProcStat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return ProcStat{}, false
	}
	return ProcStat{Pid: pid, Comm: string(b[j : i+1]), State: f[0], PPid: ppid, PGrp: pgrp, Start: start}, true
}

// Procs reads every process of the machine that match keeps (all when
// keep is nil).
func Procs(keep func(ProcStat) bool) []ProcStat {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []ProcStat
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := ReadProcStat(pid); ok && (keep == nil || keep(p)) {
			out = append(out, p)
		}
	}
	return out
}

// Describe lists processes as "pid (comm)", for a test's failure message.
func Describe(ps []ProcStat) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strconv.Itoa(p.Pid) + " " + p.Comm
	}
	return out
}

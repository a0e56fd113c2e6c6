package lab

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A process group whose leader exited while a forked child still runs is
// a leftover, as an Ironic's worker would be; stop ends the group, and
// then nothing is left.
func TestLeftoversSeeTheProcessGroup(t *testing.T) {
	dir := t.TempDir()
	p := &process{name: "forker", bin: "/bin/sh", args: []string{"-c", "sleep 60 & exit 0"},
		dir: filepath.Join(dir, "run"), logPath: filepath.Join(dir, "forker.log"), group: true}
	require.NoError(t, p.start())
	t.Cleanup(func() { p.stop(time.Second) })
	<-p.done // the leader exits at once; its child keeps the group alive

	left := Leftovers(300 * time.Millisecond)
	require.Len(t, left, 1)
	require.True(t, strings.HasPrefix(left[0], "forker's process group"), left[0])
	require.Error(t, CheckNoneLeft(0))

	p.stop(time.Second)
	require.Empty(t, Leftovers(10*time.Second))
	require.NoError(t, CheckNoneLeft(0))
}

// A leader that still runs is named with its pid.
func TestLeftoversSeeARunningLeader(t *testing.T) {
	dir := t.TempDir()
	p := &process{name: "sleeper", bin: "/bin/sleep", args: []string{"60"},
		dir: filepath.Join(dir, "run"), logPath: filepath.Join(dir, "sleeper.log")}
	require.NoError(t, p.start())
	left := Leftovers(0)
	require.Contains(t, left, "sleeper (pid "+strconv.Itoa(p.cmd.Process.Pid)+")")
	p.stop(time.Second)
	require.Empty(t, Leftovers(10*time.Second))
}

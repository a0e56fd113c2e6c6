package lab_test

import (
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pivotcheck/pivotcheck/internal/test/lab"
)

func TestReadProcStat(t *testing.T) {
	self, ok := lab.ReadProcStat(os.Getpid())
	require.True(t, ok)
	require.Equal(t, os.Getppid(), self.PPid)
	require.Equal(t, syscall.Getpgrp(), self.PGrp)
	require.False(t, self.Zombie())
	require.NotZero(t, self.Start)
	require.Regexp(t, `^\(.+\)$`, self.Comm)

	mine := lab.Procs(func(p lab.ProcStat) bool { return p.Pid == os.Getpid() })
	require.Equal(t, []lab.ProcStat{self}, mine)

	_, ok = lab.ReadProcStat(-1)
	require.False(t, ok, "no such process")
}

//go:build linux

package mover

import "syscall"

// childAttr runs clusterctl in its own process group (a cancelled run
// signals the group) and has the kernel send it SIGTERM when pivotcheck
// dies, even by SIGKILL, so that no clusterctl goes on writing to the
// clusters after the run that started it is gone.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

//go:build !linux

package mover

import "syscall"

// childAttr runs clusterctl in its own process group (a cancelled run
// signals the group). Only Linux can tie the child's life to pivotcheck's
// (Pdeathsig); elsewhere a killed pivotcheck leaves clusterctl running.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

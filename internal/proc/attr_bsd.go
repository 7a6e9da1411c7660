//go:build unix && !linux

package proc

import "syscall"

// sysProcAttr puts the process in its own process group (a terminal's ^C
// reaches the primary only, which drains the workers). Without a
// parent-death signal, a worker notices its primary's death by the end of
// its IPC channel.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

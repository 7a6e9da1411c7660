package proc

import "syscall"

// sysProcAttr puts the process in its own process group (a terminal's ^C
// reaches the primary only, which drains the workers) and has the kernel
// kill it if the primary dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

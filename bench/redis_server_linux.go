package main

import (
	"os/exec"
	"syscall"
)

// dieWithBench makes cmd's process die with the bench (Linux: the
// parent-death signal), even if the bench is killed before its deferred
// stop runs.
func dieWithBench(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

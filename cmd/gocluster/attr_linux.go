package main

import "syscall"

// childAttr makes the program die with its launcher: a launcher killed with
// SIGKILL leaves no program behind to hold the port.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

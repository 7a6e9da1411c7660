//go:build unix && !linux

package main

import "syscall"

// childAttr: only Linux can tie the program's life to its launcher's.
func childAttr() *syscall.SysProcAttr { return nil }

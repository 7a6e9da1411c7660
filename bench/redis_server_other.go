//go:build !linux

package main

import "os/exec"

// dieWithBench does nothing here: without a parent-death signal, the
// server outlives a bench killed before its deferred stop runs.
func dieWithBench(*exec.Cmd) {}

//go:build !unix

package proc

import (
	"os"
	"os/exec"
	"syscall"
)

// Elsewhere (Windows) the primary starts no workers (see cluster.New);
// this only keeps the package whole.

func start(cmd *exec.Cmd) error { return cmd.Start() }

func sysProcAttr() *syscall.SysProcAttr { return nil }

func exitSignal(*os.ProcessState) os.Signal { return nil }

// CheckDir reports nothing here: exec reports a bad directory itself.
func CheckDir(string) error { return nil }

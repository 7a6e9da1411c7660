package cluster

import (
	"io"
	"os"
	"os/exec"
	"syscall"
)

// Windows has no worker processes here: programs run as one process (see
// IsPrimary).
const supported = false

func newChannel() (io.ReadWriteCloser, []*os.File, error) { return nil, nil, ErrUnsupported }

func openChannel([]int) (io.ReadWriteCloser, error) { return nil, ErrUnsupported }

func startCmd(*exec.Cmd) error { return ErrUnsupported }

func sysProcAttr() *syscall.SysProcAttr { return nil }

func exitSignal(*os.ProcessState) os.Signal { return nil }

func checkDir(string) error { return nil }

func dupFile(*os.File) (*os.File, error) { return nil, ErrUnsupported }

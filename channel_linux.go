package cluster

import (
	"io"
	"os"
	"syscall"

	"github.com/gocluster/cluster/internal/wire"
)

// pipeSize is the capacity asked for each pipe of a channel (the default is
// 64 KiB). Linux counts a pipe's whole capacity against the user's
// fs.pipe-user-pages-soft quota (64 MiB by default), so it stays modest:
// 128 workers' channels fit.
const pipeSize = 256 << 10

// newChannel makes a worker's IPC channel. On Linux it is two pipes, one
// per direction, and a socketpair for descriptors (see wire.Pipes for why):
// the primary's ends as a wire.Pipes, and the files to pass to the child:
// the pipe it reads, the pipe it writes, its socket. All are close-on-exec;
// exec clears that for the files it passes.
func newChannel() (io.ReadWriteCloser, []*os.File, error) {
	var down, up [2]int // primary -> worker, worker -> primary: [read end, write end]
	if err := syscall.Pipe2(down[:], syscall.O_CLOEXEC); err != nil {
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	if err := syscall.Pipe2(up[:], syscall.O_CLOEXEC); err != nil {
		syscall.Close(down[0])
		syscall.Close(down[1])
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	for _, fd := range []int{down[1], up[0]} {
		syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETPIPE_SZ, pipeSize) // best effort
		syscall.SetNonblock(fd, true)
	}
	sock, child, err := socketpair()
	if err != nil {
		for _, fd := range []int{down[0], down[1], up[0], up[1]} {
			syscall.Close(fd)
		}
		return nil, nil, err
	}
	p := &wire.Pipes{R: os.NewFile(uintptr(up[0]), "gocluster-primary-r"), W: os.NewFile(uintptr(down[1]), "gocluster-primary-w"), FD: sock}
	return p, []*os.File{os.NewFile(uintptr(down[0]), "gocluster-worker-r"), os.NewFile(uintptr(up[1]), "gocluster-worker-w"), child}, nil
}

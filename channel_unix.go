//go:build unix

package cluster

import (
	"io"
	"net"
	"os"
	"syscall"

	"github.com/gocluster/cluster/internal/wire"
)

const supported = true

// socketpair makes a connected pair of unix stream sockets: the primary's
// end as a net.Conn and the worker's end as a file to pass to the child.
// Both are close-on-exec; exec clears that for the file it passes.
func socketpair() (*net.UnixConn, *os.File, error) {
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	parent := os.NewFile(uintptr(fds[0]), "gocluster-primary")
	child := os.NewFile(uintptr(fds[1]), "gocluster-worker")
	nc, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		child.Close()
		return nil, nil, err
	}
	return nc.(*net.UnixConn), child, nil
}

// openChannel opens this worker's end of the IPC channel from the
// descriptors the primary passed: [socket] or [read pipe, write pipe,
// socket] (see wire.Pipes).
func openChannel(fds []int) (io.ReadWriteCloser, error) {
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		// exec cleared close-on-exec on what the primary passed: set it
		// again, or every program this worker starts would hold the channel
		// open after the worker is gone.
		syscall.CloseOnExec(fd)
		if len(fds) == 3 && i < 2 {
			// Non-blocking, so that os.NewFile puts them in the poller.
			if err := syscall.SetNonblock(fd, true); err != nil {
				return nil, os.NewSyscallError("setnonblock", err)
			}
		}
		files[i] = os.NewFile(uintptr(fd), "gocluster-ipc")
	}
	sock, err := net.FileConn(files[len(files)-1])
	files[len(files)-1].Close()
	if err != nil {
		return nil, err
	}
	if len(files) == 1 {
		return sock, nil
	}
	return &wire.Pipes{R: files[0], W: files[1], FD: sock.(*net.UnixConn)}, nil
}

// dupFile duplicates a descriptor (close-on-exec). It reaches the
// descriptor through SyscallConn: Fd would make a socket blocking for every
// holder of it.
func dupFile(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	syscall.ForkLock.RLock()
	cerr := rc.Control(func(orig uintptr) {
		if fd, err = syscall.Dup(int(orig)); err == nil {
			syscall.CloseOnExec(fd)
		}
	})
	syscall.ForkLock.RUnlock()
	if cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, os.NewSyscallError("dup", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

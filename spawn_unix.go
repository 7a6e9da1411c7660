//go:build unix

package cluster

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
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

// The parent-death signal (Linux) is sent when the thread that forked the
// child exits, not the process: so every worker is started from one
// goroutine locked to its OS thread for the life of the process.
var spawner struct {
	once sync.Once
	reqs chan spawnReq
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

func startCmd(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range spawner.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawner.reqs <- spawnReq{cmd, done}
	return <-done
}

// checkDir reports why a worker could not start in dir, if it could not.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case err != nil:
		return err
	case !fi.IsDir():
		return syscall.ENOTDIR
	}
	return syscall.Access(dir, 1) // X_OK: the worker must be able to enter it
}

// exitSignal returns the signal that ended the process, or nil.
func exitSignal(st *os.ProcessState) os.Signal {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal()
	}
	return nil
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

//go:build linux

package wire

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// rawIO reads and writes a non-blocking socket with raw system calls, and
// waits for it through the runtime's poller (syscall.RawConn).
//
// The point is what it avoids. A read or write through the os or net
// package enters the scheduler's system-call state, and the first one after
// the process went idle wakes the runtime's sysmon thread, which then
// sleeps 20 us and goes back to sleep: on a ping-pong channel one or two
// extra thread wake-ups per message in each process, which on small virtual
// machines cost more than the I/O itself (measured: round trip p50 39 us to
// 30 us, p99 133 us to 110 us). The socket is non-blocking, so these calls
// never block; one that would gets EAGAIN and the goroutine parks in the
// poller, as with net.Conn.
type rawIO struct {
	rc, wc syscall.RawConn // for reads, for writes: one socket, or Pipes
	sock   bool            // rc is a socket: read with recvmsg

	// Arguments and results of the callbacks, kept here so that the
	// callbacks (method values made once) allocate nothing. Reads come from
	// one goroutine at a time, and so do writes (Conn.writing).
	rp, roob  []byte
	rn, roobn int
	rflags    int
	rerr      syscall.Errno
	readFn    func(fd uintptr) bool

	// The recvmsg arguments live here, in the heap, not on a stack: the
	// kernel gets their addresses as integers (on 386, from memory in
	// call), which the runtime would not update if it moved a stack.
	iov  syscall.Iovec
	msg  syscall.Msghdr
	call recvmsgCall

	wbufs   [2][]byte
	werr    syscall.Errno
	writeFn func(fd uintptr) bool
}

func newRawIO(rw io.ReadWriteCloser) *rawIO {
	r := &rawIO{}
	var err1, err2 error
	switch c := rw.(type) {
	case *Pipes:
		r.rc, err1 = c.R.SyscallConn()
		r.wc, err2 = c.W.SyscallConn()
	case syscall.Conn:
		r.rc, err1 = c.SyscallConn()
		r.wc, r.sock = r.rc, true
	default:
		return nil
	}
	if err1 != nil || err2 != nil {
		return nil
	}
	r.readFn = r.readOnce
	r.writeFn = r.writeAll
	return r
}

// readOnce is one read (pipe) or recvmsg (socket: data into rp,
// descriptors into roob).
func (r *rawIO) readOnce(fd uintptr) bool {
	if !r.sock {
		for {
			n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.rp[0])), uintptr(len(r.rp)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			}
			r.rn, r.rerr, r.roobn, r.rflags = int(n), e, 0, 0
			return true
		}
	}
	r.iov = syscall.Iovec{Base: &r.rp[0]}
	r.iov.SetLen(len(r.rp))
	r.msg = syscall.Msghdr{Iov: &r.iov, Iovlen: 1}
	if len(r.roob) > 0 {
		r.msg.Control = &r.roob[0]
		r.msg.SetControllen(len(r.roob))
	}
	for {
		n, e := r.call.recvmsg(fd, &r.msg, syscall.MSG_CMSG_CLOEXEC)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		r.rn, r.rerr = int(n), e
		r.roobn, r.rflags = int(r.msg.Controllen), int(r.msg.Flags)
		return true
	}
}

// read reads into p (len(p) > 0) like io.Reader, and the ancillary data
// into oob: at least one byte, or an error (io.EOF at the end).
func (r *rawIO) read(p, oob []byte) (n, oobn, flags int, err error) {
	r.rp, r.roob = p, oob
	err = r.rc.Read(r.readFn)
	r.rp, r.roob = nil, nil
	r.iov, r.msg = syscall.Iovec{}, syscall.Msghdr{} // they point into p, oob
	switch {
	case err != nil:
		return 0, 0, 0, err
	case r.rerr != 0:
		return 0, 0, 0, os.NewSyscallError("recvmsg", r.rerr)
	case r.rn == 0 && r.roobn == 0:
		return 0, 0, 0, io.EOF
	}
	return r.rn, r.roobn, r.rflags, nil
}

func (r *rawIO) writeAll(fd uintptr) bool {
	for {
		a, b := r.wbufs[0], r.wbufs[1]
		if len(a) == 0 {
			a, b = b, nil
		}
		if len(a) == 0 {
			return true
		}
		var n uintptr
		var e syscall.Errno
		if len(b) == 0 {
			n, _, e = syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&a[0])), uintptr(len(a)))
		} else {
			iov := [2]syscall.Iovec{{Base: &a[0]}, {Base: &b[0]}}
			iov[0].SetLen(len(a))
			iov[1].SetLen(len(b))
			n, _, e = syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), 2)
		}
		switch e {
		case 0:
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			r.werr = e
			return true
		}
		m := int(n)
		if m >= len(a) {
			a, b = b[m-len(a):], nil
		} else {
			a = a[m:]
		}
		r.wbufs = [2][]byte{a, b}
	}
}

// write writes all of a, then all of b.
func (r *rawIO) write(a, b []byte) error {
	r.wbufs = [2][]byte{a, b}
	r.werr = 0
	err := r.wc.Write(r.writeFn)
	r.wbufs = [2][]byte{}
	if err == nil && r.werr != 0 {
		err = os.NewSyscallError("write", r.werr)
	}
	return err
}

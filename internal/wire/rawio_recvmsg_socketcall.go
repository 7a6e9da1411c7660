//go:build linux && (386 || s390x)

package wire

import (
	"syscall"
	"unsafe"
)

// recvmsgCall makes recvmsg through socketcall(2), which reads the
// arguments from memory: these systems had no recvmsg system call of its
// own before Linux 4.3, which Go still supports; the syscall package does
// the same.
type recvmsgCall struct {
	args [3]uintptr
}

// sysRecvmsg is socketcall's number for recvmsg (SYS_RECVMSG in
// linux/net.h).
const sysRecvmsg = 17

// recvmsg is recvmsg(2) on msg, without entering the scheduler's
// system-call state (see rawIO). msg and c must not be on a stack.
func (c *recvmsgCall) recvmsg(fd uintptr, msg *syscall.Msghdr, flags uintptr) (uintptr, syscall.Errno) {
	c.args = [3]uintptr{fd, uintptr(unsafe.Pointer(msg)), flags}
	n, _, e := syscall.RawSyscall(syscall.SYS_SOCKETCALL, sysRecvmsg, uintptr(unsafe.Pointer(&c.args)), 0)
	return n, e
}

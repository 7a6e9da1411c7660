//go:build linux && (386 || s390x)

package wire

import (
	"syscall"
	"unsafe"
)

// socketcallArgs are the arguments socketcall(2) reads from memory.
type socketcallArgs [3]uintptr

// sysRecvmsg is socketcall's number for recvmsg (SYS_RECVMSG in
// linux/net.h). These systems had no recvmsg system call of its own before
// Linux 4.3, which Go still supports, so recvmsg goes through socketcall,
// as in the syscall package.
const sysRecvmsg = 17

// recvmsg is recvmsg(2) on r.msg, without entering the scheduler's
// system-call state (see rawIO).
func (r *rawIO) recvmsg(fd, flags uintptr) (uintptr, syscall.Errno) {
	r.sargs = socketcallArgs{fd, uintptr(unsafe.Pointer(&r.msg)), flags}
	n, _, e := syscall.RawSyscall(syscall.SYS_SOCKETCALL, sysRecvmsg, uintptr(unsafe.Pointer(&r.sargs)), 0)
	return n, e
}

//go:build linux && !386 && !s390x

package wire

import (
	"syscall"
	"unsafe"
)

// recvmsgCall makes the recvmsg(2) system call, which here takes its
// arguments in registers: it holds nothing.
type recvmsgCall struct{}

// recvmsg is recvmsg(2) on msg, without entering the scheduler's
// system-call state (see rawIO). msg must not be on a stack.
func (*recvmsgCall) recvmsg(fd uintptr, msg *syscall.Msghdr, flags uintptr) (uintptr, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(msg)), flags)
	return n, e
}

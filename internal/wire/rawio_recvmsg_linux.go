//go:build linux && !386 && !s390x

package wire

import (
	"syscall"
	"unsafe"
)

// socketcallArgs is used on 386 and s390x only.
type socketcallArgs struct{}

// recvmsg is recvmsg(2) on r.msg, without entering the scheduler's
// system-call state (see rawIO).
func (r *rawIO) recvmsg(fd, flags uintptr) (uintptr, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&r.msg)), flags)
	return n, e
}

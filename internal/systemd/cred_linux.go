package systemd

import (
	"net"
	"syscall"
)

// oobSize holds credentials and a few descriptors; the kernel closes
// those that do not fit.
var oobSize = syscall.CmsgSpace(syscall.SizeofUcred) + syscall.CmsgSpace(16*4)

// passCred has the kernel attach the sender's credentials to each
// datagram (SO_PASSCRED).
func passCred(conn *net.UnixConn) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PASSCRED, 1)
	}); err != nil {
		return err
	}
	return serr
}

// credPID returns the pid of an SCM_CREDENTIALS message, or 0.
func credPID(m *syscall.SocketControlMessage) int {
	if m.Header.Level != syscall.SOL_SOCKET || m.Header.Type != syscall.SCM_CREDENTIALS {
		return 0
	}
	cred, err := syscall.ParseUnixCredentials(m)
	if err != nil {
		return 0
	}
	return int(cred.Pid)
}

//go:build unix && !linux

package systemd

import (
	"net"
	"syscall"
)

// oobSize holds a few descriptors; the kernel closes those that do not
// fit.
var oobSize = syscall.CmsgSpace(16 * 4)

// passCred does nothing: this system has no SCM_CREDENTIALS for datagram
// sockets, so senders' pids are unknown.
func passCred(*net.UnixConn) error { return nil }

// credPID returns 0: no credentials here.
func credPID(*syscall.SocketControlMessage) int { return 0 }

//go:build unix

package cluster

import (
	"net"
	"syscall"
)

// closeClearly closes a connection no worker will serve so that the client
// reads the end of the stream, not a reset: a socket closed with unread
// data resets, so what the client sent (up to 256 KiB) is read and dropped
// first, then a FIN is sent.
func closeClearly(c net.Conn) {
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			rc.Read(func(fd uintptr) bool {
				var buf [4096]byte
				for range 64 { // the socket is non-blocking: EAGAIN ends it
					if n, err := syscall.Read(int(fd), buf[:]); n <= 0 || err != nil {
						break
					}
				}
				return true // never wait for more
			})
		}
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.Close()
}

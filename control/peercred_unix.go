//go:build linux || darwin || freebsd

package control

import "net"

// peerUID returns the uid of the process at the other end of c: the
// credentials it had when it connected, as the kernel recorded them.
func peerUID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	uid, serr := -1, error(nil)
	if err := raw.Control(func(fd uintptr) { uid, serr = socketPeerUID(int(fd)) }); err != nil {
		return -1, err
	}
	return uid, serr
}

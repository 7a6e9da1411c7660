//go:build !unix

package cluster

import "net"

// closeClearly closes a connection no worker will serve, with a FIN where
// the system allows (there are no workers on these systems).
func closeClearly(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.Close()
}

//go:build darwin || freebsd

package control

import "golang.org/x/sys/unix"

// socketPeerUID reads LOCAL_PEERCRED.
func socketPeerUID(fd int) (int, error) {
	xc, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(xc.Uid), nil
}

package control

import "golang.org/x/sys/unix"

// socketPeerUID reads SO_PEERCRED.
func socketPeerUID(fd int) (int, error) {
	uc, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(uc.Uid), nil
}

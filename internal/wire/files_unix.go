//go:build unix

package wire

import (
	"os"
	"syscall"
)

// oobSize holds the ancillary data of one maximal write of descriptors.
var oobSize = syscall.CmsgSpace(4 * maxFilesPerWrite)

const msgCtrunc = syscall.MSG_CTRUNC

// unixRights encodes the descriptors of fs. It reads them through
// SyscallConn, not Fd: Fd would put a socket in blocking mode, which is a
// flag of the open file that every copy of it shares.
func unixRights(fs []*os.File) []byte {
	fds := make([]int, len(fs))
	for i, f := range fs {
		fds[i] = -1
		if rc, err := f.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { fds[i] = int(fd) })
		}
	}
	return syscall.UnixRights(fds...)
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		if m.Header.Level != syscall.SOL_SOCKET || m.Header.Type != syscall.SCM_RIGHTS {
			continue
		}
		got, err := syscall.ParseUnixRights(&m)
		if err != nil {
			return fds, err
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

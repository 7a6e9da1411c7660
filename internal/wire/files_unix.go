//go:build unix

package wire

import (
	"os"
	"syscall"
)

// oobSize holds the ancillary data of one maximal write of descriptors.
var oobSize = syscall.CmsgSpace(4 * maxFilesPerWrite)

const msgCtrunc = syscall.MSG_CTRUNC

func unixRights(fs []*os.File) []byte {
	fds := make([]int, len(fs))
	for i, f := range fs {
		fds[i] = int(f.Fd())
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

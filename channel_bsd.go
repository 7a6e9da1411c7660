//go:build unix && !linux

package cluster

import (
	"io"
	"os"
)

// newChannel makes a worker's IPC channel: a socketpair.
func newChannel() (io.ReadWriteCloser, []*os.File, error) {
	sock, child, err := socketpair()
	if err != nil {
		return nil, nil, err
	}
	return sock, []*os.File{child}, nil
}

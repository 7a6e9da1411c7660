//go:build !linux

package cluster

import (
	"fmt"
	"net"
	"os"
	"runtime"
)

func reusePortSupported(string) error {
	return fmt.Errorf("ReusePort is supported on linux only, not %s", runtime.GOOS)
}

func listenReusePort(string, string) (*os.File, net.Addr, error) {
	return nil, nil, reusePortSupported("")
}

func (e *listenEntry) strangers() error { return nil }

func inode(*os.File) (uint64, bool) { return 0, false }

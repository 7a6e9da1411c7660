package cluster

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// soReusePort is SO_REUSEPORT on Linux (the syscall package lacks it).
const soReusePort = 0xf

func reusePortSupported(network string) error {
	if network == "unix" {
		return fmt.Errorf("ReusePort needs a tcp network, not unix")
	}
	return nil
}

// listenReusePort binds a listening socket with SO_REUSEPORT and returns
// its file (the listener itself is closed).
func listenReusePort(network, address string) (*os.File, net.Addr, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), network, address)
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	files, err := fileOf(ln)
	if err != nil {
		return nil, nil, err
	}
	return files[0], ln.Addr(), nil
}

// strangers returns an error naming a socket listening on this ReusePort
// address that the cluster did not make (and was not reported yet):
// another process joined the group and takes a share of its connections.
// p.lns.mu is held, so no socket of the cluster is being made meanwhile.
func (e *listenEntry) strangers() error {
	tcp, ok := e.addr.(*net.TCPAddr)
	if !ok {
		return nil
	}
	found := listeningInodes(tcp.Port)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ino := range found {
		if !e.known[ino] {
			e.known[ino] = true // reported once
			return fmt.Errorf("cluster: a process outside the cluster listens on %v with SO_REUSEPORT (socket inode %d) and takes a share of its connections", e.addr, ino)
		}
	}
	return nil
}

// inode returns the inode of a socket's file.
func inode(f *os.File) (uint64, bool) {
	fi, err := f.Stat()
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Ino, true
}

// listeningInodes lists the inodes of the TCP sockets listening on port.
func listeningInodes(port int) []uint64 {
	var inos []uint64
	suffix := fmt.Sprintf(":%04X", port)
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != "0A" || !strings.HasSuffix(fs[1], suffix) {
				continue
			}
			if ino, err := strconv.ParseUint(fs[9], 10, 64); err == nil {
				inos = append(inos, ino)
			}
		}
		f.Close()
	}
	return inos
}

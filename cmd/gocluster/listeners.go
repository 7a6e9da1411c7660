package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/gocluster/cluster/internal/systemd"
)

// namedFile is one listening socket for the workers.
type namedFile struct {
	Name string
	File *os.File
}

// bindAll binds every listener once, for every worker of every generation,
// or takes the sockets systemd passed (socket activation) instead. It
// returns the files and the addresses bound, for display.
func bindAll(specs []listenSpec) ([]namedFile, []string, error) {
	passed, err := systemd.Listeners(true)
	if err != nil {
		return nil, nil, fmt.Errorf("gocluster: sockets from systemd: %w", err)
	}
	if len(passed) > 0 {
		files := make([]namedFile, len(passed))
		addrs := make([]string, len(passed))
		for i, f := range passed {
			files[i] = namedFile{Name: cmpStr(f.Name, "unknown"), File: f.File}
			addrs[i] = f.Name + " (from systemd)"
		}
		return files, addrs, nil
	}
	var files []namedFile
	var addrs []string
	for _, s := range specs {
		f, addr, err := bind(s)
		if err != nil {
			closeAll(files)
			return nil, nil, err
		}
		files = append(files, namedFile{Name: s.Name, File: f})
		addrs = append(addrs, addr)
	}
	return files, addrs, nil
}

// bind binds one listener and returns its file.
func bind(s listenSpec) (*os.File, string, error) {
	if s.Network == "unix" {
		if err := removeStale(s.Address); err != nil {
			return nil, "", err
		}
	}
	ln, err := net.Listen(s.Network, s.Address)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, "", fmt.Errorf("gocluster: listen %s: address already in use: another program listens there (stop it, or give another -l)", s)
		}
		return nil, "", fmt.Errorf("gocluster: listen %s: %w", s, err)
	}
	addr := ln.Addr().String()
	if s.Network == "unix" {
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		addr = "unix:" + addr
	}
	f, err := ln.(interface{ File() (*os.File, error) }).File()
	ln.Close()
	if err != nil {
		return nil, "", fmt.Errorf("gocluster: listen %s: %w", s, err)
	}
	return f, addr, nil
}

// removeStale removes a unix socket nothing listens on; a live one is an
// error.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil // nothing there (or the bind says why)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("gocluster: listen unix:%s: a file that is not a socket is there: remove it or pick another path", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
	}
	if !errors.Is(err, syscall.ECONNREFUSED) { // answered, or busy: alive
		return fmt.Errorf("gocluster: listen unix:%s: another program listens there (stop it, or give another path)", path)
	}
	return os.Remove(path)
}

// unixSockets returns what removes the socket files of specs that are
// still the ones bound now (a later run may have replaced them).
func unixSockets(specs []listenSpec) func() {
	var paths []string
	var infos []os.FileInfo
	for _, s := range specs {
		if s.Network != "unix" {
			continue
		}
		if fi, err := os.Lstat(s.Address); err == nil {
			paths, infos = append(paths, s.Address), append(infos, fi)
		}
	}
	return func() {
		for i, path := range paths {
			if fi, err := os.Lstat(path); err == nil && os.SameFile(fi, infos[i]) {
				os.Remove(path)
			}
		}
		paths = nil
	}
}

func closeAll(files []namedFile) {
	for _, f := range files {
		f.File.Close()
	}
}

func osFiles(files []namedFile) []*os.File {
	out := make([]*os.File, len(files))
	for i, f := range files {
		out[i] = f.File
	}
	return out
}

func joinColon(names []string) string { return strings.Join(names, ":") }

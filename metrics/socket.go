package metrics

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// SocketDir returns the private directory that holds the collectors'
// sockets of this user: <os.TempDir()>/gocluster-<uid>. It is created with
// mode 0700 by the first [New]; a directory there that is not this user's,
// or that others may enter, is refused by both sides.
func SocketDir() string {
	return filepath.Join(os.TempDir(), "gocluster-"+strconv.Itoa(os.Getuid()))
}

// SocketPath returns the path of the socket of the [Collector] of the
// primary with process id pid: a worker computes it from os.Getppid(), with
// no environment to pass.
func SocketPath(pid int) string {
	return filepath.Join(SocketDir(), "metrics-"+strconv.Itoa(pid)+".sock")
}

// makeDir creates dir with mode 0700 if it is missing, then checks it.
func makeDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("metrics: socket directory: %w", err)
	}
	return checkDir(dir)
}

// checkDir fails unless dir is a real directory (not a link) owned by this
// user that no one else may enter: then only this user's processes can put
// a socket there or reach one in it.
func checkDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("metrics: socket directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("metrics: socket directory %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("metrics: socket directory %s has mode %v, want 0700", dir, fi.Mode().Perm())
	}
	if !ownedByMe(fi) {
		return fmt.Errorf("metrics: socket directory %s belongs to another user", dir)
	}
	return nil
}

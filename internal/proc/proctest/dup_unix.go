//go:build unix

package proctest

import (
	"os"
	"syscall"
)

// dupFiles duplicates files (close-on-exec), as a child process inherits
// them: the caller closes its own copies after the start.
func dupFiles(files []*os.File) ([]*os.File, error) {
	dups := make([]*os.File, 0, len(files))
	for _, f := range files {
		rc, err := f.SyscallConn()
		if err == nil {
			fd := -1
			syscall.ForkLock.RLock()
			cerr := rc.Control(func(orig uintptr) {
				if fd, err = syscall.Dup(int(orig)); err == nil {
					syscall.CloseOnExec(fd)
				}
			})
			syscall.ForkLock.RUnlock()
			if err == nil && cerr == nil {
				dups = append(dups, os.NewFile(uintptr(fd), f.Name()))
				continue
			}
			if err == nil {
				err = cerr
			}
		}
		for _, d := range dups {
			d.Close()
		}
		return nil, err
	}
	return dups, nil
}

package cluster

import (
	"os"
	"strconv"
	"syscall"
)

// pinnedFDMin is the lowest descriptor a pinned program gets. Between fork
// and exec, os/exec moves the descriptors it passes to 0, 1, 2, 3... and
// parks some just above them; a descriptor below this could be overwritten
// there before exec opens it.
const pinnedFDMin = 64

// pinExe opens the program at path so that workers can be started from
// this very file later, whatever then lies at path: exec of
// /proc/self/fd/N (see pinnedPath) runs the open file. It returns nil when
// workers must be started from the path: the file cannot be opened (the
// start then fails naming it), /proc is not mounted, or the file is a
// script. A "#!" script cannot be run that way: the kernel hands its
// interpreter the name /proc/self/fd/N, and the descriptor, close-on-exec,
// is gone by the time the interpreter opens it. A script's workers always
// run what is at its path.
func pinExe(path string) *os.File {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var head [2]byte
	if n, _ := f.ReadAt(head[:], 0); n == 2 && string(head[:]) == "#!" {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	fd := -1
	rc.Control(func(orig uintptr) {
		r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, orig, syscall.F_DUPFD_CLOEXEC, pinnedFDMin)
		if errno == 0 {
			fd = int(r)
		}
	})
	if fd < 0 {
		return nil
	}
	pinned := os.NewFile(uintptr(fd), path)
	if _, err := os.Stat(pinnedPath(pinned)); err != nil { // no /proc
		pinned.Close()
		return nil
	}
	return pinned
}

// pinnedPath is the name that execs the pinned file f.
func pinnedPath(f *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
}

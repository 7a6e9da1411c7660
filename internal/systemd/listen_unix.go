//go:build unix

package systemd

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Listeners returns the descriptors passed by socket activation, as
// sd_listen_fds_with_names(3) does: LISTEN_FDS of them from descriptor 3
// on, named by LISTEN_FDNAMES, each set close-on-exec. It returns none
// unless LISTEN_PID is this process's pid (the variables were meant for
// another process). With unset, it removes LISTEN_FDS, LISTEN_PID and
// LISTEN_FDNAMES from the environment, whatever it returns, so that the
// processes it starts do not take them for theirs.
func Listeners(unset bool) ([]ListenFile, error) {
	if unset {
		defer unsetListenEnv()
	}
	n, names, err := listenSpec(os.Getpid())
	if err != nil || n == 0 {
		return nil, err
	}
	for fd := listenFDsStart; fd < listenFDsStart+n; fd++ { // all open, before any is wrapped (and closed when collected)
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return nil, fmt.Errorf("systemd: %s=%d but descriptor %d: %w", envListenFDs, n, fd, err)
		}
	}
	files := make([]ListenFile, n)
	for i := range files {
		fd := listenFDsStart + i
		syscall.CloseOnExec(fd)
		files[i] = ListenFile{Name: names[i], File: os.NewFile(uintptr(fd), names[i])}
	}
	return files, nil
}

// listenFDsStart is the first descriptor passed (SD_LISTEN_FDS_START).
const listenFDsStart = 3

// listenSpec is what the LISTEN_* variables say: how many descriptors
// and their names, or n == 0 if they are not for this process.
func listenSpec(pid int) (n int, names []string, err error) {
	lp := os.Getenv(envListenPID)
	if lp == "" {
		return 0, nil, nil
	}
	p, err := strconv.Atoi(lp)
	if err != nil || p <= 0 {
		return 0, nil, fmt.Errorf("systemd: bad %s %q", envListenPID, lp)
	}
	if p != pid {
		return 0, nil, nil
	}
	fds := os.Getenv(envListenFDs)
	n, err = strconv.Atoi(fds)
	if err != nil || n < 0 || n > 1<<16 {
		return 0, nil, fmt.Errorf("systemd: bad %s %q", envListenFDs, fds)
	}
	if n == 0 {
		return 0, nil, nil
	}
	names = make([]string, n)
	if v, ok := os.LookupEnv(envListenNames); ok {
		given := strings.Split(v, ":")
		if len(given) != n {
			return 0, nil, fmt.Errorf("systemd: %s names %d descriptors, %s says %d", envListenNames, len(given), envListenFDs, n)
		}
		copy(names, given)
	}
	for i := range names {
		if names[i] == "" {
			names[i] = "unknown"
		}
	}
	return n, names, nil
}

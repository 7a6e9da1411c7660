// Package systemd speaks systemd's protocols for services, both ways: a
// service's side ([Notify], [Watchdog], [Listeners]: sd_notify(3),
// sd_watchdog_enabled(3), sd_listen_fds(3)) and a service manager's side
// for the workers it starts ([ListenEnv], [ListenNotify]), so that a
// worker written in any language can say READY=1 to its primary as it
// would to systemd. It uses no library of systemd's.
package systemd

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The environment variables of the protocols.
const (
	envNotifySocket = "NOTIFY_SOCKET"
	envWatchdogUsec = "WATCHDOG_USEC"
	envWatchdogPID  = "WATCHDOG_PID"
	envListenFDs    = "LISTEN_FDS"
	envListenPID    = "LISTEN_PID"
	envListenNames  = "LISTEN_FDNAMES"
)

// Notify sends state (newline-separated KEY=VALUE lines such as
// "READY=1" or [Reloading]'s) to the service manager, as one datagram to
// the socket $NOTIFY_SOCKET names: a path, or "@name" for an abstract
// socket (Linux). It returns false and no error when NOTIFY_SOCKET is
// unset or empty (no manager listens).
func Notify(state string) (sent bool, err error) {
	socket := os.Getenv(envNotifySocket)
	if socket == "" {
		return false, nil
	}
	if err := NotifyTo(socket, state); err != nil {
		return false, err
	}
	return true, nil
}

// Watchdog returns how often the service manager wants to hear
// WATCHDOG=1, from WATCHDOG_USEC; a caller sends it every interval/2. It
// returns 0 when no watchdog is asked for, or when WATCHDOG_PID is set to
// another process's pid (the variables were inherited).
func Watchdog() (interval time.Duration, err error) {
	usec := os.Getenv(envWatchdogUsec)
	if usec == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(usec, 10, 64)
	if err != nil || n <= 0 || n > int64(time.Duration(1<<63-1)/time.Microsecond) {
		return 0, fmt.Errorf("systemd: bad %s %q", envWatchdogUsec, usec)
	}
	if pid := os.Getenv(envWatchdogPID); pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil || p <= 0 {
			return 0, fmt.Errorf("systemd: bad %s %q", envWatchdogPID, pid)
		}
		if p != os.Getpid() {
			return 0, nil
		}
	}
	return time.Duration(n) * time.Microsecond, nil
}

// Reloading returns the state a service sends when it starts reloading:
// "RELOADING=1\nMONOTONIC_USEC=N", N being CLOCK_MONOTONIC in
// microseconds, both of which Type=notify-reload requires. On Windows,
// where no systemd runs, it is "RELOADING=1" alone.
func Reloading() string {
	usec, ok := monotonicUsec()
	if !ok {
		return "RELOADING=1"
	}
	return "RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(usec, 10)
}

// ListenFile is a descriptor passed by socket activation: [Listeners]
// returns them.
type ListenFile struct {
	// Name is its name from LISTEN_FDNAMES (systemd's
	// FileDescriptorName=), or "unknown" if none was given.
	Name string
	// File is the descriptor, close-on-exec; [net.FileListener] or
	// [net.FilePacketConn] make it a listener.
	File *os.File
}

// ListenEnv returns the environment a service manager gives a process it
// passes len(names) descriptors to, as descriptors 3, 4...: LISTEN_FDS,
// LISTEN_FDNAMES and LISTEN_PID. pid is the process's own pid, which a
// parent knows only once it started; a launcher that cannot know it
// passes 0 and has the process set LISTEN_PID itself before it calls
// [Listeners] (an exec shim). A ':' or a control character in a name,
// which LISTEN_FDNAMES cannot carry, becomes '_'. No names: nil.
func ListenEnv(names []string, pid int) []string {
	if len(names) == 0 {
		return nil
	}
	clean := make([]string, len(names))
	for i, n := range names {
		clean[i] = strings.Map(func(r rune) rune {
			if r == ':' || r < ' ' || r == 0x7f {
				return '_'
			}
			return r
		}, n)
	}
	return []string{
		envListenFDs + "=" + strconv.Itoa(len(names)),
		envListenNames + "=" + strings.Join(clean, ":"),
		envListenPID + "=" + strconv.Itoa(pid),
	}
}

// WithoutServiceEnv returns env without the variables systemd sets for
// one process only (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES,
// NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID), which a service must not
// pass on to the processes it starts. env itself is not changed.
func WithoutServiceEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case envListenFDs, envListenPID, envListenNames, envNotifySocket, envWatchdogUsec, envWatchdogPID:
			continue
		}
		out = append(out, kv)
	}
	return out
}

// unsetListenEnv removes the LISTEN_* variables.
func unsetListenEnv() {
	os.Unsetenv(envListenFDs)
	os.Unsetenv(envListenPID)
	os.Unsetenv(envListenNames)
}

//go:build unix

package systemd

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// envChild names what the test binary does when a test re-executes it as
// a child process; unset, it runs the tests.
const envChild = "SYSTEMD_TEST_CHILD"

func TestMain(m *testing.M) {
	mode := os.Getenv(envChild)
	if mode == "" {
		os.Exit(m.Run())
	}
	if err := child(mode); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// child runs one child mode.
func child(mode string) error {
	switch mode {
	case "notify": // what a worker in any language does
		sent, err := Notify(os.Getenv("STATE"))
		if !sent {
			return fmt.Errorf("not sent: %v", err)
		}
		return err
	case "ack": // einhorn's manual ack
		return NotifyTo(os.Getenv(envNotifySocket), fmt.Sprintf(`{"command":"worker:ack","pid":%d}`+"\n", os.Getpid()))
	case "listeners": // an exec shim's child: LISTEN_PID is set to its own pid
		os.Setenv(envListenPID, strconv.Itoa(os.Getpid()))
		return serveListeners()
	case "listeners-missing": // LISTEN_FDS counts more than were passed
		os.Setenv(envListenPID, strconv.Itoa(os.Getpid()))
		files, err := Listeners(true)
		if err == nil || files != nil {
			return fmt.Errorf("Listeners of missing descriptors: %v, %v", files, err)
		}
		fmt.Println(err)
		return nil
	case "listeners-other": // LISTEN_PID is another process's
		files, err := Listeners(false)
		if err != nil || len(files) != 0 {
			return fmt.Errorf("Listeners for another pid: %v, %v", files, err)
		}
		if os.Getenv(envListenFDs) == "" {
			return fmt.Errorf("Listeners(false) unset %s", envListenFDs)
		}
		fmt.Println("none")
		return nil
	}
	return fmt.Errorf("unknown child mode %q", mode)
}

// serveListeners takes the passed listeners and checks them, prints their
// names, then accepts one connection on each and writes the listener's
// name to it.
func serveListeners() error {
	files, err := Listeners(true)
	if err != nil {
		return err
	}
	for _, k := range []string{envListenFDs, envListenPID, envListenNames} {
		if v, ok := os.LookupEnv(k); ok {
			return fmt.Errorf("Listeners(true) left %s=%s", k, v)
		}
	}
	var names []string
	var lns []net.Listener
	for i, f := range files {
		flags, err := unix.FcntlInt(f.File.Fd(), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC == 0 || f.File.Fd() != uintptr(3+i) {
			return fmt.Errorf("descriptor %d (%s): flags %#x, %v", f.File.Fd(), f.Name, flags, err)
		}
		ln, err := net.FileListener(f.File)
		if err != nil {
			return err
		}
		f.File.Close()
		defer ln.Close()
		names = append(names, f.Name)
		lns = append(lns, ln)
	}
	fmt.Println(strings.Join(names, ","))
	for i, ln := range lns {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		conn.Write([]byte(names[i]))
		conn.Close()
	}
	return nil
}

// startChild starts the test binary as a child in mode, with env added.
func startChild(t *testing.T, mode string, env []string, files ...*os.File) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// Under the race detector, a process sleeps a second before it exits
	// unless told not to.
	race := "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")
	cmd.Env = append(append(os.Environ(), envChild+"="+mode, race), env...)
	cmd.ExtraFiles = files
	cmd.Stderr = os.Stderr
	return cmd
}

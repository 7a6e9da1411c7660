//go:build unix

package systemd

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// receiver returns a Receiver in a new directory, closed at the end.
func receiver(t *testing.T) *Receiver {
	t.Helper()
	r, err := ListenNotify(filepath.Join(t.TempDir(), "notify"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// senderPID is the pid a Receiver reports for a sender: its own where
// the kernel passes credentials, else unknown.
func senderPID(pid int) int {
	if runtime.GOOS == "linux" {
		return pid
	}
	return 0
}

func read(t *testing.T, r *Receiver) Notification {
	t.Helper()
	n, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNotify sends what a service sends through NOTIFY_SOCKET and reads
// it as a service manager does.
func TestNotify(t *testing.T) {
	r := receiver(t)
	if fi, err := os.Stat(r.Path()); err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket file: %v, %v", fi.Mode(), err)
	}
	t.Setenv(envNotifySocket, r.Path())
	send := func(state string) Notification {
		t.Helper()
		if sent, err := Notify(state); !sent || err != nil {
			t.Fatalf("Notify(%q): %v, %v", state, sent, err)
		}
		n := read(t, r)
		if n.Raw != state || n.PID != senderPID(os.Getpid()) {
			t.Fatalf("sent %q, read %q from pid %d", state, n.Raw, n.PID)
		}
		return n
	}
	if n := send("READY=1\nSTATUS=serving on :8080"); !n.Ready || n.Reloading || n.Stopping || n.Status != "serving on :8080" {
		t.Errorf("READY=1 with STATUS: %+v", n)
	}
	var before, after unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &before)
	n := send(Reloading())
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &after)
	usec, err := strconv.ParseInt(n.Fields["MONOTONIC_USEC"], 10, 64)
	if !n.Reloading || n.Ready || err != nil || usec < before.Nano()/1e3 || usec > after.Nano()/1e3 {
		t.Errorf("Reloading(): %+v, MONOTONIC_USEC %d not in [%d, %d]", n, usec, before.Nano()/1e3, after.Nano()/1e3)
	}
	if n := send("STOPPING=1"); !n.Stopping || n.Ready {
		t.Errorf("STOPPING=1: %+v", n)
	}
	if n := send("WATCHDOG=1"); !n.Watchdog || len(n.Fields) != 1 {
		t.Errorf("WATCHDOG=1: %+v", n)
	}
	if n := send("READY=0\nSTATUS=a=b\nSTATUS=last"); n.Ready || n.Status != "last" {
		t.Errorf("READY=0 and two STATUS: %+v", n)
	}
}

// TestNotifyFromChild: another process's READY=1, and einhorn's ack, come
// with that process's pid.
func TestNotifyFromChild(t *testing.T) {
	r := receiver(t)
	for _, mode := range []string{"notify", "ack"} {
		cmd := startChild(t, mode, []string{envNotifySocket + "=" + r.Path(), "STATE=READY=1\nSTATUS=child"})
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s child: %v", mode, err)
		}
		n := read(t, r)
		if !n.Ready || n.PID != cmd.Process.Pid && (mode == "notify" || runtime.GOOS == "linux") {
			t.Errorf("%s child %d: %+v", mode, cmd.Process.Pid, n)
		}
		if mode == "notify" && n.Status != "child" {
			t.Errorf("child's STATUS: %q", n.Status)
		}
	}
}

// TestNotifyAbstract uses an abstract socket, as systemd's own
// NOTIFY_SOCKET may be.
func TestNotifyAbstract(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("abstract sockets are Linux's")
	}
	name := "@gocluster-systemd-test-" + strconv.Itoa(os.Getpid())
	r, err := ListenNotify(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	t.Setenv(envNotifySocket, name)
	if sent, err := Notify("READY=1"); !sent || err != nil {
		t.Fatalf("Notify: %v, %v", sent, err)
	}
	if n := read(t, r); !n.Ready || n.PID != os.Getpid() {
		t.Fatalf("read %+v", n)
	}
}

// TestReceiverRejects: datagrams too long or no notification are skipped
// and counted, descriptors sent along are closed, and the next good one
// is read.
func TestReceiverRejects(t *testing.T) {
	r := receiver(t)
	long := "STATUS=" + strings.Repeat("x", MaxNotification)
	if err := NotifyTo(r.Path(), long); err == nil {
		t.Error("NotifyTo sent a notification over MaxNotification")
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: r.Path(), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	bad := []string{long, strings.Repeat("y", 70000), "hello", "READY=1\x00", "\xffREADY=1", `{"command":"worker:die"}`, "{", "lower=1", ""}
	for _, b := range bad {
		if _, err := conn.Write([]byte(b)); err != nil {
			t.Fatalf("write of %d bytes: %v", len(b), err)
		}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = syscall.Sendmsg(fd, []byte("READY=1"), syscall.UnixRights(int(pw.Fd())), &syscall.SockaddrUnix{Name: r.Path()}, 0)
	syscall.Close(fd)
	if err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if n := read(t, r); !n.Ready || n.Raw != "READY=1" {
		t.Fatalf("after the bad ones: %+v", n)
	}
	if got := r.Rejected(); got != uint64(len(bad)) {
		t.Errorf("Rejected() = %d, want %d", got, len(bad))
	}
	// The receiver closed its copy of the pipe's write end before Read
	// returned: the read end is at its end of file. (The deadline only
	// turns a leak into a failure instead of a hang.)
	pr.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := pr.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("the passed descriptor was kept: read %d, %v", n, err)
	}
}

// TestReceiverClose: Close ends a blocked Read and removes the file.
func TestReceiverClose(t *testing.T) {
	r := receiver(t)
	done := make(chan error, 1)
	go func() {
		_, err := r.Read()
		done <- err
	}()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if _, err := os.Stat(r.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file after Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := NotifyTo(r.Path(), "READY=1"); err == nil {
		t.Fatal("NotifyTo a closed receiver succeeded")
	}
}

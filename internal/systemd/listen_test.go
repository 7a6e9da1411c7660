//go:build unix

package systemd

import (
	"bufio"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// listener returns a listening TCP socket on the loopback and a copy of
// its descriptor to pass to a child.
func listener(t *testing.T) (net.Listener, *os.File) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	return ln, f
}

// TestListenersInChild passes two listening sockets to a child as
// systemd would (descriptors 3 and 4, the LISTEN_* variables), the child
// setting LISTEN_PID to its own pid as an exec shim does; the child
// serves on both under their names.
func TestListenersInChild(t *testing.T) {
	web, webFile := listener(t)
	admin, adminFile := listener(t)
	cmd := startChild(t, "listeners", ListenEnv([]string{"web", "admin"}, 0), webFile, adminFile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	webFile.Close()
	adminFile.Close()
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "web,admin\n" {
		cmd.Wait()
		t.Fatalf("child's names: %q, %v", line, err)
	}
	for _, ln := range []net.Listener{web, admin} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(conn)
		conn.Close()
		if want := map[net.Listener]string{web: "web", admin: "admin"}[ln]; string(got) != want || err != nil {
			t.Errorf("%s answered %q, %v; want %q", ln.Addr(), got, err, want)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

// TestListenersForAnotherPid: descriptors announced for another process
// (the variables were inherited) are not taken, and stay announced.
func TestListenersForAnotherPid(t *testing.T) {
	_, f := listener(t)
	cmd := startChild(t, "listeners-other", ListenEnv([]string{"web"}, os.Getpid()), f)
	out, err := cmd.Output()
	f.Close()
	if err != nil || string(out) != "none\n" {
		t.Fatalf("child: %q, %v", out, err)
	}
}

// TestListenersMissing: LISTEN_FDS counting descriptors that are not
// open is an error.
func TestListenersMissing(t *testing.T) {
	_, f := listener(t)
	env := []string{envListenFDs + "=100", envListenPID + "=0"}
	out, err := startChild(t, "listeners-missing", env, f).Output()
	f.Close()
	if err != nil || !strings.HasPrefix(string(out), "systemd: LISTEN_FDS=100 but descriptor ") {
		t.Fatalf("child: %q, %v", out, err)
	}
}

func TestListenSpec(t *testing.T) {
	me := strconv.Itoa(os.Getpid())
	for _, tt := range []struct {
		pid, fds, names string // names "-": unset
		n               int
		want            []string
		bad             bool
	}{
		{pid: "", fds: "2", names: "a:b"},
		{pid: strconv.Itoa(os.Getpid() + 1), fds: "2", names: "a:b"},
		{pid: me, fds: "0", names: "-"},
		{pid: me, fds: "2", names: "a:b", n: 2, want: []string{"a", "b"}},
		{pid: me, fds: "2", names: "-", n: 2, want: []string{"unknown", "unknown"}},
		{pid: me, fds: "3", names: "a::c", n: 3, want: []string{"a", "unknown", "c"}},
		{pid: me, fds: "2", names: "a", bad: true},
		{pid: me, fds: "x", names: "-", bad: true},
		{pid: me, fds: "-1", names: "-", bad: true},
		{pid: "zero", fds: "1", names: "-", bad: true},
	} {
		t.Setenv(envListenPID, tt.pid)
		t.Setenv(envListenFDs, tt.fds)
		t.Setenv(envListenNames, tt.names)
		if tt.names == "-" {
			os.Unsetenv(envListenNames)
		}
		n, names, err := listenSpec(os.Getpid())
		if n != tt.n || !slices.Equal(names, tt.want) || (err != nil) != tt.bad {
			t.Errorf("LISTEN_PID=%s LISTEN_FDS=%s LISTEN_FDNAMES=%s: %d %q %v", tt.pid, tt.fds, tt.names, n, names, err)
		}
	}
}

// TestListenersUnset: with unset, the variables go even when they are
// not this process's.
func TestListenersUnset(t *testing.T) {
	for _, kv := range ListenEnv([]string{"web"}, os.Getpid()+1) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	if files, err := Listeners(true); files != nil || err != nil {
		t.Fatalf("Listeners for another pid: %v, %v", files, err)
	}
	for _, k := range []string{envListenFDs, envListenPID, envListenNames} {
		if v, ok := os.LookupEnv(k); ok {
			t.Errorf("%s=%s left", k, v)
		}
	}
}

//go:build unix

package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gocluster/cluster"
)

// newPrimary returns a primary that is never run: enough for Listen and
// for the commands that need no worker.
func newPrimary(t *testing.T) *cluster.Primary {
	t.Helper()
	p, err := cluster.New(cluster.Config{Workers: 1, NoSignals: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// serve runs srv until the test ends.
func serve(t *testing.T, srv *Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

// A socket file nothing listens on (its cluster died) is replaced.
func TestStaleSocketReplaced(t *testing.T) {
	path := shortSocketPath(t)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the stale socket is not there: %v", err)
	}
	if _, err := Dial(testContext(t), path); !errors.Is(err, ErrNoCluster) {
		t.Fatalf("Dial of a stale socket = %v, want ErrNoCluster", err)
	}
	srv, err := Listen(newPrimary(t), Options{Path: path})
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	serve(t, srv)
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v; want 0600", st.Mode(), err)
	}
	if _, err := Dial(testContext(t), path); err != nil {
		t.Fatalf("Dial of the new server: %v", err)
	}
}

// A socket a cluster answers on is refused, naming its pid; that server
// goes on, and refuses stop without Options.Stop.
func TestLiveSocketRefused(t *testing.T) {
	path := shortSocketPath(t)
	srv, err := Listen(newPrimary(t), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv)
	_, err = Listen(newPrimary(t), Options{Path: path})
	if want := fmt.Sprintf("control: a cluster already runs at %s (pid %d)", path, os.Getpid()); err == nil || err.Error() != want {
		t.Fatalf("second Listen = %v, want %q", err, want)
	}
	c, err := Dial(testContext(t), path)
	if err != nil {
		t.Fatalf("the first server stopped answering: %v", err)
	}
	if err := c.Stop(testContext(t)); err == nil || !strings.Contains(err.Error(), "Options.Stop is not set") {
		t.Errorf("stop without Options.Stop = %v", err)
	}
}

// A directory others may write to, a path that is not a socket, and a
// path too long for a socket are refused, saying what to change.
func TestListenRefusesUnsafePlaces(t *testing.T) {
	p := newPrimary(t)
	dir := filepath.Dir(shortSocketPath(t))
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o777)
	_, err := Listen(p, Options{Path: filepath.Join(open, "c.sock")})
	if err == nil || !strings.Contains(err.Error(), "is writable by others (mode 0777): chmod go-w "+open) {
		t.Errorf("Listen in a world-writable directory = %v", err)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	_, err = Listen(p, Options{Path: file})
	if err == nil || !strings.Contains(err.Error(), "exists and is not a socket") {
		t.Errorf("Listen on a plain file = %v", err)
	}
	_, err = Listen(p, Options{Path: filepath.Join(dir, strings.Repeat("x", 120))})
	if err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("Listen on a long path = %v", err)
	}
	sub := filepath.Join(dir, "new", "deeper", "c.sock")
	srv, err := Listen(p, Options{Path: sub})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if st, err := os.Stat(filepath.Dir(sub)); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("created directory: %v, %v; want mode 0700", st.Mode(), err)
	}
}

// A process of another user that reaches the socket (here opened to all:
// the directory 0755, the socket 0666) is refused by the peer-uid check.
func TestForeignUserRefused(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must run this test as root: it starts a process of another user")
		}
		t.Skip("needs root to start a process of another user")
	}
	dir, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "client")
	copyFile(t, exe, bin) // the test binary's own directory may be closed to others
	path := filepath.Join(dir, "c.sock")
	srv, err := Listen(newPrimary(t), Options{Path: path, socketMode: 0o666})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv)
	if _, err := Dial(testContext(t), path); err != nil {
		t.Fatalf("root is refused: %v", err)
	}
	ctx := testContext(t)
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), envDial+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the foreign client: %v: %s", err, out)
	}
	want := `{"error":"control: refused: connection from uid 65534; only uid 0 (or root) may use this socket"}` + "\n"
	if string(out) != want {
		t.Fatalf("the foreign client got %q, want %q and the end of the connection", out, want)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	a, err := DefaultPath("/srv/app")
	if err != nil {
		t.Fatal(err)
	}
	if want := "/run/user/1000/gocluster/"; !strings.HasPrefix(a, want) || len(a) != len(want)+16+len(".sock") {
		t.Errorf("DefaultPath = %q", a)
	}
	if b, _ := DefaultPath("/srv/app/"); b != a {
		t.Errorf("the same directory gives %q and %q", a, b)
	}
	if b, _ := DefaultPath("/srv/other"); b == a {
		t.Errorf("two directories share %q", a)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	c, _ := DefaultPath("/srv/app")
	if want := filepath.Join(os.TempDir(), fmt.Sprintf("gocluster-%d", os.Getuid()), filepath.Base(a)); c != want {
		t.Errorf("DefaultPath without XDG_RUNTIME_DIR = %q, want %q", c, want)
	}
}

func TestDialNothing(t *testing.T) {
	path := shortSocketPath(t)
	_, err := Dial(testContext(t), path)
	want := "control: no cluster runs from this directory (socket " + path + "): start one with gocluster run, or give --socket"
	if !errors.Is(err, ErrNoCluster) || err.Error() != want {
		t.Fatalf("Dial = %v, want %q", err, want)
	}
}

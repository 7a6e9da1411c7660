// Package redistest runs a real redis-server for tests: on a free
// loopback port, in a directory of the test's, stopped by its PID when the
// test ends.
package redistest

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a redis-server a test started.
type Server struct {
	t    testing.TB
	dir  string
	port int
	cmd  *exec.Cmd
}

// Start starts a redis-server for t, or skips t if there is none (make
// test installs it) and $CI is not set (where it must be there).
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed (make test installs it)")
		}
		t.Skip("redis-server is not installed (make test installs it)")
	}
	s := &Server{t: t, dir: t.TempDir()}
	s.port = freePort(t)
	s.start()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			t.Logf("redis-server's log:\n%s", log)
		}
	})
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// PID is the server process's.
func (s *Server) PID() int { return s.cmd.Process.Pid }

func (s *Server) start() {
	s.t.Helper()
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no"}
	cmd := exec.Command("redis-server", args...)
	cmd.Dir = s.dir
	out, err := os.OpenFile(filepath.Join(s.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redis-server: %v", err)
	}
	out.Close()
	s.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", s.Addr()); err == nil {
			if ping(c) {
				c.Close()
				return
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redis-server did not answer on %s within 10s:\n%s", s.Addr(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ping(c net.Conn) bool {
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// Stop kills the server (SIGKILL: as a crash) and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	s.cmd = nil
}

// Restart kills the server and starts it again on the same port: with
// keep, after saving its data (SAVE) so it comes back with it; without,
// empty.
func (s *Server) Restart(keep bool) {
	s.t.Helper()
	s.Down(keep)
	s.Up()
}

// Down kills the server as Restart does (with keep, after SAVE) and leaves
// it down until [Server.Up].
func (s *Server) Down(keep bool) {
	s.t.Helper()
	if keep {
		s.Command("SAVE")
	} else {
		os.Remove(filepath.Join(s.dir, "dump.rdb"))
	}
	s.Stop()
}

// Up starts the server again on its port after [Server.Down], with the
// data saved then, if any.
func (s *Server) Up() {
	s.t.Helper()
	s.start()
}

// Command runs one command with redis-cli and returns its output.
func (s *Server) Command(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("redis-cli", append([]string{"-p", strconv.Itoa(s.port)}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("redis-cli %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

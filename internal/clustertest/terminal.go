package clustertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Terminal is a program running in a real terminal: a pane of a tmux
// server of its own, killed at the test's end.
type Terminal struct {
	t      *testing.T
	sock   string
	conf   string
	exited string // where the shell writes the program's exit status
}

// StartTerminal runs the shell command line cmd in a width×height pane. It
// skips the test when tmux is missing, but fails it under CI (env CI set).
func StartTerminal(t *testing.T, width, height int, cmd string) *Terminal {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is missing, and CI must run this test: apt-get install tmux")
		}
		t.Skip("tmux is missing")
	}
	dir := t.TempDir()
	tm := &Terminal{t: t, sock: fmt.Sprintf("gocluster-test-%d-%d", os.Getpid(), time.Now().UnixNano()),
		conf: filepath.Join(dir, "tmux.conf"), exited: filepath.Join(dir, "exited")}
	// No status line: the pane is the whole terminal; the pane stays once
	// its program ends, for a look at it.
	if err := os.WriteFile(tm.conf, []byte("set -g remain-on-exit on\nset -g status off\nset -g default-shell /bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c := exec.Command("tmux", "-L", tm.sock, "kill-server")
		c.Env = append(os.Environ(), "TMUX=")
		_ = c.Run() // the server, and the program if still there, end
	})
	// The shell waits for the program and writes down its exit status: tmux
	// 3.3 can be slow to reap a pane's process (and to show its status).
	tm.Tmux("new-session", "-d", "-s", "main", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height),
		cmd+"; echo $? >"+Quote(tm.exited))
	return tm
}

// Tmux runs a tmux command on the terminal's server; it must succeed.
func (tm *Terminal) Tmux(args ...string) string {
	tm.t.Helper()
	c := exec.Command("tmux", append([]string{"-L", tm.sock, "-f", tm.conf}, args...)...)
	c.Env = append(os.Environ(), "TMUX=") // also from inside a tmux
	out, err := c.CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Screen is what the pane shows now.
func (tm *Terminal) Screen() string { return tm.Tmux("capture-pane", "-p", "-t", "main") }

// Until returns the screen once ok accepts it, polling for limit at most.
func (tm *Terminal) Until(what string, limit time.Duration, ok func(screen string) bool) string {
	tm.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		s := tm.Screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("no %s on the screen after %v:\n%s", what, limit, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SendKeys types keys (tmux send-keys syntax: "q", "Enter", "-l" text).
func (tm *Terminal) SendKeys(keys ...string) {
	tm.t.Helper()
	tm.Tmux(append([]string{"send-keys", "-t", "main"}, keys...)...)
}

// ExitStatus waits up to limit for the program to end and returns its exit
// status as the shell says it.
func (tm *Terminal) ExitStatus(limit time.Duration) string {
	tm.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if b, _ := os.ReadFile(tm.exited); strings.HasSuffix(string(b), "\n") { // the whole line
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the program did not end within %v; the pane:\n%s", limit, tm.Screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Quote quotes s for /bin/sh.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

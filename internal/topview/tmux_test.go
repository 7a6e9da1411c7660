//go:build unix

package topview

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTmux runs the view in a real terminal, a tmux pane of 80×24: the
// demo's two workers show, one starting after 3 restarts, one over its
// memory limit; q ends the view, which leaves the terminal as it was; then
// the program exits.
func TestTmux(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is missing, and CI must run this test: apt-get install tmux")
		}
		t.Skip("tmux is missing")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "tmux.conf")
	// No status line: the pane is the whole 80×24; the pane stays once its
	// program ends, for a look at it.
	if err := os.WriteFile(conf, []byte("set -g remain-on-exit on\nset -g status off\nset -g default-shell /bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := fmt.Sprintf("gocluster-topview-%d-%d", os.Getpid(), time.Now().UnixNano())
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(tmux, append([]string{"-L", sock, "-f", conf}, args...)...)
		cmd.Env = append(os.Environ(), "TMUX=") // also from inside a tmux
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		cmd := exec.Command(tmux, "-L", sock, "kill-server")
		cmd.Env = append(os.Environ(), "TMUX=")
		_ = cmd.Run() // the server, and the program if still there, end
	})
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	// The shell waits for the program and writes down its exit status: tmux
	// 3.3 can be slow to reap a pane's process (and to show its status).
	exited := filepath.Join(t.TempDir(), "exited")
	run("new-session", "-d", "-s", "top", "-x", "80", "-y", "24",
		"env "+envDemo+"=1 "+quote(exe)+"; echo $? >"+quote(exited))

	// until shows the pane once it has what ok wants, for 10 s at most.
	until := func(what string, ok func(screen string) bool) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			screen := run("capture-pane", "-p", "-t", "top")
			if ok(screen) {
				return screen
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s after 10s; the pane:\n%s", what, screen)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	screen := until("table", func(s string) bool { return strings.Contains(s, "31337") && strings.Contains(s, "31402") })
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line %d is %d wide: %q", i, n, l)
		}
	}
	for _, want := range []struct {
		pid    string
		fields []string
	}{
		{"31337", []string{"2", "31337", "ready", "0", "540 MiB", "105%]"}}, // over its limit
		{"31402", []string{"7", "31402", "starting", "3", "12.5 MiB", "2%]"}},
	} {
		l := lineWith(lines, " "+want.pid+" ")
		if l == "" {
			t.Fatalf("no line for pid %s:\n%s", want.pid, screen)
		}
		f := strings.Fields(l)
		if f[0] != want.fields[0] || f[1] != want.fields[1] || f[3] != want.fields[2] || f[4] != want.fields[3] {
			t.Errorf("pid %s: id, pid, state, restarts %q, want %q", want.pid, f[:5], want.fields[:4])
		}
		for _, s := range want.fields[4:] {
			if !strings.Contains(l, s) {
				t.Errorf("pid %s: no %q in %q", want.pid, s, l)
			}
		}
	}
	if !strings.Contains(screen, "workers 1/2 ready") || lineWith(lines, "q quit") == "" {
		t.Errorf("no header or footer:\n%s", screen)
	}

	// q: the program leaves the view, and the terminal as it found it: the
	// normal screen, and the usual mode, which echoes and hands over lines.
	run("send-keys", "-t", "top", "q")
	until("normal screen", func(s string) bool {
		return strings.Contains(s, "topdemo: done, type a line") && !strings.Contains(s, "31337")
	})
	run("send-keys", "-t", "top", "-l", "hello")
	until("echo", func(s string) bool { return strings.Contains(s, "hello") })
	run("send-keys", "-t", "top", "Enter")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(exited)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			if status := strings.TrimSpace(string(b)); status != "0" {
				t.Errorf("exit status %s, want 0: the program did not end as it should", status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the program did not exit after 10s; the pane:\n%s", run("capture-pane", "-p", "-t", "top"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lineWith returns the first of lines that holds s, or "".
func lineWith(lines []string, s string) string {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTopInTerminal runs gocluster top in a real terminal (a tmux pane of
// 80x24) against a running cluster: the screen lists each worker with its
// pid and state; a worker killed shows up replaced; q quits.
func TestTopInTerminal(t *testing.T) {
	needProgram(t, "python3")
	needProgram(t, "tmux")
	r := startRun(t, nil, "-n", "2", "-l", "127.0.0.1:0", "--ready", "notify", "--", "python3", "testdata/hello.py")
	conf := filepath.Join(t.TempDir(), "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g remain-on-exit on\nset -g status off\nset -g default-shell /bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := fmt.Sprintf("gocluster-top-%d-%d", os.Getpid(), time.Now().UnixNano())
	tmux := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("tmux", append([]string{"-L", sock, "-f", conf}, args...)...)
		cmd.Env = append(os.Environ(), "TMUX=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		cmd := exec.Command("tmux", "-L", sock, "kill-server")
		cmd.Env = append(os.Environ(), "TMUX=")
		cmd.Run()
	})
	// The shell writes top's exit status to a file: tmux 3.3 can take
	// seconds to report a dead pane's status.
	exitFile := filepath.Join(t.TempDir(), "exit")
	tmux("new-session", "-d", "-s", "top", "-x", "80", "-y", "24",
		"env "+envAsCLI+"=1 "+noRaceExitSleep+" '"+os.Args[0]+"' top --socket '"+r.socket+"'; echo $? > '"+exitFile+"'")
	screen := func(what string, ok func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			s := tmux("capture-pane", "-p", "-t", "top")
			if ok(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s on the screen after 15s:\n%s", what, s)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	st := r.status()
	rowOf := func(s string, pid int) []string {
		for _, l := range strings.Split(s, "\n") {
			if f := strings.Fields(l); len(f) > 3 && f[1] == strconv.Itoa(pid) {
				return f
			}
		}
		return nil
	}
	s := screen("both workers", func(s string) bool {
		return rowOf(s, st.Workers[0].PID) != nil && rowOf(s, st.Workers[1].PID) != nil
	})
	for _, w := range st.Workers {
		if f := rowOf(s, w.PID); f[0] != strconv.Itoa(w.ID) || f[3] != "ready" {
			t.Fatalf("row of worker %d: %q, want its id and ready:\n%s", w.ID, f, s)
		}
	}
	for i, l := range strings.Split(s, "\n") {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line %d is %d wide", i, n)
		}
	}

	// A killed worker leaves the screen; its replacement comes with a restart.
	victim := st.Workers[0]
	if err := exec.Command("kill", "-9", strconv.Itoa(victim.PID)).Run(); err != nil {
		t.Fatal(err)
	}
	screen("the replacement", func(s string) bool {
		if rowOf(s, victim.PID) != nil {
			return false
		}
		for _, l := range strings.Split(s, "\n") {
			if f := strings.Fields(l); len(f) > 4 && f[0] == strconv.Itoa(st.Workers[1].ID+1) && f[4] == "1" {
				return true
			}
		}
		return false
	})

	tmux("send-keys", "-t", "top", "q")
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(exitFile)
		if code := strings.TrimSpace(string(b)); code != "" {
			if code != "0" {
				t.Fatalf("top exited with %s after q", code)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("top did not end on q")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

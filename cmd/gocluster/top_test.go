//go:build unix

package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/clustertest"
)

// TestTopInTerminal runs gocluster top in a real terminal (a tmux pane of
// 80x24) against a running cluster: the screen lists each worker with its
// pid and state; a worker killed shows up replaced; q quits.
func TestTopInTerminal(t *testing.T) {
	needProgram(t, "python3")
	r := startRun(t, nil, "-n", "2", "-l", "127.0.0.1:0", "--ready", "notify", "--", "python3", "testdata/hello.py")
	term := clustertest.StartTerminal(t, 80, 24,
		"env "+envAsCLI+"=1 "+noRaceExitSleep+" "+clustertest.Quote(os.Args[0])+" top --socket "+clustertest.Quote(r.socket))
	screen := func(what string, ok func(string) bool) string {
		t.Helper()
		return term.Until(what, 15*time.Second, ok)
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

	term.SendKeys("q")
	if code := term.ExitStatus(15 * time.Second); code != "0" {
		t.Fatalf("top exited with %s after q", code)
	}
}

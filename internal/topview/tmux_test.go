//go:build unix

package topview

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/clustertest"
)

// TestTmux runs the view in a real terminal, a tmux pane of 80×24: the
// demo's two workers show, one starting after 3 restarts, one over its
// memory limit; q ends the view, which leaves the terminal as it was; then
// the program exits.
func TestTmux(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	term := clustertest.StartTerminal(t, 80, 24, "env "+envDemo+"=1 "+clustertest.Quote(exe))
	until := func(what string, ok func(screen string) bool) string {
		t.Helper()
		return term.Until(what, 10*time.Second, ok)
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
	term.SendKeys("q")
	until("normal screen", func(s string) bool {
		return strings.Contains(s, "topdemo: done, type a line") && !strings.Contains(s, "31337")
	})
	term.SendKeys("-l", "hello")
	until("echo", func(s string) bool { return strings.Contains(s, "hello") })
	term.SendKeys("Enter")
	if status := term.ExitStatus(10 * time.Second); status != "0" {
		t.Errorf("exit status %s, want 0: the program did not end as it should", status)
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

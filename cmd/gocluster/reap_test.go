//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOrphansReaped: a program leaves a process behind; as a subreaper the
// primary inherits it and reaps it when it ends, leaving no zombie.
func TestOrphansReaped(t *testing.T) {
	needProgram(t, "python3")
	r := startRun(t, []string{"HELLO_ORPHAN=1.5"}, "-n", "2", "-l", "127.0.0.1:0", "--ready", "notify", "--", "python3", "testdata/hello.py")
	primary := r.cmd.Process.Pid
	// Each orphan may still be a forked sh for a moment before its exec of
	// sleep: wait until both show.
	adopted := time.Now().Add(10 * time.Second)
	for len(children(primary, "sleep")) != 2 {
		if time.Now().After(adopted) {
			t.Fatalf("the primary (pid %d) adopted %v, want 2 orphans (sleep): subreaper not set?", primary, children(primary, "sleep"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := children(primary, "sleep")
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("orphans not reaped: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := get(r.addr); err != nil {
		t.Fatalf("the cluster stopped serving: %v", err)
	}
}

// children lists the children of pid named name, with their state (Z: a
// zombie): "pid state".
func children(pid int, name string) []string {
	ents, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) > 2 && s[open+1:close] == name && f[1] == strconv.Itoa(pid) {
			found = append(found, e.Name()+" "+f[0])
		}
	}
	return found
}

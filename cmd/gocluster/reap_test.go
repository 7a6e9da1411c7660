//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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

// TestPID1: as PID 1 of a PID namespace (a container's init), the primary
// adopts and reaps what the programs leave behind, and a SIGTERM from
// outside (which PID 1 would ignore without a handler) stops it cleanly.
func TestPID1(t *testing.T) {
	needProgram(t, "python3")
	if _, err := exec.LookPath("unshare"); err != nil || os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test needs root and unshare (util-linux) under CI")
		}
		t.Skip("needs root and unshare")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "ctl.sock")
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "--kill-child", os.Args[0], "run", "--socket", sock,
		"--log-dir", filepath.Join(dir, "logs"), "-n", "2", "-l", "127.0.0.1:0", "--ready", "notify", "--", "python3", "testdata/hello.py")
	cmd.Env = append(os.Environ(), envAsCLI+"=1", noRaceExitSleep, "HELLO_ORPHAN=3")
	r := startCmd(t, cmd, sock)
	r.addr = r.findLine(listeningRE)[1]
	st := r.status()
	if st.PID != 1 {
		t.Fatalf("the primary's pid in its namespace is %d, want 1", st.PID)
	}
	unshare := r.cmd.Process.Pid
	kids := childrenAll(unshare)
	if len(kids) != 1 {
		t.Fatalf("unshare's children: %v, want the primary", kids)
	}
	primary := kids[0]
	adopted := time.Now().Add(10 * time.Second)
	for len(children(primary, "sleep")) != 2 {
		if time.Now().After(adopted) {
			t.Fatalf("PID 1 (pid %d here) adopted %v, want 2 orphans (sleep)", primary, children(primary, "sleep"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	reaped := time.Now().Add(10 * time.Second)
	for len(children(primary, "sleep")) != 0 {
		if time.Now().After(reaped) {
			t.Fatalf("orphans not reaped by PID 1: %v", children(primary, "sleep"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := get(r.addr); err != nil {
		t.Fatalf("the cluster stopped serving: %v", err)
	}
	if err := syscall.Kill(primary, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r.waitLine("gocluster: stopped", 20*time.Second)
}

// childrenAll lists the pids of pid's children.
func childrenAll(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var found []int
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 2 && f[1] == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(e.Name())
			found = append(found, n)
		}
	}
	return found
}

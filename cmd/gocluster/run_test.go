//go:build unix

package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/clustertest"
)

func needProgram(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing (make deps installs it)", name)
		}
		t.Skipf("%s is missing", name)
	}
}

// cmdline is the command line of a process, spaces between arguments.
func cmdline(t *testing.T, pid string) string {
	b, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil {
		t.Fatalf("process %s: %v", pid, err)
	}
	return strings.ReplaceAll(string(b), "\x00", " ")
}

// TestPythonWorkers: a Python program (standard library only) takes its
// socket from fd 3, says READY=1 on its NOTIFY_SOCKET; both workers answer;
// a worker killed with SIGKILL is replaced.
func TestPythonWorkers(t *testing.T) {
	needProgram(t, "python3")
	r := startRun(t, nil, "-n", "2", "-l", "127.0.0.1:0", "--ready", "notify", "--", "python3", "testdata/hello.py")
	seen := answerers(t, r.addr, 2, 2000)
	if len(seen) != 2 {
		t.Fatalf("answers came from workers %v, want 2 of them", seen)
	}
	st := r.status()
	if len(st.Workers) != 2 {
		t.Fatalf("status lists %d workers, want 2: %+v", len(st.Workers), st)
	}
	for _, w := range st.Workers {
		id := strconv.Itoa(w.ID)
		if w.State != "ready" || seen[id] != strconv.Itoa(w.PID) {
			t.Fatalf("worker %+v: want ready, with the pid that answered (%s)", w, seen[id])
		}
		if c := cmdline(t, strconv.Itoa(w.PID)); !strings.Contains(c, "python3 testdata/hello.py") {
			t.Fatalf("worker %d's pid %d runs %q, not the program", w.ID, w.PID, c)
		}
	}

	victim := st.Workers[0]
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.waitLine("worker "+strconv.Itoa(victim.ID)+" exited (signal killed)", 10*time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for {
		st = r.status()
		ready := 0
		for _, w := range st.Workers {
			if w.State == "ready" && w.ID != victim.ID {
				ready++
			}
		}
		if ready == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no replacement ready: %+v", st.Workers)
		}
		time.Sleep(50 * time.Millisecond)
	}
	replaced := false
	for _, w := range st.Workers {
		replaced = replaced || (w.ID > victim.ID && w.Restarts == 1)
	}
	if !replaced {
		t.Fatalf("no worker replaced worker %d (restarts 1): %+v", victim.ID, st.Workers)
	}
	if after := answerers(t, r.addr, 2, 2000); len(after) != 2 || after[strconv.Itoa(victim.ID)] != "" {
		t.Fatalf("after the kill, answers from %v: want 2 workers, not %d", after, victim.ID)
	}
}

// TestNodeReloadUnderLoad: a Node program takes its socket from fd 3 and
// says it is ready with process.send('ready'); a reload under load fails
// no request.
func TestNodeReloadUnderLoad(t *testing.T) {
	needProgram(t, "node")
	r := startRun(t, nil, "-n", "2", "-l", "127.0.0.1:0", "--ready", "notify", "--", "node", "testdata/hello.js")
	if seen := answerers(t, r.addr, 2, 2000); len(seen) != 2 {
		t.Fatalf("answers came from workers %v, want 2 of them", seen)
	}
	var tags atomic.Int64
	load := clustertest.StartHTTPLoad(t, r.addr, 8, 60*time.Second, func() int64 { return tags.Add(1) }, func(int64, string) {})
	time.Sleep(300 * time.Millisecond)
	before := r.status()
	r.ctl("reload")
	time.Sleep(300 * time.Millisecond)
	n := load.Finish("during the reload")
	after := r.status()
	if after.Generation != before.Generation+1 || len(after.Workers) != 2 {
		t.Fatalf("after reload: generation %d (was %d), %d workers", after.Generation, before.Generation, len(after.Workers))
	}
	for _, w := range after.Workers {
		if w.Generation != after.Generation || w.State != "ready" {
			t.Fatalf("worker %+v is not of the new generation %d, ready", w, after.Generation)
		}
	}
	t.Logf("%d requests, none failed, across the reload", n)
}

// TestSecondSignalWhileDraining: a second SIGTERM while the workers drain
// is noted, not fatal: the drain completes.
func TestSecondSignalWhileDraining(t *testing.T) {
	needProgram(t, "node")
	r := startRun(t, nil, "-n", "2", "-l", "127.0.0.1:0", "--ready", "notify", "--", "node", "testdata/hello.js")
	r.cmd.Process.Signal(syscall.SIGTERM)
	r.waitLine("terminated: stopping", 10*time.Second)
	r.cmd.Process.Signal(syscall.SIGTERM)
	r.waitLine("terminated: already stopping", 10*time.Second)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("gocluster run did not end")
	}
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("gocluster run ended with %v, want a clean stop", err)
	}
	if out := strings.Join(r.output(), "\n"); !strings.Contains(out, "gocluster: stopped") {
		t.Fatalf("no clean stop:\n%s", out)
	}
}

package proc

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// envReapChild tells the test binary, re-executed by a reaping test, to
// run TestReapHelperProcess as "subreaper" or as "pid1" of a new PID
// namespace.
const envReapChild = "PROC_REAP_CHILD"

// untilZombie returns once child pid has ended, without waiting for it.
func untilZombie(t *testing.T, pid int) {
	t.Helper()
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	if state, _, err := stat(pid); state != 'Z' || err != nil {
		t.Fatalf("child %d ended but is in state %q: %v", pid, state, err)
	}
}

// TestReapOnlyOrphans: a zombie child Start did not start is listed and
// reaped; one it started is left for its Wait, which gets its status.
func TestReapOnlyOrphans(t *testing.T) {
	orphan := exec.Command("/bin/sh", "-c", "exit 0")
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	worker := sh(t, "exit 5", Spec{})
	untilZombie(t, orphan.Process.Pid)
	untilZombie(t, worker.Pid())
	listed, err := taskChildren()
	scanned, err2 := scanChildren()
	slices.Sort(listed)
	slices.Sort(scanned)
	want := []int{min(orphan.Process.Pid, worker.Pid()), max(orphan.Process.Pid, worker.Pid())}
	if !slices.Equal(listed, want) || !slices.Equal(scanned, want) || err != nil || err2 != nil {
		t.Fatalf("children: listed %v (%v), scanned %v (%v); want %v", listed, err, scanned, err2, want)
	}
	if err := reapOrphans(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(orphan.Process.Pid)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the orphan was not reaped: %v", err)
	}
	orphan.Wait() // fails: it was reaped
	if st, err := worker.Wait(); st.ExitCode() != 5 || err != nil {
		t.Fatalf("the started process's Wait: %v, %v", st, err)
	}
	if pids, err := children(); len(pids) != 0 || err != nil {
		t.Fatalf("children left: %v, %v", pids, err)
	}
}

// TestReapAsSubreaper runs TestReapHelperProcess in a child that is a
// subreaper.
func TestReapAsSubreaper(t *testing.T) {
	runReapChild(t, "subreaper", nil)
}

// TestReapAsPID1 runs TestReapHelperProcess as PID 1 of a new PID
// namespace, as in a container.
func TestReapAsPID1(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a PID namespace needs root")
	}
	runReapChild(t, "pid1", &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Unshareflags: syscall.CLONE_NEWNS})
}

// runReapChild re-executes the test binary to run TestReapHelperProcess
// in mode; an attr the system refuses skips the test.
func runReapChild(t *testing.T, mode string, attr *syscall.SysProcAttr) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang must not outlive the test
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestReapHelperProcess$", "-test.v", "-test.count=1")
	race := "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), envReapChild+"="+mode, race)
	cmd.SysProcAttr = attr
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		if attr != nil && (errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC)) {
			t.Skipf("the system refuses a new PID namespace: %v", err)
		}
		t.Fatal(err)
	}
	err := cmd.Wait()
	if err != nil || !strings.Contains(out.b.String(), "--- PASS: TestReapHelperProcess") {
		t.Fatalf("%s child: %v\n%s", mode, err, out.b.String())
	}
}

// TestReapHelperProcess is the child of TestReapAsSubreaper and
// TestReapAsPID1: it reaps while it starts workers that leave orphans,
// and checks that their Wait still gets their statuses and that no
// zombie is left.
func TestReapHelperProcess(t *testing.T) {
	switch mode := os.Getenv(envReapChild); mode {
	case "":
		t.Skip("run by TestReapAsSubreaper and TestReapAsPID1")
	case "subreaper":
		if err := Subreaper(); err != nil {
			t.Fatal(err)
		}
	case "pid1":
		if os.Getpid() != 1 {
			t.Fatalf("pid %d in a new PID namespace", os.Getpid())
		}
		// This mount namespace is private: /proc shows the new one's.
		if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("mode %q", mode)
	}
	var mu sync.Mutex
	reaped := map[int]bool{}
	more := make(chan struct{}, 1)
	reapedHook = func(pid int, _ syscall.WaitStatus) {
		mu.Lock()
		reaped[pid] = true
		mu.Unlock()
		select {
		case more <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Reap(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Reap: %v", err)
		}
		reapedHook = nil
	}()

	// Each worker leaves a daemonised child, alive until its pipe closes,
	// which is handed to this process when the worker ends; closing the
	// pipe then ends it while the next worker starts and ends. Each
	// worker's Wait gets its status, each orphan is reaped.
	var orphans []int
	for i := range 20 {
		orphans = append(orphans, orphanOf(t, i%8))
	}
	deadline := time.After(30 * time.Second) // a failure, not a wait: Reap looks every second
	for _, pid := range orphans {
		for {
			mu.Lock()
			ok := reaped[pid]
			mu.Unlock()
			if ok {
				break
			}
			select {
			case <-more:
			case <-deadline:
				t.Fatalf("orphan %d was not reaped", pid)
			}
		}
	}
	if pids, err := children(); len(pids) != 0 || err != nil {
		t.Fatalf("children left: %v, %v", pids, err)
	}
}

// orphanOf starts a worker that starts a child and exits with code; it
// checks the worker's status and that its child, still alive, is now
// this process's, then lets that child end and returns its pid.
func orphanOf(t *testing.T, code int) int {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var out syncBuffer
	p := sh(t, "cat <&3 >/dev/null & echo $!; exit "+strconv.Itoa(code), Spec{Files: []*os.File{r}, Stdout: &out})
	r.Close()
	if st, err := p.Wait(); st.ExitCode() != code || err != nil {
		t.Fatalf("worker: %v, %v; want exit status %d", st, err, code)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out.b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if state, ppid, err := stat(pid); err != nil || ppid != os.Getpid() || state == 'Z' {
		t.Fatalf("worker's child %d: state %q, parent %d, %v; want a live child of %d", pid, state, ppid, err, os.Getpid())
	}
	return pid
}

package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Subreaper makes this process a child subreaper
// (PR_SET_CHILD_SUBREAPER): the orphans among its descendants (a worker's
// daemonised children) become its children instead of init's, for
// [Reap] to wait for.
func Subreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("cluster: PR_SET_CHILD_SUBREAPER: %w", err)
	}
	return nil
}

// reapBackstop is how often Reap looks for zombies without a SIGCHLD
// (signals coalesce, and one may come before Reap listens).
const reapBackstop = time.Second

// reapedHook, if set (by tests), is called with each orphan Reap waited
// for.
var reapedHook func(pid int, status syscall.WaitStatus)

// Reap waits for the children of this process that [Start] did not
// start (orphans given to it as PID 1 of a container or as a
// [Subreaper]), so that they do not stay zombies, until ctx ends: on each
// SIGCHLD and every second. It never waits for a process Start started,
// whose [Process.Wait] gets its exit status; but it does wait for the
// children this process starts otherwise (os/exec), whose own Wait then
// fails: start every child through Start while Reap runs. It returns nil
// when ctx ends, or an error if it cannot list this process's children.
func Reap(ctx context.Context) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGCHLD)
	defer signal.Stop(sigs)
	tick := time.NewTicker(reapBackstop)
	defer tick.Stop()
	for {
		if err := reapOrphans(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-sigs:
		case <-tick.C:
		}
	}
}

// reapOrphans waits, without blocking, for each child Start did not
// start, holding started's lock so that no child is started meanwhile.
func reapOrphans() error {
	started.Lock()
	defer started.Unlock()
	pids, err := children()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if started.pids[pid] > 0 { // its Wait waits for it
			continue
		}
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		for range 100 { // bounded: EINTR only comes from signals
			if err != syscall.EINTR {
				break
			}
			got, err = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
		if got == pid && reapedHook != nil {
			reapedHook(pid, ws)
		}
	}
	return nil
}

// childrenFile says whether /proc/PID/task/TID/children exists
// (CONFIG_PROC_CHILDREN); without it, children scans every process.
var childrenFile = sync.OnceValue(func() bool {
	pid := strconv.Itoa(os.Getpid())
	_, err := os.Stat("/proc/" + pid + "/task/" + pid + "/children")
	return err == nil
})

// children returns the pids of this process's children, alive or not.
func children() ([]int, error) {
	if childrenFile() {
		return taskChildren()
	}
	return scanChildren()
}

// taskChildren lists the children of each thread of this process, from
// /proc/PID/task/TID/children.
func taskChildren() ([]int, error) {
	dir := "/proc/" + strconv.Itoa(os.Getpid()) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cluster: listing children: %w", err)
	}
	var pids []int
	for _, task := range tasks {
		b, err := os.ReadFile(dir + "/" + task.Name() + "/children")
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue // the thread ended
		}
		if err != nil {
			return nil, fmt.Errorf("cluster: listing children: %w", err)
		}
		for _, f := range bytes.Fields(b) {
			if pid, err := strconv.Atoi(string(f)); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids, nil
}

// scanChildren lists the processes whose parent is this one, from every
// /proc/PID/stat.
func scanChildren() ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("cluster: listing children: %w", err)
	}
	me := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, err := stat(pid); err == nil && ppid == me {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// stat returns the state (R, S, Z...) and parent of process pid from
// /proc/PID/stat.
func stat(pid int) (state byte, ppid int, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("cluster: no command in /proc/%d/stat", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, fmt.Errorf("cluster: bad /proc/%d/stat", pid)
	}
	ppid, err = strconv.Atoi(string(f[1]))
	return f[0][0], ppid, err
}

package proc

import (
	"os/exec"
	"sync"
)

// started holds the pids of the processes [Start] started and that their
// [Process.Wait] has not yet waited for: [Reap] never waits for those, so
// that their Wait gets their exit status. Start holds the lock across the
// fork, and Reap across its look at the children and its waits, so that a
// child that ends at once is never taken for an orphan.
var started struct {
	sync.Mutex
	pids map[int]int // pid: how many started processes have it (a pid is reused)
}

// startTracked starts cmd and records its pid in started.
func startTracked(cmd *exec.Cmd) error {
	started.Lock()
	defer started.Unlock()
	if err := start(cmd); err != nil {
		return err
	}
	if started.pids == nil {
		started.pids = make(map[int]int)
	}
	started.pids[cmd.Process.Pid]++
	return nil
}

// untrack forgets pid, once its process was waited for.
func untrack(pid int) {
	started.Lock()
	defer started.Unlock()
	if started.pids[pid]--; started.pids[pid] <= 0 {
		delete(started.pids, pid)
	}
}

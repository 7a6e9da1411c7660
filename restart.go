package cluster

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gocluster/cluster/internal/proc"
)

// Defaults of the restart budget.
const (
	// DefaultMaxRestarts is how many times a worker slot may die within
	// [DefaultRestartWindow] before the cluster calls it a crash loop.
	DefaultMaxRestarts = 5
	// DefaultRestartWindow is the window of the restart budget.
	DefaultRestartWindow = time.Minute
)

// RestartPolicy says which workers that exit on their own are replaced
// ([Config.Restart]). The names are those of systemd's Restart= and Docker's
// --restart.
type RestartPolicy int

const (
	// RestartAlways replaces every worker that exits without being told
	// to, whatever its exit status (Docker's "always", systemd's
	// Restart=always): the default, and what the zero value means.
	RestartAlways RestartPolicy = iota
	// RestartOnFailure replaces a worker that exits with a non-zero status
	// or is ended by a signal (a crash, the OOM killer, kill -9, or
	// [Config.ReadyTimeout]). One that exits with status 0 on its own has
	// finished: its place is dropped, as after [Worker.Disconnect].
	RestartOnFailure
	// RestartNever replaces no worker: each one that exits leaves the
	// cluster one smaller. The program forks replacements itself, if it
	// wants them ([Primary.Fork] on [EventExit], as Node programs do).
	RestartNever
)

var restartNames = [...]string{"always", "on-failure", "never"}

// String returns the policy's systemd name: "always", "on-failure" or
// "never".
func (r RestartPolicy) String() string {
	if r >= 0 && int(r) < len(restartNames) {
		return restartNames[r]
	}
	return fmt.Sprintf("RestartPolicy(%d)", int(r))
}

// replaces reports whether the policy replaces a worker that ended with st.
func (r RestartPolicy) replaces(st *proc.State) bool {
	switch r {
	case RestartOnFailure:
		return !st.Success()
	case RestartNever:
		return false
	}
	return true
}

// death is one unexpected exit of a worker slot.
type death struct {
	at    time.Time
	ready bool // it had called Ready
}

// crashLoop records an unexpected death of slot's worker w (nil: a start
// that failed) and reports whether the slot went over the restart budget.
// cause is what ended it: its exit status, or the start's error. Then it
// emits [EventCrashLoop] with an error wrapping [ErrCrashLoop] and cause, and
// logs it; with [Config.StopOnCrashLoop] it also stops the cluster (Run
// returns that error) and the slot is not restarted. Without, the slot is
// retried at the slowest pace (MaxRestartDelay). It runs on the supervisor
// goroutine.
func (p *Primary) crashLoop(slot int, w *Worker, cause error) bool {
	now := time.Now()
	window := p.deaths[slot][:0]
	for _, d := range p.deaths[slot] {
		if now.Sub(d.at) < p.cfg.RestartWindow {
			window = append(window, d)
		}
	}
	window = append(window, death{at: now, ready: w != nil && w.IsReady()})
	p.deaths[slot] = window
	if len(window) <= p.cfg.MaxRestarts {
		return false
	}
	early := 0
	for _, d := range window {
		if !d.ready {
			early++
		}
	}
	err := &causeError{ErrCrashLoop, opErr(fmt.Sprintf("worker slot %d died %d times within %v (%d of them before Ready); the last", slot, len(window), p.cfg.RestartWindow, early), cause)}
	p.emit(Event{Type: EventCrashLoop, Worker: w, Err: err, Deaths: len(window), EarlyDeaths: early})
	if p.cfg.StopOnCrashLoop {
		p.log.Error("cluster: crash loop: stopping the cluster", "err", err)
		if p.runErr == nil {
			p.runErr = err
		}
		p.beginShutdown()
		return true
	}
	p.log.Error("cluster: crash loop: retrying slowly", "err", err, "every", p.cfg.MaxRestartDelay)
	p.deaths[slot] = window[1:] // the slot stays at the budget's edge: slow retries
	p.restartAfter(p.cfg.MaxRestartDelay, slot, 0)
	return true
}

// exitCause describes how w ended, for a crash loop's error: an
// *exec.ExitError for a non-zero status or a signal (see proc.State.Err).
func exitCause(w *Worker, st *proc.State) error {
	if st.Success() {
		return fmt.Errorf("worker %d: exit status 0", w.id)
	}
	return fmt.Errorf("worker %d: %w", w.id, st.Err())
}

// restartLater replaces a crashed worker of slot with the slot's settings
// and env: at once after the first crash of a series (a worker killed by
// the OOM killer or kill -9 comes back as fast as a process can start),
// then after a capped exponential back-off with jitter.
func (p *Primary) restartLater(slot, streak int) {
	if streak == 0 {
		p.log.Warn("cluster: replacing a crashed worker")
		if _, err := p.spawn(slot, 1); err != nil {
			p.startFailed(slot, 1, err)
		}
		return
	}
	d := p.cfg.RestartDelay << min(streak-1, 20)
	if d > p.cfg.MaxRestartDelay || d <= 0 {
		d = p.cfg.MaxRestartDelay
	}
	d = d*4/5 + rand.N(d*2/5+1)
	p.log.Warn("cluster: replacing a crashed worker", "in", d, "crashes_in_a_row", streak+1)
	p.restartAfter(d, slot, streak)
}

func (p *Primary) restartAfter(d time.Duration, slot, streak int) {
	p.after(d, func() {
		if p.stopping || p.slots[slot] == nil {
			return
		}
		if _, err := p.spawn(slot, streak+1); err != nil {
			p.startFailed(slot, streak+1, err)
		}
	})
}

// startFailed counts a replacement that could not be started as a death
// of its slot before Ready (a slot whose program is gone crash-loops like
// one whose program crashes) and tries again later.
func (p *Primary) startFailed(slot, streak int, err error) {
	if p.crashLoop(slot, nil, err) {
		return
	}
	p.restartLater(slot, streak)
}

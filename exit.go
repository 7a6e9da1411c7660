package cluster

import (
	"errors"
	"os"
	"time"

	"github.com/gocluster/cluster/internal/proc"
	"github.com/gocluster/cluster/internal/wire"
)

// stableAfter is how long a worker must have run for its crash to count as
// the first of a new series (its back-off starts over).
const stableAfter = 10 * time.Second

// onDisconnect runs on the supervisor goroutine when a worker's channel ends.
func (p *Primary) onDisconnect(w *Worker, err error) {
	if w.disconnected {
		return
	}
	w.disconnected = true
	e := Event{Type: EventDisconnect, Worker: w}
	if wire.IsProtocolError(err) {
		e.Err = err
		p.emit(Event{Type: EventError, Worker: w, Err: err})
		// The worker exits by itself when it sees its channel close; make sure.
		p.goRun(func() { w.killUnlessExited(p.cfg.KillTimeout) })
	}
	p.emit(e)
}

// killUnlessExited kills w if it has not exited within d: a worker whose
// channel was cut may not notice (it stopped reading).
func (w *Worker) killUnlessExited(d time.Duration) {
	select {
	case <-w.exited:
	case <-time.After(d):
		w.signal(os.Kill)
	}
}

// wait reaps the worker process. What else went wrong while waiting for
// it (output held open by a descendant past proc's wait delay) changes
// nothing: the worker is gone.
func (p *Primary) wait(w *Worker, streak int) {
	started := time.Now()
	st, _ := w.proc.Wait()
	w.dead.Store(true)
	close(w.exited)
	// The reader sees the end of the channel after the last frame the
	// worker wrote; waiting for it keeps the worker's events in order (its
	// messages, online, disconnect, then exit). A descendant that inherited
	// the channel could keep it open: then it is cut after a second.
	select {
	case <-w.readerDone:
	case <-time.After(time.Second):
		w.ep.Close(errors.New("worker exited"))
		<-w.readerDone
	}
	p.do(func() { p.onExit(w, st, streak, time.Since(started)) })
}

// onExit runs on the supervisor goroutine when a worker process has ended.
func (p *Primary) onExit(w *Worker, st *proc.State, streak int, lived time.Duration) {
	w.ep.Close(errors.New("worker exited"))
	p.onDisconnect(w, nil)
	delete(p.table, w.id)
	p.publishWorkers()
	p.forgetWorker(w)
	p.forgetStateOf(w)
	p.emit(Event{Type: EventExit, Worker: w, ExitCode: st.ExitCode(), Signal: st.Signal()})
	defer p.settleGone() // last: after any replacement was started
	defer p.rolloutExit(w, st.ExitCode())
	if w.ExitedAfterDisconnect() || p.stopping || p.slots[w.slot] == nil || // nil: retired or dropped meanwhile
		!p.cfg.Restart.replaces(st) {
		p.dropSlot(w.slot) // stopped on purpose, or not to be replaced: not to be refilled
		return
	}
	if lived > stableAfter || w.IsReady() {
		streak = 0 // it had started fine: replace it at once (the budget still counts it)
	}
	if p.crashLoop(w.slot, w, exitCause(w, st)) {
		return
	}
	p.restartLater(w.slot, streak)
}

package cluster

import (
	"fmt"
	"os"
)

// markReady records that w is ready (it called Ready, or listens with
// Config.ReadyOnListen); the first time, it emits EventReady.
func (p *Primary) markReady(w *Worker) {
	if !w.ready.Swap(true) {
		p.do(func() {
			p.emit(Event{Type: EventReady, Worker: w})
			p.stepRollout()
		})
	}
}

// readyTimeout kills w if it is still not ready (supervisor goroutine). The
// kill is not a deliberate stop: it counts as a death before ready.
func (p *Primary) readyTimeout(w *Worker) {
	if w.ready.Load() || w.dead.Load() || w.ExitedAfterDisconnect() || p.stopping {
		return
	}
	err := fmt.Errorf("%w: worker %d, after %v", ErrNotReady, w.id, p.cfg.ReadyTimeout)
	p.emit(Event{Type: EventError, Worker: w, Err: err})
	if ro := p.rollout; ro != nil && ro.fresh[w.slot] {
		p.abortRollout(err) // stops it too
		return
	}
	w.signal(os.Kill)
}

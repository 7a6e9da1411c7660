package cluster

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// rollout replaces a set of worker slots with new ones while keeping
// enough of them ready: the engine behind Reload and recycling. It is owned
// by the supervisor goroutine, which steps it whenever a worker becomes
// ready or exits.
type rollout struct {
	gen      int
	settings Settings // for the new workers; the old slot's own when recycling
	recycle  bool     // one worker over MaxRSS or MaxAge, in its own generation

	old     map[int]*slotInfo // old slots not retired yet
	queue   []queued          // old slots whose replacement has not started, in order
	retired []*slotInfo       // old slots retired so far (to refill on abort)
	gone    map[int]bool      // old slots stopped from outside: not to be replaced
	fresh   map[int]bool      // slots started by this rollout
	leaving []*Worker         // old workers told to drain (or stopped from outside)

	target, surge, unready int
	done                   chan rolloutEnd // gets the result; nil for SIGHUP
}

// rolloutEnd is the result of a rollout: its error, and a channel closed
// once the workers it stopped are no longer listed.
type rolloutEnd struct {
	err  error
	gone <-chan struct{}
}

// queued is an old slot waiting for its replacement.
type queued struct {
	slot int
	info *slotInfo
}

// pruneRollout drops the slots that were stopped from outside (Kill,
// Disconnect): like a scale-down, the cluster keeps one worker fewer.
func (p *Primary) pruneRollout(ro *rollout) {
	for slot := range ro.fresh {
		if p.slots[slot] == nil {
			delete(ro.fresh, slot)
			ro.target--
		}
	}
	for slot := range ro.old {
		if p.slots[slot] == nil {
			delete(ro.old, slot)
			ro.gone[slot] = true
			ro.target--
			ro.leaving = append(ro.leaving, p.slotWorkers(slot)...)
		}
	}
	q := ro.queue[:0]
	for _, e := range ro.queue {
		if !ro.gone[e.slot] {
			q = append(q, e)
		}
	}
	ro.queue = q
}

// stepRollout starts replacements and retires old workers as far as the
// surge and unready limits allow, and finishes the rollout when nothing is
// left to do.
func (p *Primary) stepRollout() {
	ro := p.rollout
	if ro == nil {
		return
	}
	p.pruneRollout(ro)
	if ro.recycle && len(ro.queue) == 0 && len(ro.fresh) == 0 {
		p.abortRollout(errors.New("its new worker was stopped")) // by Kill or Disconnect
		return
	}
	for changed := true; changed; {
		changed = false
		for len(ro.queue) > 0 && len(ro.old)+len(ro.fresh) < ro.target+ro.surge {
			next := ro.queue[0]
			ro.queue = ro.queue[1:]
			if err := p.startFresh(ro, next.info); err != nil {
				p.abortRollout(err)
				return
			}
			changed = true
		}
		ready := p.readySlots(ro.fresh)
		for slot := range ro.old {
			if p.slotReady(slot) {
				ready++
			}
		}
		for _, slot := range p.retireOrder(ro.old) {
			r := p.slotReady(slot)
			if r && ready-1 < ro.target-ro.unready {
				break // the rest are ready too: none can go yet
			}
			if r {
				ready--
			}
			p.retire(ro, slot)
			changed = true
		}
	}
	if len(ro.queue) > 0 || len(ro.old) > 0 || p.readySlots(ro.fresh) < len(ro.fresh) {
		return
	}
	// Done only once the old workers have left the table (their EventExit
	// emitted), not when their processes have ended: IsDead turns true
	// before that, and Workers would still list them.
	if p.listed(ro.leaving) || !ro.recycle && p.olderListed(ro.gen) {
		return
	}
	p.finishRollout(nil, nil)
}

// olderListed reports whether a worker of a generation other than gen is
// listed: after a reload only its own generation may be.
func (p *Primary) olderListed(gen int) bool {
	for _, w := range p.table {
		if w.gen != gen {
			return true
		}
	}
	return false
}

// startFresh starts the replacement of one old slot.
func (p *Primary) startFresh(ro *rollout, old *slotInfo) error {
	s, exe := ro.settings, (*exeRef)(nil)
	if ro.recycle { // the same generation: the same program
		s, exe = old.settings, old.exe
	}
	slot := p.newSlot(ro.gen, s, old.env, exe)
	ro.fresh[slot] = true
	if _, err := p.spawn(slot, 0); err != nil {
		delete(ro.fresh, slot)
		p.dropSlot(slot)
		return err
	}
	return nil
}

// armReloadReady aborts ro if w, a worker of one of its new slots, is not
// ready within DefaultReloadReadyTimeout (used when Config.ReadyTimeout,
// which kills such a worker, is not set).
func (p *Primary) armReloadReady(ro *rollout, w *Worker) {
	p.after(DefaultReloadReadyTimeout, func() {
		if p.rollout == ro && !w.IsReady() && !w.IsDead() && !w.ExitedAfterDisconnect() {
			p.abortRollout(fmt.Errorf("%w: worker %d, after %v", ErrNotReady, w.id, DefaultReloadReadyTimeout))
		}
	})
}

// retire drops an old slot and drains its worker, if it has one. Its
// program stays held until the rollout ends: an abort may refill the slot.
func (p *Primary) retire(ro *rollout, slot int) {
	ro.retired = append(ro.retired, ro.old[slot])
	holdExe(ro.old[slot].exe)
	delete(ro.old, slot)
	p.dropSlot(slot)
	ws := p.slotWorkers(slot) // a dead one not yet removed too: it is waited for
	ro.leaving = append(ro.leaving, ws...)
	stopAll(ws)
}

// retireOrder lists slots with the ones that have no ready worker first.
func (p *Primary) retireOrder(slots map[int]*slotInfo) []int {
	var order []int
	for slot := range slots {
		order = append(order, slot)
	}
	slices.SortFunc(order, func(a, b int) int {
		ra, rb := p.slotReady(a), p.slotReady(b)
		if ra != rb {
			if ra {
				return 1
			}
			return -1
		}
		return a - b
	})
	return order
}

// slotWorker returns the live worker of a slot that is not being stopped.
func (p *Primary) slotWorker(slot int) *Worker {
	for _, w := range p.table {
		if w.slot == slot && !w.IsDead() && !w.ExitedAfterDisconnect() {
			return w
		}
	}
	return nil
}

func (p *Primary) slotReady(slot int) bool {
	w := p.slotWorker(slot)
	return w != nil && w.IsReady()
}

func (p *Primary) readySlots(slots map[int]bool) int {
	n := 0
	for slot := range slots {
		if p.slotReady(slot) {
			n++
		}
	}
	return n
}

// rolloutExit is told of every worker exit; a new worker that dies before
// it is ready aborts the rollout.
func (p *Primary) rolloutExit(w *Worker, code int) {
	ro := p.rollout
	if ro == nil {
		return
	}
	if ro.fresh[w.slot] && !w.IsReady() && !w.ExitedAfterDisconnect() {
		p.abortRollout(fmt.Errorf("new worker %d exited (code %d) before it was ready", w.id, code))
		return
	}
	p.stepRollout()
}

// abortRollout stops the new workers that are not ready, keeps the rest,
// brings the count back to the target with the old settings, and ends the
// rollout with an error wrapping ErrReloadAborted and why.
func (p *Primary) abortRollout(why error) {
	ro := p.rollout
	kept := 0
	var stopped []*Worker
	for slot := range ro.fresh {
		if p.slotReady(slot) {
			kept++
			continue
		}
		p.dropSlot(slot)
		ws := p.slotWorkers(slot)
		stopped = append(stopped, ws...)
		stopAll(ws)
	}
	if kept == 0 && !ro.recycle && p.gen == ro.gen {
		// No worker of the new generation is kept: workers forked from now
		// on run the generation that keeps serving, not the build that
		// failed (its number is used again by the next reload).
		p.gen = ro.gen - 1
		for _, info := range ro.old {
			p.gen = max(p.gen, info.gen)
		}
	}
	for _, slot := range p.retireOrder(ro.old) {
		if len(ro.old)+kept <= ro.target {
			break
		}
		p.retire(ro, slot)
	}
	for i := 0; len(ro.old)+kept < ro.target && i < len(ro.retired); i++ {
		info := ro.retired[i] // restarted as it ran: its generation's program
		slot := p.newSlot(info.gen, info.settings, info.env, info.exe)
		if _, err := p.spawn(slot, 0); err != nil {
			p.restartLater(slot, 1) // its failures count from the next attempt on
		}
		kept++
	}
	err := fmt.Errorf("%w: generation %d: %w", ErrReloadAborted, ro.gen, why)
	if ro.recycle {
		p.log.Warn("cluster: recycling aborted; the worker keeps serving", "err", why)
	} else {
		p.log.Error("cluster: reload aborted; the old workers keep serving", "err", err)
	}
	p.finishRollout(err, append(stopped, ro.leaving...))
}

// finishRollout ends the rollout and reports its result; stopped are the
// workers it stopped that may still be listed.
func (p *Primary) finishRollout(err error, stopped []*Worker) {
	ro := p.rollout
	p.rollout = nil
	for _, info := range ro.retired {
		p.releaseExe(info.exe)
	}
	if ro.recycle {
		if err != nil {
			p.recycleHold = time.Now().Add(recycleBackoff)
		}
	} else {
		if err == nil {
			p.log.Info("cluster: reload done", "generation", ro.gen)
		}
		p.emit(Event{Type: EventReloadDone, Generation: ro.gen, Err: err})
	}
	if ro.done != nil {
		ro.done <- rolloutEnd{err: err, gone: p.whenGone(stopped)}
	}
	if p.again && !p.stopping {
		p.again = false
		p.onSIGHUP()
	}
}

// stopRollout ends a rollout because the cluster stops.
func (p *Primary) stopRollout() {
	if p.rollout != nil {
		p.again = false
		p.finishRollout(errors.Join(ErrReloadAborted, ErrNotRunning), nil)
	}
}

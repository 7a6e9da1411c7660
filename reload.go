package cluster

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// slotInfo is one place in the cluster a worker fills: its replacement
// after a crash takes the same slot, generation, settings and env.
type slotInfo struct {
	gen      int
	settings Settings
	env      []string
	exe      *exeRef // the program its generation runs; nil until its first start
	starts   int     // workers started in it so far
}

// newSlot adds a slot to keep filled (supervisor goroutine). exe, if not
// nil, is the program of the generation to run (a reference is taken).
func (p *Primary) newSlot(gen int, s Settings, env []string, exe *exeRef) int {
	p.nextSlot++
	p.slots[p.nextSlot] = &slotInfo{gen: gen, settings: s, env: env, exe: holdExe(exe)}
	return p.nextSlot
}

// dropSlot removes a slot: it is not refilled any more (supervisor
// goroutine).
func (p *Primary) dropSlot(slot int) {
	if info := p.slots[slot]; info != nil {
		p.releaseExe(info.exe)
	}
	delete(p.slots, slot)
	delete(p.deaths, slot)
}

// Reload replaces every worker with a new one, a few at a time, without
// dropping a connection: Node users know it as pm2's reload. The new
// workers form a new generation ([Worker.Generation], and [Generation] in the
// workers) and run the current Settings (see Setup), so a program that was
// rebuilt in place, or given a new Exec, is picked up; the old workers that
// still run, and their replacements after a crash, keep the build their
// generation started from (see [Settings.Exec] for the systems where this
// holds). At most
// [Config.MaxSurge] workers run beyond the count, and the ready ones never
// fall more than [Config.MaxUnready] below it: an old worker is told to
// drain ([Worker.Disconnect]) only once a new one has become ready in its
// place.
//
// Reload returns nil once every new worker is ready and every worker of an
// older generation has exited: Workers then lists only the new generation.
//
// If a new worker exits before it is ready, or is not ready within
// [Config.ReadyTimeout] ([DefaultReloadReadyTimeout] if that is 0), or ctx ends,
// the reload is aborted: the new workers that are not ready are stopped,
// the old ones that were not yet replaced keep serving, and Reload returns
// an error wrapping [ErrReloadAborted] and the reason. Unless ctx ended, it
// returns once the workers the reload stopped have exited: Workers then
// lists the survivors only.
//
// One reload runs at a time: Reload fails with [ErrReloading] while another
// is in progress. SIGHUP starts a reload too (unless [Config.NoSignals]); a
// SIGHUP during a reload starts one more after it. [EventReload] and
// [EventReloadDone] mark the start and end of each.
func (p *Primary) Reload(ctx context.Context) error {
	done := make(chan rolloutEnd, 1)
	var err error
	var ro *rollout
	if !p.call(func() { ro, err = p.startReload(done) }) {
		return ErrNotRunning
	}
	if err != nil {
		return err
	}
	select {
	case end := <-done:
		select {
		case <-end.gone:
		case <-ctx.Done():
		}
		return end.err
	case <-ctx.Done():
	}
	p.do(func() {
		if p.rollout == ro {
			p.abortRollout(ctx.Err())
		}
	})
	select {
	case end := <-done:
		return end.err
	case <-p.done:
		return ErrNotRunning
	}
}

// startReload begins a reload of every slot (supervisor goroutine).
func (p *Primary) startReload(done chan rolloutEnd) (*rollout, error) {
	if p.stopping {
		return nil, ErrNotRunning
	}
	if ro := p.rollout; ro != nil {
		if !ro.recycle {
			return nil, ErrReloading
		}
		p.abortRollout(fmt.Errorf("a reload replaces it"))
		p.recycleHold = time.Time{}
	}
	p.gen++
	ro := &rollout{gen: p.gen, settings: p.currentSettings(), target: len(p.slots),
		surge: max(p.cfg.MaxSurge, 0), unready: p.cfg.MaxUnready, done: done,
		old: make(map[int]*slotInfo), fresh: make(map[int]bool), gone: make(map[int]bool)}
	var slots []int
	for slot, info := range p.slots {
		ro.old[slot] = info
		slots = append(slots, slot)
	}
	slices.Sort(slots)
	for _, slot := range slots {
		ro.queue = append(ro.queue, queued{slot, p.slots[slot]})
	}
	p.log.Info("cluster: reload", "generation", ro.gen, "workers", ro.target)
	p.emit(Event{Type: EventReload, Generation: ro.gen})
	p.rollout = ro
	p.stepRollout()
	return ro, nil
}

// onSIGHUP starts a reload, or queues one more if one is running.
func (p *Primary) onSIGHUP() {
	if p.rollout != nil && !p.rollout.recycle {
		p.again = true
		p.log.Info("cluster: SIGHUP during a reload: another reload follows it")
		return
	}
	if _, err := p.startReload(nil); err != nil {
		p.log.Error("cluster: reload on SIGHUP", "err", err)
	}
}

// Scale, Reload and recycling share one rule: while a rollout runs, the
// set of slots belongs to it.
func (p *Primary) rolloutBusy() error {
	if p.rollout != nil && !p.rollout.recycle {
		return ErrReloading
	}
	return nil
}

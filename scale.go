package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Scale sets how many workers the cluster keeps (pm2's scale): it forks
// new ones with the current Settings, or stops the newest gracefully
// ([Worker.Disconnect]) until n are left. It returns once the new workers are
// started (watch Events for them to come online) and the ones it stopped
// have exited, so that Workers lists n workers; if ctx ends first it
// returns ctx's error, and the stops go on. Scale needs Run to be active;
// it fails with [ErrReloading] during a reload.
func (p *Primary) Scale(ctx context.Context, n int) error {
	if n < 0 {
		return fmt.Errorf("%w: Scale(%d): the count must not be negative", ErrInvalidConfig, n)
	}
	var err error
	var gone <-chan struct{}
	if !p.callCtx(ctx, func() {
		if p.stopping {
			err = ErrNotRunning
			return
		}
		if err = p.rolloutBusy(); err != nil {
			return
		}
		if p.rollout != nil { // a recycle: the count it keeps is about to change
			p.abortRollout(errors.New("Scale changes the count"))
		}
		gone, err = p.scale(n)
	}) {
		if ctx.Err() != nil {
			return fmt.Errorf("cluster: Scale(%d): %w", n, ctx.Err())
		}
		return ErrNotRunning
	}
	if gone == nil {
		return err
	}
	select {
	case <-gone:
		return err
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("cluster: Scale(%d): workers still stopping: %w", n, ctx.Err()))
	}
}

// scale runs on the supervisor goroutine. It returns a channel closed once
// no worker is listed beside those of the slots kept: those it stopped,
// and any stopped before (an earlier Scale, say).
func (p *Primary) scale(n int) (<-chan struct{}, error) {
	var slots []int
	for s := range p.slots {
		slots = append(slots, s)
	}
	slices.Sort(slots)
	var errs []error
	for i := len(slots); i < n; i++ {
		if _, err := p.fork(p.currentSettings(), nil); err != nil {
			errs = append(errs, err)
		}
	}
	for i := len(slots) - 1; i >= n; i-- {
		slot := slots[i]
		p.dropSlot(slot) // a pending restart of it is dropped too
		stopAll(p.slotWorkers(slot))
	}
	var leaving []*Worker
	for _, w := range p.table {
		if p.slots[w.slot] == nil {
			leaving = append(leaving, w)
		}
	}
	return p.whenGone(leaving), errors.Join(errs...)
}

package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Scale sets how many workers the cluster keeps: it forks new ones, or
// stops the newest gracefully (Worker.Disconnect) until n are left. It
// returns once the new workers are started and the stops begun; watch
// Events for them to come online or exit. Scale needs Run to be active.
func (p *Primary) Scale(n int) error {
	if n < 0 {
		return fmt.Errorf("%w: Scale(%d): the count must not be negative", ErrInvalidConfig, n)
	}
	var err error
	if !p.call(func() {
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
		err = p.scale(n)
	}) {
		return ErrNotRunning
	}
	return err
}

// scale runs on the supervisor goroutine.
func (p *Primary) scale(n int) error {
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
		for _, w := range p.table {
			if w.slot == slot && !w.ExitedAfterDisconnect() {
				go w.Disconnect(context.Background())
			}
		}
	}
	return errors.Join(errs...)
}

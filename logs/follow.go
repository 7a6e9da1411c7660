package logs

import (
	"context"
	"strconv"
)

// maxQueue is how many lines a follower may fall behind before lines are
// dropped for it.
const maxQueue = 4096

type follower struct {
	id      int // 0: every worker
	q       []Line
	dropped int
	wake    chan struct{}
}

// Follow calls fn with the last n lines of worker id (0: every worker and
// the primary; see [Dir.Tail]), then with each line written for it from
// then on, including the workers that start later and across rotations,
// until ctx ends (it returns ctx's error), fn fails (its error) or d
// closes ([ErrClosed]). No line is missed or repeated between the two. A
// reader that falls more than 4,096 lines behind loses the lines past
// that, and is told how many in a line of the primary's stderr.
func (d *Dir) Follow(ctx context.Context, id, n int, fn func(Line) error) error {
	f := &follower{id: id, wake: make(chan struct{}, 1)}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	// The files as they are when f starts to receive lines: the lines of
	// the tail are read from them once d.mu is released.
	var snap snapshot
	if n = min(n, MaxTail); n > 0 {
		var err error
		if snap, err = d.snapshotLocked(id); err != nil {
			d.mu.Unlock()
			return err
		}
	}
	d.subs[f] = struct{}{}
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.subs, f)
		d.mu.Unlock()
	}()
	tail, err := snap.tail(n)
	snap.close()
	if err != nil {
		return err
	}
	for _, l := range tail {
		if err := fn(l); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.done:
			return ErrClosed
		case <-f.wake:
		}
		d.mu.Lock()
		q, dropped := f.q, f.dropped
		f.q, f.dropped = nil, 0
		d.mu.Unlock()
		for _, l := range q {
			if err := fn(l); err != nil {
				return err
			}
		}
		if dropped > 0 {
			l := Line{Stream: Stderr, Text: "logs: " + strconv.Itoa(dropped) + " lines dropped: the reader fell behind"}
			if err := fn(l); err != nil {
				return err
			}
		}
	}
}

// deliverLocked queues l for each follower of its worker.
func (d *Dir) deliverLocked(l Line) {
	for f := range d.subs {
		if f.id != 0 && f.id != l.Worker {
			continue
		}
		if len(f.q) >= maxQueue {
			f.dropped++
			continue
		}
		f.q = append(f.q, l)
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

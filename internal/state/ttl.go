package state

import "time"

// The Store expires keys with one timer set to the earliest deadline. The
// deadlines wait in a min-heap of (deadline, key, revision) that is never
// searched: an item whose key was rewritten or deleted since is skipped when
// it comes due (lazy invalidation), and the heap is swept when stale items
// outnumber the live deadlines.

type ttlItem struct {
	at  int64 // Unix nanoseconds
	key string
	rev uint64 // revision of the write that set the deadline
}

type expiry struct {
	heap  []ttlItem
	live  int // keys that have a deadline now
	timer *time.Timer
	armed int64 // deadline the timer is set for, 0 when not set
}

// minSweep is the heap size below which stale items are not swept.
const minSweep = 64

// schedule records the deadline of n, just stored. s.mu is held.
func (s *Store) schedule(n *node) {
	x := &s.exp
	x.live++
	if len(x.heap) >= minSweep && len(x.heap) > 2*x.live {
		s.sweep()
	}
	x.push(ttlItem{at: n.expiry(), key: n.key(), rev: n.rev})
	if x.armed == 0 || n.expiry() < x.armed {
		s.arm(n.expiry())
	}
}

// sweep drops the stale items of the heap.
func (s *Store) sweep() {
	x := &s.exp
	kept := x.heap[:0]
	for _, it := range x.heap {
		if n := s.rep.m.get(it.key); n != nil && n.rev == it.rev {
			kept = append(kept, it)
		}
	}
	clear(x.heap[len(kept):])
	x.heap = kept
	for i := len(kept)/2 - 1; i >= 0; i-- {
		x.down(i)
	}
}

// arm sets the timer for the deadline at. s.mu is held.
func (s *Store) arm(at int64) {
	x := &s.exp
	d := time.Duration(at - s.now().UnixNano())
	if d < 0 {
		d = 0
	}
	if x.timer == nil {
		x.timer = time.AfterFunc(d, func() { s.expire() })
	} else {
		x.timer.Reset(d)
	}
	x.armed = at
}

// expire runs on the timer's goroutine: it deletes every key that is due,
// each with an OpExpire event, and sets the timer for the next deadline.
// It returns the number of keys expired.
func (s *Store) expire() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0
	}
	x := &s.exp
	x.armed = 0
	now := s.now().UnixNano()
	n := 0
	for len(x.heap) > 0 && x.heap[0].at <= now {
		it := x.pop()
		if old := s.rep.m.get(it.key); old != nil && old.rev == it.rev {
			s.removeLocked(old, OpExpire, nil)
			n++
		}
	}
	if len(x.heap) > 0 {
		s.arm(x.heap[0].at)
	}
	return n
}

func (x *expiry) stop() {
	if x.timer != nil {
		x.timer.Stop()
	}
	x.armed = 0
	x.heap = nil
}

func (x *expiry) push(it ttlItem) {
	x.heap = append(x.heap, it)
	i := len(x.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if x.heap[p].at <= x.heap[i].at {
			break
		}
		x.heap[p], x.heap[i] = x.heap[i], x.heap[p]
		i = p
	}
}

func (x *expiry) pop() ttlItem {
	it := x.heap[0]
	last := len(x.heap) - 1
	x.heap[0] = x.heap[last]
	x.heap[last] = ttlItem{}
	x.heap = x.heap[:last]
	x.down(0)
	return it
}

func (x *expiry) down(i int) {
	h := x.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].at < h[l].at {
			m = r
		}
		if h[i].at <= h[m].at {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

package state

import (
	"slices"
	"strings"
	"sync"
)

// WatchEvent is what a Watcher delivers. Value is read-only and set only for
// OpPut.
type WatchEvent struct {
	Op    Op
	Key   string
	Value []byte
	Rev   uint64
}

// Watcher delivers the entries under a prefix and then their changes. See
// Replica.Watch.
type Watcher struct {
	prefix string
	r      *Replica
	idx    int // position in r.watchers, -1 when not registered; under r.mu

	mu     sync.Mutex
	q      []WatchEvent  // queued, not yet handed to the feeding goroutine
	notify chan struct{} // capacity 1: the queue is not empty

	c      chan WatchEvent
	done   chan struct{} // closed by stop
	exited chan struct{} // closed when the feeding goroutine has returned
	once   sync.Once
}

// Watch returns a Watcher whose channel delivers, in order:
//
//   - an OpPut WatchEvent for every current entry whose key has the prefix,
//     sorted by key, with the entry's Rev;
//   - one WatchEvent{Op: OpSynced, Rev: r} where r is the replica's revision
//     at registration: the entries above are the content at r;
//   - every later change (OpPut, OpDelete, OpExpire) of a key with the
//     prefix, in revision order.
//
// Registration is atomic with respect to Apply: no change is lost or seen
// twice between the entries and the stream. The watcher's queue is
// unbounded and fed by its own goroutine, so a slow reader never blocks
// Apply; a reader that stops must Close the watcher. On a closed replica,
// Watch returns a watcher whose channel is closed.
func (r *Replica) Watch(prefix string) *Watcher {
	w := &Watcher{
		prefix: prefix,
		r:      r,
		idx:    -1,
		notify: make(chan struct{}, 1),
		c:      make(chan WatchEvent),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		go w.run()
		w.stop()
		return w
	}
	var initial []WatchEvent
	r.m.each(func(n *node) bool {
		if strings.HasPrefix(n.key(), prefix) {
			initial = append(initial, WatchEvent{Op: OpPut, Key: n.key(), Value: n.val(), Rev: n.rev})
		}
		return true
	})
	initial = append(initial, WatchEvent{Op: OpSynced, Rev: r.rev.Load()})
	w.idx = len(r.watchers)
	r.watchers = append(r.watchers, w)
	r.mu.Unlock()

	// Changes may be queued from here on: put the initial part in front.
	body := initial[:len(initial)-1]
	slices.SortFunc(body, func(a, b WatchEvent) int { return strings.Compare(a.Key, b.Key) })
	w.mu.Lock()
	w.q = append(initial, w.q...)
	w.mu.Unlock()
	go w.run()
	return w
}

// C returns the channel of the watcher. It is closed after Close (or the
// replica's Close).
func (w *Watcher) C() <-chan WatchEvent { return w.c }

// Close stops the watcher: no more events are queued, the feeding goroutine
// returns, the channel is closed and the queue is released. It may be called
// more than once, from any goroutine, but not from inside Replica.Range.
func (w *Watcher) Close() {
	r := w.r
	r.mu.Lock()
	if i := w.idx; i >= 0 {
		last := len(r.watchers) - 1
		r.watchers[i] = r.watchers[last]
		r.watchers[i].idx = i
		r.watchers[last] = nil
		r.watchers = r.watchers[:last]
		w.idx = -1
	}
	r.mu.Unlock()
	w.stop()
}

// stop ends the feeding goroutine once it is no longer registered.
func (w *Watcher) stop() {
	w.once.Do(func() {
		close(w.done)
		<-w.exited
		w.mu.Lock()
		w.q = nil
		w.mu.Unlock()
	})
}

// notify queues ev for every watcher whose prefix matches. r.mu is held.
func (r *Replica) notify(ev WatchEvent) {
	for _, w := range r.watchers {
		if strings.HasPrefix(ev.Key, w.prefix) {
			w.push(ev)
		}
	}
}

func (w *Watcher) push(ev WatchEvent) {
	w.mu.Lock()
	w.q = append(w.q, ev)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// maxSpare bounds the queue buffer the feeding goroutine keeps for reuse.
const maxSpare = 1024

// run feeds w.c from the queue until stop.
func (w *Watcher) run() {
	defer close(w.exited)
	defer close(w.c)
	var spare []WatchEvent
	for {
		w.mu.Lock()
		batch := w.q
		w.q = spare
		w.mu.Unlock()
		if len(batch) == 0 {
			spare = batch
			select {
			case <-w.notify:
				continue
			case <-w.done:
				return
			}
		}
		for _, ev := range batch {
			select {
			case w.c <- ev:
			case <-w.done:
				return
			}
		}
		clear(batch)
		spare = batch[:0]
		if cap(spare) > maxSpare {
			spare = nil
		}
	}
}

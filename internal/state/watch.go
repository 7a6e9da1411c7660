package state

import (
	"slices"
	"strings"
	"sync"

	"github.com/gocluster/cluster/internal/queue"
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
	q      queue.Unbounded[WatchEvent]

	// Until Watch has queued the entries (sorted outside r.mu), the changes
	// wait in early.
	mu    sync.Mutex
	ready bool
	early []WatchEvent
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
// unbounded (see queue.Unbounded), so a slow reader never blocks Apply; a
// reader that stops must Close the watcher. On a closed replica, Watch
// returns a watcher whose channel is closed.
func (r *Replica) Watch(prefix string) *Watcher {
	w := &Watcher{prefix: prefix, r: r, idx: -1}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		w.q.Stop()
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

	// Changes may come from here on: they wait until the entries are queued.
	body := initial[:len(initial)-1]
	slices.SortFunc(body, func(a, b WatchEvent) int { return strings.Compare(a.Key, b.Key) })
	w.mu.Lock()
	w.q.PushAll(initial)
	w.q.PushAll(w.early)
	w.early, w.ready = nil, true
	w.mu.Unlock()
	return w
}

// C returns the channel of the watcher. It is closed after Close (or the
// replica's Close).
func (w *Watcher) C() <-chan WatchEvent { return w.q.C() }

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

// stop drops the queue and ends its goroutine once w is no longer
// registered.
func (w *Watcher) stop() {
	w.q.Stop()
	w.mu.Lock()
	w.early = nil
	w.mu.Unlock()
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
	if w.ready {
		w.q.Push(ev)
	} else {
		w.early = append(w.early, ev)
	}
	w.mu.Unlock()
}

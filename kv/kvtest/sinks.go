package kvtest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocluster/cluster/kv"
)

// errGone is what a recorder's Wait returns once its test has stopped it.
var errGone = errors.New("kvtest: sink stopped")

// recorder is a [kv.Sink] that keeps a replica of what it is handed and
// checks the stream as it comes: pieces in their place among the changes,
// changes at consecutive revisions, one last piece, no two calls at once
// and no call after its subscription was removed. It copies what it gets.
// Its violations are kept and reported by check, on the test's goroutine.
type recorder struct {
	in, overlaps atomic.Int32 // calls of Snapshot and Changes in progress; overlaps seen

	// Pacing of Wait: with a gate, every Wait signals waiting and returns
	// when the test sends on gate; opened and gone end the pacing.
	gated   bool
	waiting chan struct{}
	gate    chan struct{}
	opened  chan struct{}
	gone    chan struct{}
	once    sync.Once // closes opened
	stopped sync.Once // closes gone

	mu         sync.Mutex
	replica    map[string]kv.Entry
	changes    []kv.Change // every change, copied
	pieces     int
	pos        uint64 // revision of the stream: the last change's, or the last piece's
	posKnown   bool
	last       bool          // the last piece came
	resets     int           // fresh contents announced (Reset)
	lastAt     uint64        // its revision
	detached   bool          // the test removed the subscription: no call may come
	violations []string      // contract violations seen during the calls
	notify     chan struct{} // closed and replaced on every call
	times      []time.Time   // when each change came
}

// newRecorder returns a recorder; a gated one paces the content with the
// test (see waitParked).
func newRecorder(gated bool) *recorder {
	return &recorder{gated: gated, waiting: make(chan struct{}), gate: make(chan struct{}),
		opened: make(chan struct{}), gone: make(chan struct{}), replica: make(map[string]kv.Entry),
		notify: make(chan struct{})}
}

// Wait implements [kv.Sink].
func (r *recorder) Wait(int) error {
	if !r.gated {
		select {
		case <-r.gone:
			return errGone
		default:
			return nil
		}
	}
	select {
	case r.waiting <- struct{}{}:
	case <-r.opened:
		return nil
	case <-r.gone:
		return errGone
	}
	select {
	case <-r.gate:
		return nil
	case <-r.opened:
		return nil
	case <-r.gone:
		return errGone
	}
}

// open lets every Wait return at once from now on.
func (r *recorder) open() { r.once.Do(func() { close(r.opened) }) }

// stop makes Wait fail: the Backend may end the subscription.
func (r *recorder) stop() { r.stopped.Do(func() { close(r.gone) }) }

// enter and exit bracket a call, detecting overlapping ones.
func (r *recorder) enter() {
	if r.in.Add(1) != 1 {
		r.overlaps.Add(1)
	}
}

func (r *recorder) exit() { r.in.Add(-1) }

// violate records a violation; r.mu is held.
func (r *recorder) violate(format string, args ...any) {
	if len(r.violations) < 20 {
		r.violations = append(r.violations, fmt.Sprintf(format, args...))
	}
}

// wake tells waitFor that something came; r.mu is held.
func (r *recorder) wake() {
	close(r.notify)
	r.notify = make(chan struct{})
}

// Snapshot implements [kv.Sink].
func (r *recorder) Snapshot(rev uint64, entries []kv.Entry, last bool) {
	r.enter()
	defer r.exit()
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.wake()
	switch {
	case r.detached:
		r.violate("Snapshot called after Unsubscribe returned (or the sink was replaced)")
	case r.last:
		r.violate("piece at revision %d after the last piece", rev)
	case r.posKnown && rev != r.pos:
		r.violate("piece at revision %d out of its place: the last change before it has revision %d", rev, r.pos)
	}
	r.pos, r.posKnown = rev, true
	r.pieces++
	for _, e := range entries {
		e.Value = append([]byte(nil), e.Value...)
		r.replica[e.Key] = e
	}
	if last {
		r.last, r.lastAt = true, rev
	}
}

// Reset implements [kv.Sink]: the replica is void; pieces of a fresh
// content follow.
func (r *recorder) Reset() {
	r.enter()
	defer r.exit()
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.wake()
	if r.detached {
		r.violate("Reset called after Unsubscribe returned (or the sink was replaced)")
	}
	r.resets++
	r.replica = make(map[string]kv.Entry)
	r.last, r.posKnown = false, false
}

// Changes implements [kv.Sink].
func (r *recorder) Changes(cs []kv.Change) {
	r.enter()
	defer r.exit()
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.wake()
	if r.detached {
		r.violate("Changes called after Unsubscribe returned (or the sink was replaced)")
	}
	if len(cs) == 0 {
		r.violate("Changes called with no change")
	}
	now := time.Now()
	for _, c := range cs {
		if r.posKnown && c.Rev != r.pos+1 {
			r.violate("change %v %q at revision %d after revision %d: a gap, a repeat or a change out of order", c.Op, c.Key, c.Rev, r.pos)
		}
		r.pos, r.posKnown = c.Rev, true
		c.Value = append([]byte(nil), c.Value...)
		r.changes = append(r.changes, c)
		r.times = append(r.times, now)
		switch c.Op {
		case kv.OpPut:
			r.replica[c.Key] = kv.Entry{Key: c.Key, Value: c.Value, Rev: c.Rev, Created: c.Created, Expires: c.Expires, Owner: c.Owner}
		case kv.OpDelete, kv.OpExpire:
			delete(r.replica, c.Key)
		default:
			r.violate("change %q at revision %d with op %v", c.Key, c.Rev, c.Op)
		}
	}
}

// detach marks the subscription as removed: any later call is a violation.
func (r *recorder) detach() {
	r.mu.Lock()
	r.detached = true
	r.mu.Unlock()
}

// check reports the violations seen so far and overlapping calls.
func (r *recorder) check(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.violations {
		t.Errorf("sink: %s", v)
	}
	r.violations = nil
	if n := r.overlaps.Swap(0); n > 0 {
		t.Errorf("sink: %d calls of Snapshot or Changes overlapped another call", n)
	}
}

// waitFor waits, up to waitTimeout, until cond (called with r.mu held)
// holds; what names the wait in the failure.
func (r *recorder) waitFor(t testing.TB, what string, cond func(r *recorder) bool) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		r.mu.Lock()
		ok, ch := cond(r), r.notify
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			r.check(t)
			t.Fatalf("waited %v for the sink to get %s", waitTimeout, what)
		}
	}
}

// synced waits for the last piece of the content.
func (r *recorder) synced(t testing.TB) {
	t.Helper()
	r.waitFor(t, "the last piece of the content", func(r *recorder) bool { return r.last })
}

// state returns how many pieces came, the revision of the stream and that
// of the last piece.
func (r *recorder) state() (pieces int, pos, lastAt uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pieces, r.pos, r.lastAt
}

// snapshot returns a copy of the replica and the changes so far.
func (r *recorder) snapshot() (map[string]kv.Entry, []kv.Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[string]kv.Entry, len(r.replica))
	for k, e := range r.replica {
		m[k] = e
	}
	return m, append([]kv.Change(nil), r.changes...)
}

// subscribe subscribes r to b under id; the test's cleanup stops r and
// unsubscribes it (before the Backend is closed).
func subscribe(t testing.TB, b kv.Backend, id uint64, r *recorder) {
	t.Helper()
	if err := b.Subscribe(id, r); err != nil {
		t.Fatalf("Subscribe(%d): %v", id, err)
	}
	t.Cleanup(func() {
		r.stop()
		b.Unsubscribe(id)
		r.detach()
		r.check(t)
	})
}

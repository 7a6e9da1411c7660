package kv

import (
	"sync"

	"github.com/gocluster/cluster/internal/state"
)

// hub hands a [state.Store]'s content and changes to the Sinks subscribed
// to a Backend built on it: the [Engine], and the [Mirror] of a remote
// store.
type hub struct {
	s *state.Store

	mu     sync.Mutex
	subs   map[uint64]*engineSub // protected by mu
	closed bool                  // protected by mu
}

func newHub(s *state.Store) hub {
	return hub{s: s, subs: make(map[uint64]*engineSub)}
}

// Subscribe registers sink; see [Backend.Subscribe]. A goroutine hands it
// the content in pieces of about 128 KiB, waiting on [Sink.Wait] before
// each; Unsubscribe joins it.
func (e *hub) Subscribe(id uint64, sink Sink) error {
	e.Unsubscribe(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	sub := newEngineSub(sink)
	e.subs[id] = sub
	go sub.stream(e.s.AddSink(id, sub))
	return nil
}

// Unsubscribe removes the sink of id and waits for its snapshot's goroutine.
func (e *hub) Unsubscribe(id uint64) {
	e.s.RemoveSink(id) // its snapshot's Next now fails
	e.mu.Lock()
	sub := e.subs[id]
	delete(e.subs, id)
	e.mu.Unlock()
	if sub != nil {
		<-sub.done
	}
}

// isClosed reports whether close was called.
func (e *hub) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// close ends every subscription and closes the store.
func (e *hub) close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.s.Close()
}

// engineSub is one subscription: it hands the store's events to the sink,
// holding those of a batch of writes to hand them over together. A sink
// that is a state.Feed (the cluster's transport, a handle's replica) takes
// them as the store has them; any other gets [Change]s.
type engineSub struct {
	sink Sink
	feed state.Feed    // the sink, if it is one
	done chan struct{} // closed when stream returns

	// Used under the store's lock.
	held    bool
	evs     []state.Event
	one     [1]state.Event
	changes []Change
	entries []Entry
}

func newEngineSub(sink Sink) *engineSub {
	s := &engineSub{sink: sink, done: make(chan struct{})}
	s.feed, _ = sink.(state.Feed)
	return s
}

// piece hands the sink one piece of the content; the store's lock is held.
func (s *engineSub) piece(rev uint64, entries []state.Entry, last bool) {
	if s.feed != nil {
		s.feed.Piece(rev, entries, last)
		return
	}
	s.entries = s.entries[:0]
	for _, se := range entries {
		s.entries = append(s.entries, entryOf(se))
	}
	s.sink.Snapshot(rev, s.entries, last)
	clear(s.entries)
	if last { // the content is whole: the buffer is not kept
		s.entries = nil
	}
}

func (s *engineSub) stream(sn *state.Snapshot) {
	defer close(s.done)
	send := func(pc state.Piece) { s.piece(pc.Rev, pc.Entries, pc.Last) }
	for {
		if s.sink.Wait(snapshotPiece) != nil {
			return
		}
		last, err := sn.Next(snapshotPiece, send)
		if err != nil || last { // s.entries is Reset's too: used under the store's lock only
			return
		}
	}
}

// Reset implements state.Resetter: the sink is told that what it holds is
// void, then gets the new content in pieces of about 128 KiB, at once (not
// paced by Wait: a reset is rare, and its content must come before any
// later change).
func (s *engineSub) Reset(rev uint64, entries []state.Entry) {
	s.sink.Reset()
	for {
		n, size := 0, 0
		for n < len(entries) && (n == 0 || size < snapshotPiece) {
			size += len(entries[n].Key) + len(entries[n].Value)
			n++
		}
		last := n == len(entries)
		s.piece(rev, entries[:n], last)
		if entries = entries[n:]; last {
			return
		}
	}
}

// Event implements state.Sink.
func (s *engineSub) Event(ev state.Event) {
	if s.held {
		s.evs = append(s.evs, ev)
		return
	}
	s.one[0] = ev
	s.hand(s.one[:])
	s.one[0] = state.Event{}
}

// Hold implements state.Batcher.
func (s *engineSub) Hold() { s.held = true }

// Release implements state.Batcher.
func (s *engineSub) Release() {
	s.held = false
	if len(s.evs) > 0 {
		s.hand(s.evs)
		clear(s.evs)
		s.evs = s.evs[:0]
	}
}

// hand gives evs to the sink.
func (s *engineSub) hand(evs []state.Event) {
	if s.feed != nil {
		s.feed.Events(evs)
		return
	}
	cs := s.changes[:0]
	for i := range evs {
		cs = append(cs, changeOf(&evs[i]))
	}
	s.sink.Changes(cs)
	clear(cs)
	s.changes = cs[:0]
}

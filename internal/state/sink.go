package state

import "slices"

// Sink receives the changes of a Store, in revision order; the transport
// registers one per worker connection. Its Event is called with the store's
// write lock held, on the goroutine that made the change (or the TTL
// timer's): it must return quickly (encode, enqueue), must not wait for the
// peer, and must not call the Store. The events it is given are immutable
// and may be kept.
type Sink interface {
	// Event is called for every change after the sink was added, in
	// revision order, with no gap.
	Event(ev Event)
}

// A Batcher is a Sink that can hold the events of a batch of writes (see
// Store.ApplyBatch) and pass them on together: Hold is called before the
// batch's first event, Release after its last, both under the store's lock
// like Event. Events outside Hold and Release go on at once.
type Batcher interface {
	Sink
	Hold()
	Release()
}

type sinkEntry struct {
	id   uint64
	sink Sink
	snap *Snapshot
}

// AddSink registers sink under id (replacing a sink of the same id): its
// Event is called for every later change. It returns the Snapshot that
// hands out the current content in pieces, each in its place among those
// events (see [Snapshot.Next]): a replica that applies the pieces and the
// events in that order holds the store's content after the last piece and
// follows it from then on. After [Store.Close] the sink is not registered and
// the snapshot's Next fails with [ErrClosed].
func (s *Store) AddSink(id uint64, sink Sink) *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := &Snapshot{s: s, rev: s.rep.Rev()}
	if s.closed {
		return sn
	}
	s.removeSinkLocked(id)
	s.sinks = append(s.sinks, sinkEntry{id: id, sink: sink, snap: sn})
	return sn
}

// RemoveSink unregisters the sink of id, if any. Once it returns, the sink
// is not called again.
func (s *Store) RemoveSink(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeSinkLocked(id)
}

func (s *Store) removeSinkLocked(id uint64) {
	for i, se := range s.sinks {
		if se.id == id {
			s.sinks = slices.Delete(s.sinks, i, i+1)
			return
		}
	}
}

func (s *Store) emit(ev Event) {
	for _, se := range s.sinks {
		se.sink.Event(ev)
	}
}

// hold and release bracket a batch for the sinks that are Batchers.
func (s *Store) hold() {
	for _, se := range s.sinks {
		if b, ok := se.sink.(Batcher); ok {
			b.Hold()
		}
	}
}

func (s *Store) release() {
	for _, se := range s.sinks {
		if b, ok := se.sink.(Batcher); ok {
			b.Release()
		}
	}
}

// A Feed is a subscriber that takes a Store's content and events as the
// Store has them, with no conversion: the transports' sinks and the
// replicas behind a public handle implement it beside their public
// interface, and a Backend on a Store hands them over as they are. Its
// methods are called under the same rules as Sink.Event; what they are
// given is valid only during the call.
type Feed interface {
	// Events takes changes, in revision order.
	Events(evs []Event)
	// Piece takes one piece of the content at revision rev; last is set on
	// the last one.
	Piece(rev uint64, entries []Entry, last bool)
}

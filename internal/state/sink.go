package state

import "slices"

// Sink receives the changes of a Store, in revision order; the transport
// registers one per worker connection. Its methods are called with the
// store's write lock held, on the goroutine that made the change (or the TTL
// timer's): they must return quickly (encode, enqueue), must not wait for
// the peer, and must not call the Store. The entries and events they are
// given are immutable and may be kept.
type Sink interface {
	// Snapshot is called once, by AddSink, with every entry and the revision
	// they stand for.
	Snapshot(rev uint64, entries []Entry)
	// Event is called for every later change, in revision order, with no
	// gap after the snapshot's revision.
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
}

// AddSink registers sink under id (replacing a sink of the same id) and
// calls its Snapshot with the current content, then its Event for every
// later change: atomically, with no gap and no duplicate. It does nothing
// after Close.
func (s *Store) AddSink(id uint64, sink Sink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.removeSinkLocked(id)
	rev, entries := s.rep.Entries()
	sink.Snapshot(rev, entries)
	s.sinks = append(s.sinks, sinkEntry{id: id, sink: sink})
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

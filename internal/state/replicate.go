package state

// A Store can also follow another store: a remote backend's log. Its
// revisions are then the other store's, its own writes are not used, and
// owners and deadlines are the other store's business (it deletes owned
// and expired keys itself, and its log says so).

// A Resetter is a Sink that can take a fresh content: see [Store.Reset].
type Resetter interface {
	Sink
	// Reset takes the whole new content, at revision rev, replacing what
	// the sink had; it is called with the store's lock held, like Event.
	// The entries are read-only and valid only during the call.
	Reset(rev uint64, entries []Entry)
}

// Replicate applies events another store made, in revision order, and
// hands them to the sinks as ApplyBatch hands over its writes' changes (a
// Batcher gets them together). An event at or below Rev() was applied
// already and is skipped. Events keep their Created, Expires, Owner,
// Origin and Tag. After Close it does nothing.
func (s *Store) Replicate(evs []Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.hold()
	defer s.release()
	for i := range evs {
		ev := evs[i]
		if ev.Rev <= s.rep.Rev() {
			continue
		}
		s.rep.mu.Lock()
		n, _ := s.rep.applyLocked(&ev)
		s.rep.mu.Unlock()
		if n != nil { // the sinks get the stored copies, which are immutable
			ev.Key, ev.Value, ev.Created = n.key(), n.val(), n.created
		}
		s.emit(ev)
	}
}

// Reset replaces the content with entries at revision rev, whatever the
// current revision: the other store's content after a gap in its log or a
// loss of its data. The replica's watchers see the difference (see
// [Replica.Load]). Every sink that is a Resetter gets the new content
// through Reset, before any later event, and its snapshot ends (its Next
// reports the last piece sent); any other sink is removed, as it could only
// be fed a gap. After Close it does nothing.
func (s *Store) Reset(rev uint64, entries []Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.rep.Load(rev, entries)
	s.rep.mu.Lock()
	_, content := s.rep.entriesLocked() // the stored copies
	s.rep.mu.Unlock()
	kept := s.sinks[:0]
	for _, se := range s.sinks {
		if r, ok := se.sink.(Resetter); ok {
			se.snap.done, se.snap.entries = true, nil
			r.Reset(rev, content)
			kept = append(kept, se)
		}
	}
	clear(s.sinks[len(kept):])
	s.sinks = kept
}

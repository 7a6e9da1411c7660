package state

// Snapshots in pieces. A new sink needs the content of the store before its
// events. Copied whole, that content costs the primary a copy of the store
// for every worker that starts, and as much again for its encoding. Instead
// the transport walks the store with a Snapshot, one piece of bounded size
// at a time, when the worker's channel has room for it.
//
// A piece is the current content of a range of hashes: the entries whose
// key hashes into it. It is taken with the store's write lock held and
// handed to the transport there, so it takes its place in the sink's stream
// of events: after every change it includes, before every change it does
// not. The pieces' ranges are consecutive and cover every hash once. A
// replica that starts empty and applies the stream in order (an event as
// Apply does, a piece as LoadPiece does) holds, after the last piece, the
// store's content at that piece's revision, and from then on follows the
// store. For each key, either nothing touched it since the sink was added
// (the piece that covers its hash carries it as it is), or the last thing
// the replica applied to it is an event, or the covering piece taken after
// that event, which carries the key as that event left it.
//
// The pieces follow the order of the hashes, which the table keeps in any
// size (a home slot is the top bits of a hash, see table.go), so a table
// rebuilt between two pieces changes nothing for the walk: the next piece
// starts at the first hash not yet covered.

// Snapshot walks the content of a [Store] for one sink, in pieces: see
// [Store.AddSink]. Its methods must be called from one goroutine at a time.
// The send function given to [Snapshot.Next] is called by that goroutine.
type Snapshot struct {
	s       *Store
	rev     uint64  // the store's revision when the sink was added
	next    uint64  // every hash below it has been covered
	done    bool    // the last piece was sent
	entries []Entry // the piece being sent, reused
}

// Piece is one piece of a [Snapshot].
type Piece struct {
	// Rev is the store's revision when the piece was taken.
	Rev uint64
	// Entries are the current entries of the piece's range of hashes, in no
	// particular order. They are read-only and valid only during the call
	// of the send function that gets them (they are reused).
	Entries []Entry
	// Last is set on the last piece: once it is applied, the replica holds
	// the whole content of the store, at revision Rev.
	Last bool
}

// Rev returns the store's revision when the snapshot's sink was added: its
// events start at the next revision.
func (sn *Snapshot) Rev() uint64 { return sn.rev }

// Next takes the next piece, of about size bytes of keys and values (at
// least one entry, whatever its size, unless the range it covers is empty),
// and passes it to send with the store's write lock held. send must put the
// piece in the queue of the sink's events (the sink's Event is not called
// meanwhile), quickly, and must not call the Store. Next reports whether
// that piece was the last; once it was, Next does nothing and reports true.
// It fails with [ErrClosed] after [Store.Close], and with [ErrSinkRemoved]
// once the sink was removed or replaced: its stream has ended.
func (sn *Snapshot) Next(size int, send func(Piece)) (last bool, err error) {
	s := sn.s
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case sn.done:
		return true, nil
	case s.closed:
		return false, ErrClosed
	case !s.streamsLocked(sn):
		return false, ErrSinkRemoved
	}
	var next uint64
	sn.entries, next, sn.done = s.rep.m.collect(sn.next, size, sn.entries[:0])
	send(Piece{Rev: s.rep.Rev(), Entries: sn.entries, Last: sn.done})
	clear(sn.entries) // they would keep deleted values alive
	sn.next = next
	if sn.done {
		sn.entries = nil
	}
	return sn.done, nil
}

// streamsLocked reports whether sn belongs to a registered sink.
func (s *Store) streamsLocked(sn *Snapshot) bool {
	for _, se := range s.sinks {
		if se.snap == sn {
			return true
		}
	}
	return false
}

// pieceOverhead is what an entry adds to the size of a piece besides its
// key and value: its encoded lengths and numbers, about.
const pieceOverhead = 16

// collect appends to out the entries whose hash is at least from and below
// the end it returns, which it chooses so that they hold about size bytes
// (see Snapshot.Next); last reports that the range reaches the top of the
// hashes. The caller excludes writers.
//
// It scans the slots from the home of from. A node whose home is at most
// its slot did not wrap around the end of the table; one whose home is
// above its slot did, and only the last range takes those. The scan stops
// at an empty slot z: every node whose home is below z, and which did not
// wrap, sits below z (no empty slot separates a node from its home), so the
// range ends at the first hash of home z. It also stops once it has read
// about size bytes of slots, so that a sparse table costs no more than a
// full one.
func (m *hashMap) collect(from uint64, size int, out []Entry) (_ []Entry, end uint64, last bool) {
	t := m.cur.Load()
	a := t.home(from)
	n := uint64(len(t.slots))
	bytes := 0
	for i := a; i < n; i++ {
		c := t.slots[i].Load()
		if c == nil {
			if i > a && (bytes >= size || int(i-a) >= size/8) {
				return out, i << (t.shift & 63), false
			}
			continue
		}
		if c == tombstone || c.hash < from || t.home(c.hash) > i {
			continue
		}
		out = append(out, c.entry())
		bytes += len(c.key()) + int(c.vlen) + pieceOverhead
	}
	// The last range: the nodes that wrapped around sit before the first
	// empty slot.
	for i := uint64(0); i < n; i++ {
		c := t.slots[i].Load()
		if c == nil {
			break
		}
		if c != tombstone && c.hash >= from && t.home(c.hash) > i {
			out = append(out, c.entry())
		}
	}
	return out, 0, true
}

// LoadPiece applies a piece of a snapshot taken at revision rev, received
// in the order of the stream (see [Snapshot]): it stores each entry as it is,
// with its own revisions, and moves the replica to revision rev. It copies
// the entries. Watchers get an OpPut for every entry that is new or has
// another revision. A replica fed by a Snapshot must start empty.
func (r *Replica) LoadPiece(rev uint64, entries []Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range entries {
		n, old := r.m.put(e)
		if len(r.watchers) > 0 && (old == nil || old.rev != n.rev) {
			r.notify(WatchEvent{Op: OpPut, Key: n.key(), Value: n.val(), Rev: n.rev})
		}
	}
	if rev > r.rev.Load() {
		r.rev.Store(rev)
	}
}

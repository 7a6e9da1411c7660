package state

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of StoreOptions.
const (
	DefaultMaxKeySize   = 4096
	DefaultMaxValueSize = 1 << 20
	// MaxSize is the most bytes a key or a value may have (a node keeps
	// their lengths in 32 bits; an int holds it on every platform).
	MaxSize = 1<<31 - 1
)

// StoreOptions configures a Store. The zero value works.
type StoreOptions struct {
	// MaxKeySize and MaxValueSize bound the keys and values of writes, in
	// bytes (0 means DefaultMaxKeySize, DefaultMaxValueSize). Both are
	// capped at MaxSize.
	MaxKeySize, MaxValueSize int
	// Now is the clock of the TTL deadlines (nil means time.Now). The expiry
	// timer itself runs on real time.
	Now func() time.Time
}

// Kind is the kind of a Write.
type Kind uint8

// Kinds of writes. Their values are part of the wire encoding.
const (
	// KindPut sets the key, whether it exists or not.
	KindPut Kind = 1
	// KindCreate sets the key only if it is absent, else fails with
	// ErrExists.
	KindCreate Kind = 2
	// KindUpdate sets the key only if it exists with Rev == PrevRev
	// (compare-and-set), else fails with ErrConflict.
	KindUpdate Kind = 3
	// KindDelete removes the key. An absent key is not an error: the result
	// has Rev 0 and no revision is used. With PrevRev != 0 it removes the key
	// only if it exists with Rev == PrevRev, else fails with ErrConflict.
	KindDelete Kind = 4
)

// String returns the lower-case name of k, as "put".
func (k Kind) String() string {
	switch k {
	case KindPut:
		return "put"
	case KindCreate:
		return "create"
	case KindUpdate:
		return "update"
	case KindDelete:
		return "delete"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Write is one write request.
//
// TTL and Owner replace those of the previous value, like the Redis SET
// command: a write with TTL 0 clears the key's deadline, and a write with
// Owner 0 makes the key ownerless. KindDelete ignores Value, TTL and Owner.
type Write struct {
	Kind Kind
	Key  string
	// Value is copied; the caller may reuse it when Apply returns.
	Value []byte
	// PrevRev is the revision KindUpdate (and a conditional KindDelete)
	// expects the key to have.
	PrevRev uint64
	// TTL > 0 sets the deadline to now + TTL; 0 means none. Negative is
	// malformed.
	TTL time.Duration
	// Owner != 0 ties the key to that worker: DropOwner(Owner) deletes it.
	Owner uint64
	// Origin and Tag are handed to the sinks with the change this write
	// makes (Event.Origin, Event.Tag): the transport sets Origin to the id
	// of the writer's sink and Tag to its request, so that the change sent
	// to the writer also answers the write.
	Origin, Tag uint64
}

// Result is the outcome of a write.
type Result struct {
	// Rev is the revision of the change, 0 if nothing changed (a delete of
	// an absent key, or an error).
	Rev uint64
	// Prev is the entry before the write, zero (Prev.Rev == 0) if the key
	// was absent. After ErrExists or ErrConflict it is the current entry.
	Prev Entry
}

// Store is the authoritative copy of the state, in the primary. It is safe
// for concurrent use: one mutex serializes the writes, which form one total
// order of revisions. The zero Store is not usable; call NewStore.
type Store struct {
	maxKey, maxValue int
	now              func() time.Time

	mu     sync.Mutex
	rep    *Replica
	sinks  []sinkEntry
	owners map[uint64]map[string]struct{} // owner -> its keys
	exp    expiry
	loads  map[string]*load
	closed bool
}

// NewStore returns an empty Store at revision 0.
func NewStore(opts StoreOptions) *Store {
	s := &Store{
		maxKey:   opts.MaxKeySize,
		maxValue: opts.MaxValueSize,
		now:      opts.Now,
		rep:      NewReplica(),
		owners:   make(map[uint64]map[string]struct{}),
		loads:    make(map[string]*load),
	}
	if s.maxKey <= 0 {
		s.maxKey = DefaultMaxKeySize
	}
	if s.maxValue <= 0 {
		s.maxValue = DefaultMaxValueSize
	}
	s.maxKey, s.maxValue = min(s.maxKey, MaxSize), min(s.maxValue, MaxSize)
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Replica returns the primary's read view. It has applied every write before
// that write's Apply returns. Read it and Watch it, but never call its Apply
// or Load: the Store is its only writer.
func (s *Store) Replica() *Replica { return s.rep }

// Rev returns the revision of the last change.
func (s *Store) Rev() uint64 { return s.rep.Rev() }

// Apply performs w and returns its revision. It fails with ErrEmptyKey,
// ErrKeyTooLarge, ErrValueTooLarge or ErrMalformed for a bad write, with
// ErrExists or ErrConflict when the condition of w does not hold, and with
// ErrClosed after Close. Before Apply returns, the change is in the store's
// replica, every sink has been given its event and every matching watcher
// has it queued.
func (s *Store) Apply(w Write) (Result, error) {
	if err := s.check(w); err != nil {
		return Result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Result{}, ErrClosed
	}
	return s.applyLocked(&w)
}

// check validates w without the lock.
func (s *Store) check(w Write) error {
	if w.Kind < KindPut || w.Kind > KindDelete {
		return fmt.Errorf("%w: unknown write kind %d", ErrMalformed, w.Kind)
	}
	if err := s.checkKey(w.Key); err != nil {
		return err
	}
	if w.Kind == KindDelete {
		return nil
	}
	if len(w.Value) > s.maxValue {
		return fmt.Errorf("%w (%d bytes, limit %d)", ErrValueTooLarge, len(w.Value), s.maxValue)
	}
	if w.TTL < 0 {
		return fmt.Errorf("%w: negative TTL %v", ErrMalformed, w.TTL)
	}
	return nil
}

func (s *Store) checkKey(key string) error {
	if key == "" {
		return ErrEmptyKey
	}
	if len(key) > s.maxKey {
		return fmt.Errorf("%w (%d bytes, limit %d)", ErrKeyTooLarge, len(key), s.maxKey)
	}
	return nil
}

// applyLocked performs a checked write. s.mu is held.
//
// A write that succeeds with a revision (Rev != 0) always sends its change
// to every sink, and one that fails or changes nothing sends none: the
// transport answers a worker's write with its change, so a write that
// changed something must never skip the sinks.
func (s *Store) applyLocked(w *Write) (Result, error) {
	if w.Kind == KindPut { // no condition: one probe of the table, not two
		rev, old := s.putLocked(w)
		var prev Entry
		if old != nil {
			prev = old.entry()
		}
		return Result{Rev: rev, Prev: prev}, nil
	}
	old := s.rep.m.get(w.Key)
	var cur Entry
	if old != nil {
		cur = old.entry()
	}
	switch w.Kind {
	case KindCreate:
		if old != nil {
			return Result{Prev: cur}, fmt.Errorf("%w (revision %d)", ErrExists, cur.Rev)
		}
	case KindUpdate:
		if cur.Rev != w.PrevRev || old == nil {
			return Result{Prev: cur}, conflict(cur.Rev, w.PrevRev)
		}
	case KindDelete:
		if w.PrevRev != 0 && cur.Rev != w.PrevRev {
			return Result{Prev: cur}, conflict(cur.Rev, w.PrevRev)
		}
		if old == nil {
			return Result{}, nil
		}
		return Result{Rev: s.removeLocked(old, OpDelete, w), Prev: cur}, nil
	}
	rev, _ := s.putLocked(w)
	return Result{Rev: rev, Prev: cur}, nil
}

func conflict(cur, want uint64) error {
	if cur == 0 {
		return fmt.Errorf("%w: key absent, expected revision %d", ErrConflict, want)
	}
	return fmt.Errorf("%w: key at revision %d, expected %d", ErrConflict, cur, want)
}

// putLocked stores w and returns the revision and the node it replaced (nil
// if the key was absent).
func (s *Store) putLocked(w *Write) (uint64, *node) {
	rev := s.rep.Rev() + 1
	ev := Event{Op: OpPut, Key: w.Key, Value: w.Value, Rev: rev, Owner: w.Owner, Origin: w.Origin, Tag: w.Tag}
	if w.TTL > 0 {
		ev.Expires = deadline(s.now().UnixNano(), w.TTL)
	}
	s.rep.mu.Lock()
	n, old := s.rep.applyLocked(&ev)
	s.rep.mu.Unlock()

	var oldOwner uint64
	if old != nil {
		oldOwner = old.ownerID()
		if old.expiry() != 0 {
			s.exp.live--
		}
	}
	if oldOwner != n.ownerID() {
		s.disown(oldOwner, n.key())
		if n.ownerID() != 0 {
			keys := s.owners[n.ownerID()]
			if keys == nil {
				keys = make(map[string]struct{})
				s.owners[n.ownerID()] = keys
			}
			keys[strings.Clone(n.key())] = struct{}{} // not the node's: it would keep the node
		}
	}
	if n.expiry() != 0 {
		s.schedule(n)
	}
	// The sinks get the stored copies, which are immutable.
	ev.Key, ev.Value, ev.Created = n.key(), n.val(), n.created
	s.emit(ev)
	return rev, old
}

// deadline returns now + ttl in Unix nanoseconds, saturating.
func deadline(now int64, ttl time.Duration) int64 {
	if int64(ttl) > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + int64(ttl)
}

// removeLocked deletes the key of old with op (OpDelete or OpExpire) and
// returns the revision. w is the write that asked for it, nil for none.
func (s *Store) removeLocked(old *node, op Op, w *Write) uint64 {
	ev := Event{Op: op, Key: old.key(), Rev: s.rep.Rev() + 1}
	if w != nil {
		ev.Origin, ev.Tag = w.Origin, w.Tag
	}
	s.rep.mu.Lock()
	s.rep.applyLocked(&ev)
	s.rep.mu.Unlock()
	s.disown(old.ownerID(), old.key())
	if old.expiry() != 0 {
		s.exp.live--
	}
	s.emit(ev)
	return ev.Rev
}

// Close stops the TTL timer, closes the replica's watchers, drops the sinks
// and gives ErrClosed to the waiters of every load in flight. Later writes
// fail with ErrClosed. The replica stays readable.
func (s *Store) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.exp.stop()
	s.sinks = nil
	var calls doneList
	for key, l := range s.loads {
		calls = append(calls, l.waiters...)
		delete(s.loads, key)
	}
	s.mu.Unlock()
	s.rep.Close()
	calls.run(Entry{}, ErrClosed)
}

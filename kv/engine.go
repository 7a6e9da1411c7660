package kv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/cluster/internal/state"
)

// snapshotPiece is about how many bytes of keys and values the Engine hands
// a Sink at a time.
const snapshotPiece = 128 << 10

// Engine is the embedded [Backend]: the data in this process's memory, one
// mutex ordering the writes, a hash table readers share without locks (a
// [KV] on an Engine reads it directly). It is what a cluster's primary uses
// unless told otherwise, and what a program running on its own uses
// through [New]. Create it with [NewEngine].
type Engine struct {
	s      *state.Store
	limits Limits

	mu     sync.Mutex
	subs   map[uint64]*engineSub // protected by mu
	closed bool                  // protected by mu
}

// NewEngine returns an empty Engine at revision 0 with the limits l.
func NewEngine(l Limits) *Engine {
	return &Engine{
		s:      state.NewStore(state.StoreOptions{MaxKeySize: MaxKeySize, MaxValueSize: l.valueLimit()}),
		limits: l,
		subs:   make(map[uint64]*engineSub),
	}
}

// writeBatches recycles the engine's copies of the writes of a batch.
var writeBatches = sync.Pool{New: func() any { return new(batchBufs) }}

type batchBufs struct {
	ws  []state.Write
	res []state.Result
}

// Apply applies ws in order; see [Backend.Apply]. It never waits for
// anything but the engine's lock.
func (e *Engine) Apply(_ context.Context, ws []Write, res []Result, errs []error) {
	if len(ws) == 1 { // no batch to copy
		res[0], errs[0] = e.apply(&ws[0])
		return
	}
	b := writeBatches.Get().(*batchBufs)
	for i := range ws {
		b.ws = append(b.ws, stateWrite(&ws[i]))
		b.res = append(b.res, state.Result{})
		errs[i] = e.limits.check(ws[i].Key, ws[i].Value) // refused: the store skips it
	}
	e.s.ApplyBatch(b.ws, b.res, errs)
	for i := range ws {
		res[i] = Result{Rev: b.res[i].Rev}
		errs[i] = storeError(errs[i])
	}
	clear(b.ws) // no reference to the caller's bytes stays
	clear(b.res)
	b.ws, b.res = b.ws[:0], b.res[:0]
	writeBatches.Put(b)
}

func (e *Engine) apply(w *Write) (Result, error) {
	if err := e.limits.check(w.Key, w.Value); err != nil {
		return Result{}, err
	}
	r, err := e.s.Apply(stateWrite(w))
	return Result{Rev: r.Rev}, storeError(err)
}

// stateWrite is w as the store takes it: a deadline becomes a TTL from now.
func stateWrite(w *Write) state.Write {
	sw := state.Write{Kind: state.Kind(w.Kind), Key: w.Key, Value: w.Value, PrevRev: w.PrevRev,
		Owner: w.Owner, Origin: w.Origin, Tag: w.Tag}
	if !w.Expires.IsZero() {
		sw.TTL = max(time.Until(w.Expires), 1) // past: it expires at once
	}
	return sw
}

// Subscribe registers sink; see [Backend.Subscribe]. A goroutine hands it
// the content in pieces of about 128 KiB, waiting on [Sink.Wait] before
// each; [Engine.Unsubscribe] joins it.
func (e *Engine) Subscribe(id uint64, sink Sink) error {
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
func (e *Engine) Unsubscribe(id uint64) {
	e.s.RemoveSink(id) // its snapshot's Next now fails
	e.mu.Lock()
	sub := e.subs[id]
	delete(e.subs, id)
	e.mu.Unlock()
	if sub != nil {
		<-sub.done
	}
}

// BeginLoad starts a load of key; see [Backend.BeginLoad].
func (e *Engine) BeginLoad(_ context.Context, key string, requester uint64, done func(Entry, error)) (Entry, bool, bool, error) {
	// What the store would give done at once is returned instead.
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	switch {
	case closed:
		return Entry{}, false, false, ErrClosed
	case key == "":
		return Entry{}, false, false, withDetail(ErrInvalid, "empty key")
	case len(key) > MaxKeySize:
		return Entry{}, false, false, withDetail(ErrInvalid, fmt.Sprintf("key too large (%d bytes, limit %d)", len(key), MaxKeySize))
	}
	se, have, lead := e.s.BeginLoad(key, requester, func(se state.Entry, err error) {
		done(entryOf(se), storeError(err))
	})
	return entryOf(se), have, lead, nil
}

// FinishLoad ends the load of key that requester leads; see
// [Backend.FinishLoad].
func (e *Engine) FinishLoad(_ context.Context, key string, requester uint64, value []byte, expires time.Time, loadErr error) (uint64, error) {
	if loadErr == nil {
		loadErr = e.limits.check(key, value) // then the waiters get it too
	}
	var ttl time.Duration
	if !expires.IsZero() {
		ttl = max(time.Until(expires), 1)
	}
	res, err := e.s.FinishLoad(key, requester, value, ttl, loadErr)
	if loadErr != nil && err == nil {
		err = loadErr
	}
	return res.Rev, storeError(err)
}

// DropOwner deletes the keys of owner and aborts the loads it leads.
func (e *Engine) DropOwner(owner uint64) { e.s.DropOwner(owner) }

// Close stops the engine: its TTL timer ends, the waiters of its loads get
// [ErrClosed], and later calls fail with it.
func (e *Engine) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.s.Close()
	return nil
}

// Rev returns the revision of the last change.
func (e *Engine) Rev() uint64 { return e.s.Rev() }

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

func (s *engineSub) stream(sn *state.Snapshot) {
	defer close(s.done)
	send := func(pc state.Piece) { // with the store's lock held
		if s.feed != nil {
			s.feed.Piece(pc.Rev, pc.Entries, pc.Last)
			return
		}
		s.entries = s.entries[:0]
		for _, se := range pc.Entries {
			s.entries = append(s.entries, entryOf(se))
		}
		s.sink.Snapshot(pc.Rev, s.entries, pc.Last)
		clear(s.entries)
	}
	for {
		if s.sink.Wait(snapshotPiece) != nil {
			return
		}
		last, err := sn.Next(snapshotPiece, send)
		if err != nil || last {
			s.entries = nil
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

// changeOf converts an event of the store.
func changeOf(ev *state.Event) Change {
	c := Change{Op: Op(ev.Op), Key: ev.Key, Value: ev.Value, Rev: ev.Rev, Created: ev.Created,
		Owner: ev.Owner, Origin: ev.Origin, Tag: ev.Tag}
	if ev.Expires != 0 {
		c.Expires = time.Unix(0, ev.Expires)
	}
	return c
}

// entryOf converts an entry of the store.
func entryOf(se state.Entry) Entry {
	e := Entry{Key: se.Key, Value: se.Value, Rev: se.Rev, Created: se.Created, Owner: se.Owner}
	if se.Expires != 0 {
		e.Expires = time.Unix(0, se.Expires)
	}
	return e
}

// storeError turns an error of the store into this package's: the same
// text after "kv: ", matching the sentinel callers test for.
func storeError(err error) error {
	var s error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, state.ErrExists):
		s = ErrExists
	case errors.Is(err, state.ErrConflict):
		s = ErrConflict
	case errors.Is(err, state.ErrEmptyKey), errors.Is(err, state.ErrKeyTooLarge),
		errors.Is(err, state.ErrValueTooLarge), errors.Is(err, state.ErrMalformed):
		return withDetail(ErrInvalid, strings.TrimPrefix(err.Error(), "state: "))
	case errors.Is(err, state.ErrLoadAborted):
		return ErrLoadAborted
	case errors.Is(err, state.ErrClosed):
		return ErrClosed
	default:
		return err
	}
	return &detailError{text: "kv: " + strings.TrimPrefix(err.Error(), "state: "), err: s}
}

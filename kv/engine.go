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
	hub
	limits Limits
}

// NewEngine returns an empty Engine at revision 0 with the limits l.
func NewEngine(l Limits) *Engine {
	return &Engine{
		hub:    newHub(state.NewStore(state.StoreOptions{MaxKeySize: MaxKeySize, MaxValueSize: l.valueLimit()})),
		limits: l,
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
		errs[i] = e.limits.Check(ws[i].Key, ws[i].Value) // refused: the store skips it
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
	if err := e.limits.Check(w.Key, w.Value); err != nil {
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

// BeginLoad starts a load of key; see [Backend.BeginLoad].
func (e *Engine) BeginLoad(_ context.Context, key string, requester uint64, done func(Entry, error)) (Entry, bool, bool, error) {
	// What the store would give done at once is returned instead.
	switch {
	case e.isClosed():
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
		loadErr = e.limits.Check(key, value) // then the waiters get it too
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
	e.close()
	return nil
}

// Rev returns the revision of the last change.
func (e *Engine) Rev() uint64 { return e.s.Rev() }

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

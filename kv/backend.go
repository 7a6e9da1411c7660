package kv

import (
	"context"
	"time"

	"github.com/gocluster/cluster/internal/state"
)

// A Backend is where a store's data lives and where its writes are put in
// one order: the primary's store runs on one, and every [KV] handle reads a
// replica that a Backend feeds. [NewEngine] is the embedded one (the data in
// the primary's memory), the default and the only one for now; a Backend on
// Redis is what takes the store past one machine. The contract:
//
//   - Order. Every change gets the next revision of one total order (1, 2,
//     ...). [Backend.Apply] applies its writes in the order given, each
//     seeing the ones before it.
//   - What a writer waits for. When Apply returns, each write has its
//     [Result] or its error, and the change of every write that changed
//     something has been handed to every [Sink] subscribed before the call
//     (so a replica that applies what its Sink gets shows the write when the
//     writer learns its revision: read-your-writes). Apply gives up when ctx
//     ends only where it has to wait (a remote Backend); a write whose
//     request went out may then still be applied.
//   - Sinks. [Backend.Subscribe] hands a Sink the content first, in pieces
//     ([Sink.Snapshot]), each in its place among the changes, then every
//     later change ([Sink.Changes]) in revision order, with no gap and none
//     twice. A Backend calls the Sinks one at a time, never two at once,
//     and never waits for them: they queue what they get.
//   - Compare-and-set: [WriteCreate] fails with [ErrExists] if the key
//     exists; [WriteUpdate] (and a [WriteDelete] with PrevRev) fails with
//     [ErrConflict] unless the key exists at revision PrevRev. A failed write
//     changes nothing and uses no revision.
//   - TTL. [Write.Expires] is an absolute deadline (zero: none, and a write
//     without one clears the key's). The Backend deletes a key once its
//     deadline passes, as an [OpExpire] change.
//   - Owned keys. A write with an Owner ties the key to that owner;
//     [Backend.DropOwner] deletes every key of an owner that is gone (as
//     [OpDelete] changes) and aborts the loads it leads.
//   - Load's lock. [Backend.BeginLoad] makes exactly one requester the leader
//     of the load of an absent key; the others wait for the value it stores
//     with [Backend.FinishLoad], its error, or [ErrLoadAborted] if it is
//     dropped.
//   - A lost connection (a remote Backend). Writes, loads and subscriptions
//     fail at once with an error; a Sink is never fed a change out of order
//     or after a gap: once the Backend is back it gets the changes it
//     missed, or, if they cannot be had one by one, a fresh content
//     ([Sink.Reset]).
//
// A Backend is safe for concurrent use. Errors wrap this package's
// sentinels.
type Backend interface {
	// Apply applies ws in order and sets res[i] and errs[i] (res, errs and ws
	// have the same length).
	Apply(ctx context.Context, ws []Write, res []Result, errs []error)
	// Subscribe registers sink under id (replacing the sink of that id) and
	// starts handing it the content, then every change; see the contract.
	// The pieces of the content are paced by [Sink.Wait].
	Subscribe(id uint64, sink Sink) error
	// Unsubscribe removes the sink of id, if any. Once it returns, the sink
	// is not called again and every goroutine its subscription started has
	// ended.
	Unsubscribe(id uint64)
	// BeginLoad starts a load of key for requester: if the key exists it
	// returns (entry, true, false); if no load of it is in flight, requester
	// leads it: (_, false, true), and must call FinishLoad; otherwise
	// (_, false, false), and done is called once, later, with the stored
	// entry or the load's error. done is never called with a lock held.
	BeginLoad(ctx context.Context, key string, requester uint64, done func(Entry, error)) (e Entry, have, lead bool, err error)
	// FinishLoad ends the load of key that requester leads: with loadErr
	// nil it stores value (with the deadline expires, no owner), gives the
	// entry to the waiters and returns its revision; with loadErr it stores
	// nothing and gives the waiters loadErr.
	FinishLoad(ctx context.Context, key string, requester uint64, value []byte, expires time.Time, loadErr error) (uint64, error)
	// DropOwner deletes the keys owner owns and aborts the loads it leads.
	DropOwner(owner uint64)
	// Close releases what the Backend holds; its calls then fail with
	// [ErrClosed].
	Close() error
}

// A Sink receives what a [Backend] hands a subscriber. Its Snapshot and
// Changes are called one at a time, possibly with the Backend's lock held:
// they must return quickly (copy or encode, queue), must not wait for their
// reader, and must not call the Backend. What they are given is valid only
// during the call.
type Sink interface {
	// Wait returns once the sink can take about n more bytes of content, or
	// an error once it is gone (the subscription then stops). The Backend
	// calls it between pieces, with no lock held.
	Wait(n int) error
	// Snapshot takes one piece of the content, at revision rev; last is set
	// on the last piece: the sink then holds the whole content.
	Snapshot(rev uint64, entries []Entry, last bool)
	// Changes takes changes, in revision order.
	Changes(changes []Change)
	// Reset tells the sink that what it holds is void: a fresh content
	// follows at once, in pieces ([Sink.Snapshot], the last with last set,
	// not paced by Wait), and the sink then holds exactly that content
	// (keys it had that the content lacks are gone), before any later
	// change. A remote Backend does this when its store's changes cannot
	// be followed one by one (its log moved past a gap, or the store lost
	// data); the revision may then go down. Called like the others.
	Reset()
}

// WriteKind is the kind of a [Write].
type WriteKind uint8

// Kinds of writes. Their values are part of the wire encoding.
const (
	// WritePut sets the key, whether it exists or not.
	WritePut WriteKind = 1
	// WriteCreate sets the key only if it is absent.
	WriteCreate WriteKind = 2
	// WriteUpdate sets the key only if it exists at revision PrevRev.
	WriteUpdate WriteKind = 3
	// WriteDelete removes the key (an absent key is no error: Rev 0); with
	// PrevRev, only if it exists at that revision.
	WriteDelete WriteKind = 4
)

// String returns the lower-case name of k, as "put".
func (k WriteKind) String() string { return state.Kind(k).String() }

// Write is one write request to a [Backend].
type Write struct {
	Kind WriteKind
	Key  string
	// Value is copied by the Backend; the caller may reuse it when Apply
	// returns.
	Value []byte
	// PrevRev is the revision WriteUpdate (and a conditional WriteDelete)
	// expects the key to have.
	PrevRev uint64
	// Expires is the key's deadline; zero means none.
	Expires time.Time
	// Owner, if not 0, ties the key to that owner (a worker's id): see
	// [Backend.DropOwner].
	Owner uint64
	// Origin and Tag are handed back on the [Change] this write makes (a
	// Backend must carry them): a transport sets them to the writer's
	// subscription id and request, so that the change sent to the writer
	// also answers the write. A Backend that could not hand the change
	// over with them (a fresh content, [Sink.Reset], covered it) sets the
	// Write's Tag to 0 before Apply returns: the transport then answers
	// the write itself.
	Origin, Tag uint64
}

// Result is the outcome of a write.
type Result struct {
	// Rev is the revision of the change; 0 if nothing changed (a delete of
	// an absent key, or an error).
	Rev uint64
}

// Change is one change of the store, at its revision. An [OpPut] carries
// the whole new entry; [OpDelete] and [OpExpire] only Op, Key and Rev.
type Change struct {
	Op      Op
	Key     string
	Value   []byte
	Rev     uint64
	Created uint64
	Expires time.Time
	Owner   uint64
	// Origin and Tag come from the Write that made the change; see
	// [Write.Origin].
	Origin, Tag uint64
}

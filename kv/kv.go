package kv

import (
	"bytes"
	"context"
	"iter"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/cluster/internal/state"
)

// KV is a handle on a shared store: a key-value store with one total order
// of writes, read from a replica in this process. Get is a local read (no
// IPC, no lock shared between readers); a write goes to the store's
// [Backend], which gives it the next revision and hands the change to every
// replica; when the write returns, this handle's replica already shows it
// (read-your-writes).
//
// In a cluster, the primary's store is Primary.Store and a worker's handle
// is cluster.Store: the same data, the same calls. A program on its own
// makes its store with New(NewEngine(Limits{})). Every call that can wait
// takes a context and gives up when it ends. Its methods may be called from
// any goroutine, except that in a worker, writes, Load and Ready wait for
// the primary's answer, which the goroutine running cluster.Handle
// callbacks reads: from such a callback they fail at once (hand the work to
// another goroutine). Values handed out are read-only: never modify them.
type KV struct {
	b     Backend
	eng   *Engine   // b, if it is the embedded engine
	one   oneWriter // b, if it has a path for one write
	rep   *state.Replica
	owner uint64 // the Owner of OwnedByWorker writes; 0: they own nothing

	subscribe sync.Once     // starts the subscription, on the first Ready
	synced    chan struct{} // closed once the replica holds the content
	subErr    error         // set before synced is closed
	once      sync.Once
	evs       []state.Event // the batch being applied; the Backend calls its sink one call at a time
	fresh     bool          // a fresh content is coming in (Sink.Reset); used by the sink alone
	staged    []state.Entry // its pieces so far
}

// handleID is the subscription id and load requester of a handle (a
// worker's id, which the Backend of a worker's handle puts in, is smaller).
const handleID = math.MaxUint64

// New returns a handle on the store b holds. On an [Engine] it reads the
// engine's own table and is ready at once, and so on a Backend that has a
// [Mirror] (a method Mirror() *Mirror); on another Backend it keeps a
// replica of its own, which the first [KV.Ready] subscribes: call Ready
// before using the handle (cluster.Store does).
func New(b Backend) *KV {
	kv := &KV{b: b, synced: make(chan struct{})}
	kv.one, _ = b.(oneWriter)
	if e, ok := b.(*Engine); ok {
		kv.eng, kv.rep = e, e.s.Replica()
		close(kv.synced)
		return kv
	}
	if m, ok := b.(mirrored); ok { // its Backend keeps it current
		kv.rep = m.Mirror().s.Replica()
		close(kv.synced)
		return kv
	}
	if o, ok := b.(interface{ Owner() uint64 }); ok {
		kv.owner = o.Owner()
	}
	kv.rep = state.NewReplica()
	return kv
}

// ready marks the replica as holding the content, or the subscription as
// failed with err; the first call counts.
func (kv *KV) ready(err error) {
	kv.once.Do(func() {
		kv.subErr = err
		close(kv.synced)
	})
}

// Ready subscribes this handle's replica, the first time, and returns once
// it holds the store's content (at once on an Engine), or the
// subscription's error, or ctx's error if ctx ends first (the subscription
// goes on: a later call waits for the same content).
func (kv *KV) Ready(ctx context.Context) error {
	select {
	case <-kv.synced:
		return kv.subErr
	default:
	}
	kv.subscribe.Do(func() {
		// The goroutine returns once subscribed (a remote Backend answers
		// after the last piece of the content), or at once.
		go func() {
			if err := kv.b.Subscribe(handleID, replicaSink{kv}); err != nil {
				kv.ready(err)
			}
		}()
	})
	if err := inHandler(kv.b); err != nil {
		return &opError{op: "waiting for the content", err: err}
	}
	select {
	case <-kv.synced:
		return kv.subErr
	case <-ctx.Done():
		return &opError{op: "waiting for the content", err: ctx.Err()}
	}
}

// inHandler returns the error of a Backend that cannot wait on this
// goroutine (a worker's, on the goroutine that reads its channel).
func inHandler(b Backend) error {
	if h, ok := b.(interface{ InHandler() error }); ok {
		return h.InHandler()
	}
	return nil
}

// Entry is a key with its value, as read from the store.
type Entry struct {
	Key string
	// Value is read-only: it is the stored copy, shared with every reader.
	Value []byte
	// Rev is the revision of the key's last write; pass it to Update.
	Rev uint64
	// Created is the revision at which the key was created.
	Created uint64
	// Expires is when the key expires; zero if it has no TTL.
	Expires time.Time
	// Owner is the id of the worker whose exit deletes the key (see
	// [OwnedByWorker]); 0 for none.
	Owner uint64
}

// Get returns the entry of key from this process's replica. It does no IPC
// and takes no lock that readers share.
func (kv *KV) Get(key string) (e Entry, ok bool) {
	x := kv.rep.Lookup(key)
	if !x.Found() {
		return e, false
	}
	e.Key, e.Value, e.Rev, e.Created, e.Owner = key, x.Value(), x.Rev(), x.Created(), x.Owner()
	if exp := x.Expires(); exp != 0 {
		e.Expires = time.Unix(0, exp)
	}
	return e, true
}

// Range returns the keys that start with prefix and their entries, in key
// order (bytewise), from this process's replica: a dump of the store or of
// a part of it, without knowing the keys ("" lists every key). Each loop
// over it reads the replica once, at one revision (at least Rev() when the
// loop starts): changes applied during the loop are not seen, and the loop
// body may call anything, writes included ([KV.Watch] follows the changes
// instead). It does no IPC; it copies one reference per listed key, and
// holds the replica's apply lock (which delays changes, never Get) while it
// walks the replica's index.
func (kv *KV) Range(prefix string) iter.Seq2[string, Entry] {
	return func(yield func(string, Entry) bool) {
		_, refs := kv.rep.Scan(prefix)
		for _, x := range refs {
			if !yield(x.Key(), entryOf(x.Entry())) {
				return
			}
		}
	}
}

// Rev returns the revision of the last change this process's replica has
// applied.
func (kv *KV) Rev() uint64 { return kv.rep.Rev() }

// Len returns how many keys this process's replica holds.
func (kv *KV) Len() int { return kv.rep.Len() }

// replicaSink feeds a handle's own replica (on a Backend other than an
// Engine). It is a state.Feed too: a transport that has the store's events
// as they are hands them over without conversion.
type replicaSink struct{ kv *KV }

func (s replicaSink) Wait(int) error { return nil }

func (s replicaSink) Snapshot(rev uint64, entries []Entry, last bool) {
	se := make([]state.Entry, len(entries))
	for i, e := range entries {
		se[i] = stateEntry(e)
	}
	s.Piece(rev, se, last)
}

func (s replicaSink) Piece(rev uint64, entries []state.Entry, last bool) {
	kv := s.kv
	if !kv.fresh {
		kv.rep.LoadPiece(rev, entries)
		if last {
			kv.ready(nil)
		}
		return
	}
	for _, e := range entries { // they are valid only during the call
		e.Key, e.Value = strings.Clone(e.Key), bytes.Clone(e.Value)
		kv.staged = append(kv.staged, e)
	}
	if last {
		kv.rep.Load(rev, kv.staged) // watchers see the difference
		kv.fresh, kv.staged = false, nil
		kv.ready(nil)
	}
}

// Reset starts a fresh content: its pieces replace the replica's content
// at the last one.
func (s replicaSink) Reset() { s.kv.fresh, s.kv.staged = true, nil }

func (s replicaSink) Changes(cs []Change) {
	evs := s.kv.evs[:0]
	for i := range cs {
		evs = append(evs, stateEvent(&cs[i]))
	}
	s.Events(evs)
	clear(evs) // no reference to the Backend's buffers outlives the call
	s.kv.evs = evs[:0]
}

func (s replicaSink) Events(evs []state.Event) { s.kv.rep.ApplyBatch(evs) }

// stateEvent is c as a replica applies it.
func stateEvent(c *Change) state.Event {
	ev := state.Event{Op: state.Op(c.Op), Key: c.Key, Value: c.Value, Rev: c.Rev, Created: c.Created, Owner: c.Owner}
	if !c.Expires.IsZero() {
		ev.Expires = c.Expires.UnixNano()
	}
	return ev
}

package cluster

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/gocluster/cluster/internal/state"
)

// Limits of the shared state. A write over them fails with an error
// wrapping [ErrInvalidKV].
const (
	// MaxKeySize is the longest key: 4096 bytes (4 KiB).
	MaxKeySize = 4096
	// MaxValueSize is the largest value unless [Config.MaxValueSize] says
	// otherwise: 1 MiB (1,048,576 bytes). Every change travels to the
	// workers in one message, so a key and its value must also fit
	// [Config.MaxMessageSize] (16 MiB by default) with 64 bytes to spare.
	MaxValueSize = 1 << 20
)

// KV is the cluster's shared state: a key-value store with one total order
// of writes. The primary holds it and is its only writer; every worker
// holds a full replica, fed with each change in revision order, so Get is a
// local read (no IPC, no lock shared between readers). A write from a
// worker goes to the primary, which gives it the next revision and sends
// the change to every worker; when the write returns, the writer's own
// replica already shows it (read-your-writes). The state lives in the
// primary's process, so it outlives worker crashes, restarts and reloads.
//
// Get KV with [StoreContext] (or [Store]): the same calls
// work in the primary, in every worker, and in a program running without a
// cluster (then the store is local to the process). Every call that can
// wait takes a context and gives up when it ends. Its methods may be called
// from any goroutine but one: in a worker, writes, Load and the first
// StoreContext wait for the primary's answer, which the goroutine running
// [Handle] callbacks reads, so from a Handle callback they fail at once with
// [ErrInHandler] (hand the work to another goroutine). Values handed out are
// read-only: never modify them.
type KV struct {
	rep *state.Replica
	b   kvBackend
}

// kvBackend is where a KV's writes and loads go: the store itself (in the
// primary or a process on its own) or the primary, over IPC (in a worker).
type kvBackend interface {
	write(ctx context.Context, w state.Write) (uint64, error)
	beginLoad(ctx context.Context, key string) (loadStart, error)
	finishLoad(key string, value []byte, ttl time.Duration, loadErr error) (uint64, error)
}

// loadStart is the answer to beginLoad: the entry exists (have), this
// process must run the loader (lead), or another process ran it (have,
// with its result).
type loadStart struct {
	have  bool
	entry state.Entry
	lead  bool
}

var kvOnce struct {
	sync.Once
	kv *KV
}

// StoreContext returns this process's handle on the shared state once it
// holds the data. In a worker the first call subscribes to the primary and
// waits until the replica holds the primary's snapshot (a round trip, plus
// the time to copy the data), or until ctx ends: then it returns ctx's
// error, the subscription goes on, and a later call waits for the same
// snapshot. From then on Get reads everything written before, and the
// stream of changes keeps it current; later calls return at once. A worker
// started by a restart or a reload receives a fresh snapshot the same way.
// In the primary, and in a program that is not in a cluster, the store is
// in this process and StoreContext never waits. In a worker whose channel
// to the primary is gone (it is about to exit) it fails with
// [ErrDisconnected]; called first from a [Handle] callback, with
// [ErrInHandler].
func StoreContext(ctx context.Context) (*KV, error) {
	kv := storeHandle()
	if self != nil {
		if err := self.kvSynced(ctx); err != nil {
			return nil, err
		}
	}
	return kv, nil
}

// Store is [StoreContext] without a bound on the first wait: it returns the
// handle even if the snapshot could not come (the error is logged, and the
// replica stays empty), and is meant for the start of a program. Call
// StoreContext first to bound the wait; after it succeeded, Store and
// [NewMap] never wait.
func Store() *KV {
	kv := storeHandle()
	if self != nil {
		self.kvSyncedOrLog()
	}
	return kv
}

// storeHandle returns the process's KV without waiting for anything.
func storeHandle() *KV {
	kvOnce.Do(func() {
		if self != nil {
			kvOnce.kv = &KV{rep: self.kv.rep, b: workerBackend{self}}
			return
		}
		kvOnce.kv = &KV{rep: processStore().Replica(), b: localBackend{}}
	})
	return kvOnce.kv
}

// Entry is a key with its value, as read from the shared state.
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
}

func entryOf(e state.Entry) Entry {
	out := Entry{Key: e.Key, Value: e.Value, Rev: e.Rev, Created: e.Created}
	if e.Expires != 0 {
		out.Expires = time.Unix(0, e.Expires)
	}
	return out
}

// Get returns the entry of key from this process's replica. It does no IPC
// and takes no lock that readers share.
func (kv *KV) Get(key string) (e Entry, ok bool) {
	x := kv.rep.Lookup(key)
	if !x.Found() {
		return e, false
	}
	e.Key, e.Value, e.Rev, e.Created = key, x.Value(), x.Rev(), x.Created()
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
// instead). It does no IPC; it copies one
// reference per listed key, and holds the replica's apply lock (which
// delays changes, never Get) while it walks the replica's index.
//
//	for key, e := range kv.Range("session/") {
//		fmt.Println(key, e.Rev, len(e.Value))
//	}
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

// WriteOption changes how a write is done.
type WriteOption func(*state.Write)

// WithTTL makes the key expire d after the write (the primary deletes it
// and every replica sees an expire change). Without it a write clears the
// key's TTL, as Redis's SET does.
func WithTTL(d time.Duration) WriteOption {
	return func(w *state.Write) { w.TTL = d }
}

// OwnedByWorker ties the key to the worker that writes it: when that worker
// process exits, for whatever reason, the primary deletes the key. In the
// primary it has no effect. A later write without it makes the key ownerless.
func OwnedByWorker() WriteOption {
	return func(w *state.Write) { w.Owner = 1 } // the primary puts the writer's id
}

// Put sets key to value and returns the revision of the write; see
// [WithTTL] and [OwnedByWorker]. Like every write it gives up when ctx ends: if ctx is done already nothing is sent;
// if it ends while the write is on its way to the primary, the write may
// still be applied (the returned error wraps ctx's).
func (kv *KV) Put(ctx context.Context, key string, value []byte, opts ...WriteOption) (uint64, error) {
	return kv.do(ctx, state.Write{Kind: state.KindPut, Key: key, Value: value}, opts)
}

// Create sets key to value only if key is absent; otherwise it fails with
// an error wrapping [ErrExists].
func (kv *KV) Create(ctx context.Context, key string, value []byte, opts ...WriteOption) (uint64, error) {
	return kv.do(ctx, state.Write{Kind: state.KindCreate, Key: key, Value: value}, opts)
}

// Update sets key to value only if the key's revision is still lastRev
// (compare-and-set); otherwise, or if the key is absent, it fails with an
// error wrapping [ErrConflict] and writes nothing.
func (kv *KV) Update(ctx context.Context, key string, value []byte, lastRev uint64, opts ...WriteOption) (uint64, error) {
	return kv.do(ctx, state.Write{Kind: state.KindUpdate, Key: key, Value: value, PrevRev: lastRev}, opts)
}

// Delete removes key and returns the revision of the delete, or 0 (and no
// error) if the key was absent.
func (kv *KV) Delete(ctx context.Context, key string) (uint64, error) {
	return kv.do(ctx, state.Write{Kind: state.KindDelete, Key: key}, nil)
}

func (kv *KV) do(ctx context.Context, w state.Write, opts []WriteOption) (uint64, error) {
	if len(opts) > 0 {
		// Options take a pointer, which moves what it points to onto the
		// heap: only a write with options pays for that.
		opt := w
		for _, o := range opts {
			o(&opt)
		}
		w = opt
	}
	if w.TTL < 0 {
		return 0, &keyError{op: w.Kind.String(), key: w.Key, err: fmt.Errorf("%w: negative TTL %v", ErrInvalidKV, w.TTL)}
	}
	err := ctx.Err()
	var rev uint64
	if err == nil {
		rev, err = kv.b.write(ctx, w)
	}
	if err != nil {
		return 0, &keyError{op: w.Kind.String(), key: w.Key, err: err}
	}
	return rev, nil
}

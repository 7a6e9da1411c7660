// Package state is the engine of the cluster's shared state: an ordered,
// replicated key-value store with local reads. It holds no connections and
// does no I/O; a transport moves its events between processes.
//
// # Single writer, one total order
//
// The primary process holds the only [Store]. Every write goes through
// [Store.Apply] (workers send theirs to the primary), which serializes them
// under one mutex and gives each change the next revision of a single total
// order: 1, 2, 3, ... with no gap. Revision 0 means "nothing" (an empty store,
// an absent key). Expiries and the deletions of [Store.DropOwner] are changes
// like any other and take their own revisions.
//
// Each change becomes an [Event], a delta whose size does not depend on the
// size of the store. The Store hands every event to each registered [Sink],
// in revision order, and the transport forwards it to one worker, whose
// [Replica] applies it. A new worker is registered with [Store.AddSink]: it
// receives every later event, with no gap and no duplicate, and among them
// the content of the store in pieces of bounded size ([Snapshot.Next]), so
// that a new worker costs the primary a piece at a time, not a copy of the
// store.
//
// # Local, lock-free reads
//
// [Replica.Get] reads a lock-free hash table: it takes no lock, does not
// allocate and may run on any goroutine while events are applied. A write
// returns after the primary's own replica ([Store.Replica]) has applied it.
//
// # Values are read-only
//
// Every value the package hands out ([Entry.Value], [Event.Value] of the
// events given to sinks, [WatchEvent.Value]) shares memory with the stored
// copy. Callers must never modify it. The package copies whatever it is given
// ([Write.Value], [Event.Value] in [Replica.Apply], the entries of
// [Replica.Load]), so callers may reuse their buffers afterwards.
//
// # Callbacks and the goroutines that call them
//
//   - [Sink.Event] is called by whichever goroutine made the change
//     ([Store.Apply], [Store.DropOwner], [Store.FinishLoad]) or by the TTL
//     timer's goroutine, and the send function given to [Snapshot.Next] by
//     the goroutine that calls Next, always with the store's write lock
//     held. They must return quickly (encode and enqueue), must not block
//     on the network, and must not call any Store method. Events and their
//     values may be kept (they are immutable); a piece's entries are reused
//     after send returns.
//   - The done callbacks of [Store.BeginLoad] are called without any lock
//     held, by the goroutine that finished or aborted the load. They may call
//     the Store and do I/O.
//   - The function given to [Replica.Range] runs with the replica's apply
//     lock held: it may call Get, but not Apply, Load, Watch, Range or
//     Watcher.Close.
//   - A [Watcher] has its own goroutine that feeds its channel from an
//     unbounded queue, so a slow reader never holds up the writer; a reader
//     that stops reading must Close its watcher, or the queue grows.
//
// # Expiry and ownership
//
// A write with a TTL sets a deadline; a write without one clears it, like the
// Redis SET command. The primary deletes due keys itself (an OpExpire event);
// replicas never look at the clock, so a worker may read an entry for the
// short time between its deadline and the arrival of its expiry.
//
// A write with an owner (a worker id) marks the key as living only as long
// as that worker; a write without one clears the mark. DropOwner deletes
// every key of a worker that is gone and aborts the loads it was leading.
//
// # Wire encoding
//
// The engine does no I/O: the byte layouts of writes, changes and snapshot
// pieces are in package wire, beside the frames that carry them.
package state

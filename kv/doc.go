// Package kv is gocluster's shared state: a key-value store with one total
// order of writes, read from a replica in every process. In a cluster the
// primary owns the store (Primary.Store) and each worker reads a replica of
// it (cluster.Store); a program on its own makes one with
// New(NewEngine(Limits{})). The calls are the same everywhere.
//
//	store, err := cluster.Store(ctx)                     // in a worker: waits for the primary's content once
//	rev, err := store.Put(ctx, "greeting", []byte("Hi!")) // also Create, Update (compare-and-set), Delete
//	e, ok := store.Get("greeting")                       // a local read: no IPC, no lock readers share
//	store.Put(ctx, "session/42", data, kv.WithTTL(time.Hour), kv.OwnedByWorker())
//	for ev := range store.Watch(ctx, "session/") { ... }  // the entries, OpSynced, then every change
//	e, err = store.Load(ctx, "cache/users", time.Minute, fetch) // one fetch for the whole cluster
//	visits := kv.NewMap[int](store, "stats/")             // typed values, JSON by default
//
// # Order and visibility
//
// Every write gets the next revision of one order (1, 2, ...). A write
// returns its revision once the store applied it and this process's replica
// shows it (read-your-writes); every other replica applies the change in
// revision order soon after. Update and Delete with a revision are
// compare-and-set: [ErrConflict] if another write came first. [KV.Watch]
// delivers what a prefix holds, then every change, with nothing lost or seen
// twice in between. [KV.Load] runs one loader for the whole cluster.
//
// # Limits
//
// Keys are 1 to [MaxKeySize] bytes (4 KiB). Values are up to [MaxValueSize]
// (1 MiB) unless [Limits.MaxValueSize] (in a cluster, Config.MaxValueSize)
// says otherwise; a key and its value must also fit one message to a
// worker (Config.MaxMessageSize, 16 MiB by default) with [ChangeOverhead]
// (64) bytes to spare. A write over a limit fails with [ErrInvalid] and
// changes nothing.
//
// # Backends
//
// A [Backend] holds the data and orders the writes: the embedded [Engine]
// (the primary's memory) is the default and the only one for now; its
// contract is what a backend on Redis implements to take the store past one
// machine, and package kvtest checks it. Errors keep their sentinels ([ErrExists], [ErrConflict],
// [ErrInvalid], [ErrNotFound]) across processes.
package kv

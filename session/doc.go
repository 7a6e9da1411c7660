// Package session keeps HTTP sessions in the cluster's shared state (a
// [kv.KV]), so that a login made on one worker is seen by every worker, and,
// with a store that spans machines, by every machine.
//
// Two stores, one for each of the common session libraries:
//
//   - [SCSStore] is a store for github.com/alexedwards/scs/v2: set
//     SessionManager.Store to [NewSCSStore] and use scs as usual.
//   - [GorillaStore] is a github.com/gorilla/sessions Store, in the shape
//     of its FilesystemStore: [NewGorillaStore] with the cookie keys.
//
// The *kv.KV is the one the process has: cluster.Store(ctx) in a worker,
// Primary.Store in the primary, or kv.New(kv.NewEngine(kv.Limits{})) in a
// program on its own.
//
//	store, err := cluster.Store(ctx)
//	sm := scs.New()
//	sm.Store = session.NewSCSStore(store, "")
//	http.ListenAndServe(addr, sm.LoadAndSave(mux))
//
// # Reads and the read barrier
//
// A session is read from this process's replica: a hit costs no IPC. A
// miss (no entry, or one whose deadline has passed) calls [kv.KV.Sync]
// before it is believed, and reads the replica again: a session written a
// moment ago by another worker or machine, whose change has not reached
// this replica yet, is found rather than taken for missing (a user who has
// just logged in is not logged out by the next request going elsewhere).
// A hit is not checked: a session deleted elsewhere a moment ago may still
// be read here until the change arrives, microseconds later in a cluster.
//
// Every session is stored under a key prefix (see [DefaultSCSPrefix] and
// [DefaultGorillaPrefix]) with the session's deadline as the key's TTL: the
// store deletes expired sessions itself, and no cleanup goroutine runs.
//
// Errors read "session: <store> <operation>: <cause>" with one package
// prefix, and never quote a session's token or id; they wrap the cause, so
// errors.Is finds kv's sentinels and a context's error.
package session

// Package redis takes a cluster's shared state (package kv) past one
// machine: its store lives in Redis 7 (or Valkey), each machine runs its
// own primary and workers, and only the primaries talk to Redis. Workers
// keep reading their local replicas (a Get is a local read) and their
// writes still go through their primary, which batches a burst of them
// into one script call.
//
//	p, err := cluster.New(cluster.Config{
//		Store: redis.Store(redis.Config{URL: "redis://10.0.0.5:6379/0", Name: "shop"}),
//	})
//
// # How it works
//
// Each write is one Lua script, atomic in Redis: it checks the write's
// condition (create-if-absent, the revision of an Update), takes the
// store's next revision, stores the key (with its deadline as PXAT) and
// appends the change, value included, to the store's log (a stream). Each
// primary follows the log with XREAD and applies the changes in revision
// order to its copy ([kv.Mirror]), which feeds its workers' replicas as
// the embedded store does. A writer returns once its own change came back
// through the log, so its replica shows it (read-your-writes), and every
// machine applies the same changes in the same order.
//
// # What holds
//
// While one Redis primary serves the store: one total order of revisions
// per store; compare-and-set (Update on a revision) and Create linearizable
// per key; a deadline is an absolute time, so every replica expires a key
// together (up to the machines' clock skew: the first machine to reach a
// deadline logs the expiry); a change made on machine A reaches machine
// B's workers with its value and revision, in order; [kv.KV.Sync] is a read
// barrier across machines. Load runs one origin load per key in the whole
// store: the loader holds a lock with a fencing token for Config.Lease,
// renewed while it runs; if its machine dies another takes over once the
// lease ends, and a late result from a loader that lost its lock is
// refused. Keys a worker owns go with the worker, and with its machine
// when the machine's lease ends.
//
// # When Redis is unreachable or loses data
//
// Reads keep serving the last content. Writes, Load and Sync fail at once
// with an error matching [ErrUnavailable] (or their context's, and a
// frozen server counts as unreachable after Config.DialTimeout). When the
// connection comes back the primary resumes from the last revision it
// applied; if the log no longer holds that point (it keeps about
// Config.LogLength writes), or the store is not the one it followed, it
// reads the whole store again and hands every worker the fresh content
// (kv.Sink.Reset): never a gap served silently. The store is another one
// (a new epoch) when its data was flushed, and whenever another server
// process serves it: a restart, even from a save, or a failover to a
// replica, since either may have lost the last writes; every machine then
// reads the store again, once. After a loss, revisions go on above those
// the machine had seen. Reading the store walks the keys of its database
// (SCAN): a store in a database of its own (Config.DB) is read fastest.
//
// What a Redis failover can lose: Redis replicates asynchronously, so
// writes acknowledged by a primary that dies before its replica got them
// are gone after the replica takes over (the machines then resync to what
// the replica has). Writes to different stores (Config.Name) have no
// order between them. Use a maxmemory policy of noeviction (or volatile-*):
// an evicted log or meta forces every machine to resync, and a key Redis
// evicts is not seen as deleted until then. A Redis Cluster is not
// supported; a store's keys share one hash slot ({Name}).
package redis

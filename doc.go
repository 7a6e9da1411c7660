// Package cluster runs a Go server as a primary process and N worker
// processes, like Node's cluster module, with the supervision pm2 adds.
//
// The same binary is both: the primary re-executes its own program (or
// [Settings.Exec]) for every worker, and [IsPrimary] / [IsWorker] tell a
// process which it is. Go cannot fork a running runtime; Node re-runs the program
// from the top too.
//
//	func main() {
//		if cluster.IsPrimary() {
//			p, err := cluster.New(cluster.Config{Workers: 4})
//			if err != nil {
//				log.Fatal(err)
//			}
//			if err := p.Run(context.Background()); err != nil { // until SIGINT/SIGTERM
//				log.Fatal(err)
//			}
//			return
//		}
//		cluster.Handle(func(m *cluster.Message) { m.Reply(m.Data) })
//		cluster.Ready()
//		<-cluster.Shutdown()
//	}
//
// # Processes
//
// Each worker gets its end of the IPC channel as extra file descriptors and
// its id in the environment (on Linux two pipes for the frames and a
// socket for passing descriptors; elsewhere one socketpair). Workers run in their own process group (a
// terminal's ^C reaches the primary, which drains them) and never outlive
// the primary: on Linux the kernel kills them when it dies (the parent-death
// signal, set from one OS thread kept for the life of the process); on every
// system a worker ends itself when its channel to the primary closes. The
// primary signals workers only through their *os.Process (a pidfd on Linux),
// never by pid number.
//
// A worker that dies without being told to is replaced at once, and after an
// exponential back-off with jitter from its second crash in a row
// ([Config.RestartDelay], [Config.MaxRestartDelay]). Each worker slot has a
// restart budget over a sliding window ([Config.MaxRestarts],
// [Config.RestartWindow]): past it, [EventCrashLoop], and either slow retries
// or ([Config.StopOnCrashLoop]) Run ends with [ErrCrashLoop]. [Primary.Scale]
// changes the number of workers. [Primary.Reload] (and SIGHUP) replaces every
// worker with a new generation a few at a time ([Config.MaxSurge], [Config.MaxUnready]),
// draining an old worker only once a new one is ready in its place; a new
// generation that does not become ready aborts the reload and the old
// workers keep serving. [Config.MaxRSS] and [Config.MaxAge] recycle workers
// the same way, one at a time. Stopping is graceful: the worker's [Shutdown]
// channel closes, then after [Config.DrainTimeout] it gets SIGTERM, then
// after [Config.KillTimeout] SIGKILL. A worker that never looked at Shutdown
// exits on the notice; [Serve] drains an http.Server without failing a
// request.
//
// # Ports
//
// [Listen] in a worker returns a net.Listener for an address the primary
// binds once and every worker shares, by [Config.Policy] (or
// [ListenConfig]): [RoundRobin] (the default: the primary accepts and hands
// each connection to the worker [Config.Scheduler] picks, over the IPC
// channel), [Shared] (workers accept on the one socket; its backlog survives
// a worker's death) or [ReusePort] (one SO_REUSEPORT socket per worker,
// Linux). The primary keeps
// its sockets open until Run ends, so restarts refuse no connection. Outside
// a cluster Listen is net.Listen. A connection that finds no worker
// listening waits in the primary ([MaxHeldConns], 1,024, for [HoldTimeout],
// 10 s). [SendHandle] passes a connection, listener or file with a message,
// as Node's send(msg, handle).
//
// # Messages
//
// Messages are byte slices; encode them as you like. [Worker.Send],
// [Worker.Request] and [Primary.Broadcast] go from the primary to workers;
// [Send], [Request], [SendTo] and [RequestTo] go from a worker to the primary
// or, routed by it, to another worker. Messages arrive on a [Messages]
// channel or in a [Handle] callback, in the order each sender sent them. A
// Send returns when the message is written or queued; while a queue holds
// more than 4 MiB (the other side does not read) Send waits. Messages over
// [Config.MaxMessageSize] (16 MiB by default, at least [MinMessageSize],
// 4,160 bytes) fail with [ErrTooLarge].
//
// The wire protocol (internal/wire) is length-prefixed binary frames with a
// version handshake. A connection that is idle writes a message at once
// from the sender's goroutine; during a burst, messages are queued and one
// writer goroutine coalesces the queue into one write. A worker that sends
// garbage, an oversized frame or the wrong version loses its channel (an
// EventError says why) and is stopped; the primary goes on.
//
// # Shared state
//
// Package [kv] is the cluster's key-value store: the primary owns it
// ([Primary.Store], created by [New] from the Config) and orders every write
// (one revision each, one total order); each worker keeps a full replica fed
// with each change ([Store] returns it once it holds the primary's
// content), so a read is local. Writes, compare-and-set, TTLs, keys that die
// with their worker, Watch and Load (one loader for the whole cluster) cover
// the seeds' globalVal. A worker started by a restart or a reload starts
// from the current data. Writes and Load wait for the primary: from a
// [Handle] callback, whose goroutine reads the replies, they fail at once
// with [ErrInHandler].
//
// # Events
//
// [Primary.Events] delivers Node's events (setup, fork, online, listening,
// disconnect, exit, error) and ready, crash-loop, reload, reload-done and
// recycle. Each subscriber has its own unbounded queue: a slow reader delays
// only itself and loses nothing. Messages from workers, Node's 'message'
// event, come on [Primary.Messages] or [Primary.Handle].
//
// # Goroutines
//
// Every method of [Primary] and [Worker] may be called from any goroutine.
// Handle callbacks run on the goroutine that reads the sender's channel and
// must not block. Supervision runs on the goroutine that called Run, which
// owns the table of workers; everything else sends it requests. Every
// goroutine and timer Run starts (readers, reapers, restarts, routed
// requests, accept loops) has ended when Run returns.
//
// # Platforms
//
// Linux first; macOS and the BSDs work the same without the parent-death
// signal. On Windows there are no worker processes: IsPrimary reports false,
// so the program takes its worker path and runs as one process; the worker
// calls return [ErrNotWorker].
package cluster

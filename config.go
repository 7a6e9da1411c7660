package cluster

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/gocluster/cluster/internal/wire"
	"github.com/gocluster/cluster/kv"
)

// Defaults for the zero values of Config.
const (
	// DefaultDrainTimeout is how long a worker has to exit after its
	// shutdown notice before it gets SIGTERM.
	DefaultDrainTimeout = 10 * time.Second
	// DefaultKillTimeout is how long a worker has to exit after SIGTERM
	// before it gets SIGKILL.
	DefaultKillTimeout = 5 * time.Second
	// DefaultMaxMessageSize is the largest message accepted from a peer.
	DefaultMaxMessageSize = wire.DefaultMaxFrame
	// MinMessageSize is the smallest [Config.MaxMessageSize] New accepts
	// (4 KiB + 64 bytes): a frame of the shared store must hold a key of
	// [kv.MaxKeySize] (4096) bytes with its 64 bytes of framing. Every other
	// frame the library itself sends (the handshake, control messages,
	// error replies) is smaller.
	MinMessageSize = 4160
	// DefaultRestartDelay is the delay before a worker that crashed twice
	// in a row is replaced (the first replacement starts at once); it
	// doubles with each further crash in a row, up to [DefaultMaxRestartDelay].
	DefaultRestartDelay = 100 * time.Millisecond
	// DefaultPrimaryProcs is the primary's GOMAXPROCS while Run runs (see
	// [Config.PrimaryProcs]).
	DefaultPrimaryProcs = 1
	// DefaultMaxRestartDelay caps the delay before a crashed worker is replaced.
	DefaultMaxRestartDelay = 30 * time.Second
	// DefaultMaxSurge is how many workers a rolling reload may start beyond
	// [Config.Workers].
	DefaultMaxSurge = 1
	// DefaultReloadReadyTimeout is how long a worker started by a reload or
	// a recycle has to become ready when [Config.ReadyTimeout] is not set;
	// past it the reload is aborted.
	DefaultReloadReadyTimeout = time.Minute
)

// Settings say how workers are started: Node's cluster.setupPrimary. They
// apply to workers forked after they are set (see [Primary.Setup]).
type Settings struct {
	// Exec is the program workers run. Empty means this program
	// (os.Executable), which then takes its worker path.
	//
	// Each generation (see [Primary.Reload]) runs the program file it started
	// from. On Linux the primary keeps that file open while a worker slot of
	// the generation is left, and starts the generation's workers from it
	// (exec of /proc/self/fd/N): a worker restarted after a crash, after
	// [Primary.Fork] or a recycle, runs its generation's build even if a new
	// build has replaced the file since (say, that of an aborted reload).
	// Only a reload reads the path again. A "#!" script cannot be started
	// from an open file (its interpreter is handed a descriptor that exec
	// has closed): scripts, and programs on other systems, are started from
	// their path each time, so a restart runs whatever is there then.
	Exec string
	// Args are the worker's arguments, without the program name. Nil means
	// this process's own arguments (os.Args[1:]).
	Args []string
	// Env is added to every worker's environment (KEY=value), after this
	// process's own environment.
	Env []string
	// Dir is the working directory of workers; empty means this process's.
	// A worker that cannot start because of it fails with an error naming
	// it.
	Dir string
	// ExtraFiles are open files every worker inherits as its descriptors 3,
	// 4... (os/exec's Cmd.ExtraFiles), in order; the library's own channel
	// comes after them. The primary keeps them open: they are the caller's
	// to close after Run. Listening sockets bound by the caller (or passed
	// by systemd) go here to reach programs that don't use this package;
	// [Primary.Setup] changes them for workers forked later.
	ExtraFiles []*os.File
	// Silent pipes each worker's stdout and stderr through the primary, each
	// line prefixed with "[worker N] ", instead of letting workers write to
	// the primary's stdout and stderr directly.
	Silent bool
}

// NoWorkers, as [Config.Workers], makes Run start no worker: the program
// starts each one with [Primary.Fork] (and its own env), before or after Run,
// as Node programs do with cluster.fork.
const NoWorkers = -1

// Config configures a Primary. The zero value works: one worker per CPU,
// running this same program.
type Config struct {
	// Workers is how many workers Run starts: 0 means one per CPU, and
	// [NoWorkers] none (the program forks them itself). [Primary.Fork] and
	// [Primary.Scale] change the count later.
	Workers int

	Settings

	// Policy is how workers share the addresses they Listen on, unless a
	// worker's ListenConfig says otherwise; [PolicyDefault] means [DefaultPolicy].
	Policy Policy
	// Scheduler picks the worker for each connection of a [RoundRobin]
	// listener; nil means RoundRobinScheduler().
	Scheduler Scheduler

	// WorkerProcs is the GOMAXPROCS each worker gets unless its environment
	// sets one: 0 means the CPUs divided among the [Config.Workers] workers
	// (at least 1), so that workers don't all schedule threads on every
	// CPU, or with [NoWorkers] the Go default (set it here, or GOMAXPROCS in
	// Fork's env); -1 leaves the Go default.
	WorkerProcs int

	// PrimaryProcs is the GOMAXPROCS of the primary while Run runs, unless
	// the GOMAXPROCS environment variable is set: 0 means
	// [DefaultPrimaryProcs], -1 leaves it alone. The primary's work
	// (supervision, IPC) is a chain of short hand-offs between goroutines;
	// on one P they stay on one thread, while with more every hand-off can
	// wake another thread, which on virtual machines costs more than the
	// work itself (measured: IPC round trip p50 98 us with 2 Ps, 42 us with 1).
	PrimaryProcs int

	// ReadyTimeout, if set, is how long a new worker has to call Ready (or
	// to listen, with ReadyOnListen); one that has not by then gets an
	// [EventError] wrapping [ErrNotReady] and is killed, which counts as a death
	// before ready (it is replaced, within the restart budget). 0: no limit.
	ReadyTimeout time.Duration
	// ReadyOnListen counts a worker as ready when its first Listen succeeds,
	// for programs that never call Ready.
	ReadyOnListen bool

	// DrainTimeout is how long a worker may drain after its shutdown
	// notice before SIGTERM; 0 means [DefaultDrainTimeout].
	DrainTimeout time.Duration
	// KillTimeout is how long after SIGTERM before SIGKILL; 0 means
	// [DefaultKillTimeout].
	KillTimeout time.Duration

	// MaxSurge is how many workers beyond the current count a rolling
	// reload ([Primary.Reload], SIGHUP) may run while it replaces them: 0
	// means [DefaultMaxSurge], -1 none. MaxUnready is how many fewer ready
	// workers than that count the reload accepts: 0 (the default) means
	// never fewer. MaxSurge -1 needs MaxUnready of at least 1, or the
	// reload could not start anything.
	MaxSurge   int
	MaxUnready int

	// MaxRSS, if set, recycles a worker whose resident memory passes it
	// (bytes; checked every second, on Linux only), and MaxAge one that has
	// run longer than it: a replacement is started, and once it is ready
	// the old worker drains and exits. One worker is recycled at a time,
	// never during a reload.
	MaxRSS int64
	MaxAge time.Duration

	// Restart says which workers that exit on their own are replaced: the
	// zero value, [RestartAlways], replaces every one. Workers stopped on
	// purpose ([Worker.Disconnect], [Worker.Kill], [Primary.Scale], a reload, the cluster
	// stopping) are never replaced. A program that replaces workers itself,
	// as Node programs do in cluster.on('exit'), sets [RestartNever] and calls
	// [Primary.Fork] on [EventExit]; with the default it would double them.
	Restart RestartPolicy

	// RestartDelay and MaxRestartDelay bound the exponential back-off before
	// a crashed worker is replaced, from its second crash in a row on (the
	// first replacement starts at once); 0 means the defaults.
	RestartDelay    time.Duration
	MaxRestartDelay time.Duration

	// MaxRestarts is how many unexpected deaths a worker slot may have
	// within RestartWindow; one more is a crash loop ([EventCrashLoop], an
	// error log line). 0 means [DefaultMaxRestarts] and [DefaultRestartWindow].
	// The window slides: a cluster that loses a worker now and then never
	// reaches the budget.
	MaxRestarts   int
	RestartWindow time.Duration
	// StopOnCrashLoop makes a crash loop stop the cluster: Run returns an
	// error wrapping [ErrCrashLoop]. Without it the slot is retried every
	// MaxRestartDelay.
	StopOnCrashLoop bool

	// MaxMessageSize is the largest message, in bytes, the primary accepts
	// from a worker and a worker from the primary; 0 means
	// [DefaultMaxMessageSize], and it may not be below [MinMessageSize]. A
	// larger frame closes the channel it came on.
	MaxMessageSize int

	// MaxValueSize is the largest value a shared-state write may store, in
	// bytes; 0 means [kv.MaxValueSize] (1 MiB). It may be raised up to
	// MaxMessageSize less 64 bytes (every change travels to the workers in
	// one message, with its key: a write whose key and value do not fit
	// fails).
	MaxValueSize int

	// Store, if set, makes the Backend of the shared state (package [kv])
	// in place of the embedded [kv.Engine]: New calls it once, in the
	// primary only, with the limits of this Config, and fails with its
	// error; Run closes it when it returns. redis.Store(redis.Config{...})
	// returns one: the store then lives in Redis, shared by every machine
	// that names it, while workers keep reading their local replicas.
	Store func(kv.Limits) (kv.Backend, error)

	// Stdout and Stderr receive silent workers' output; nil means os.Stdout
	// and os.Stderr.
	Stdout, Stderr io.Writer

	// Logger receives the primary's log lines; nil means slog.Default().
	Logger *slog.Logger

	// NoSignals stops Run from handling SIGINT and SIGTERM itself; Run then
	// ends only when its context does.
	NoSignals bool
}

// MinMessageSize holds a key of [kv.MaxKeySize] and its framing: this does not
// compile otherwise.
var _ [MinMessageSize - kv.MaxKeySize - kv.ChangeOverhead]struct{}

// withDefaults validates c and fills in zero values.
func (c Config) withDefaults() (Config, error) {
	bad := func(format string, a ...any) (Config, error) {
		return c, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, a...)...)
	}
	switch {
	case c.Workers < NoWorkers:
		return bad("Workers is %d; use 0 for one per CPU, NoWorkers (%d) for none, or a positive count", c.Workers, NoWorkers)
	case c.PrimaryProcs < -1:
		return bad("PrimaryProcs is %d; use -1 (leave GOMAXPROCS alone), 0 (default, %d) or a positive count", c.PrimaryProcs, DefaultPrimaryProcs)
	case c.WorkerProcs < -1:
		return bad("WorkerProcs is %d; use -1 (Go default), 0 (CPUs / workers) or a positive count", c.WorkerProcs)
	case c.DrainTimeout < 0, c.KillTimeout < 0, c.RestartDelay < 0, c.MaxRestartDelay < 0, c.RestartWindow < 0, c.ReadyTimeout < 0:
		return bad("timeouts and delays must not be negative (0 means the default)")
	case c.MaxSurge < -1 || c.MaxUnready < 0:
		return bad("MaxSurge is %d and MaxUnready %d; use MaxSurge -1 (none), 0 (default, %d) or a count, and MaxUnready 0 or a count", c.MaxSurge, c.MaxUnready, DefaultMaxSurge)
	case c.MaxSurge == -1 && c.MaxUnready == 0:
		return bad("MaxSurge -1 with MaxUnready 0 leaves a reload no room: allow a surge or set MaxUnready to at least 1")
	case c.MaxRSS < 0 || c.MaxAge < 0:
		return bad("MaxRSS and MaxAge must not be negative (0 means no limit)")
	case c.MaxRestarts < 0:
		return bad("MaxRestarts is %d; use 0 for the default (%d) or a positive count", c.MaxRestarts, DefaultMaxRestarts)
	case c.MaxMessageSize < 0 || c.MaxMessageSize > 1<<30 || c.MaxMessageSize > 0 && c.MaxMessageSize < MinMessageSize:
		return bad("MaxMessageSize is %d; use 0 for the default (%d) or from MinMessageSize (%d: the shared store's frames must fit) up to 1 GiB",
			c.MaxMessageSize, DefaultMaxMessageSize, MinMessageSize)
	case c.MaxValueSize < 0 || c.MaxValueSize > cmp.Or(c.MaxMessageSize, DefaultMaxMessageSize)-kv.ChangeOverhead:
		return bad("MaxValueSize is %d; use 0 for the default (%d) or up to MaxMessageSize less %d bytes", c.MaxValueSize, kv.MaxValueSize, kv.ChangeOverhead)
	}
	if c.Restart < RestartAlways || c.Restart > RestartNever {
		return bad("Restart %d is not one of RestartAlways, RestartOnFailure, RestartNever", c.Restart)
	}
	if c.Policy >= policyEnd {
		return bad("Policy %d is not one of Shared, RoundRobin, ReusePort", c.Policy)
	}
	if c.Policy == PolicyDefault {
		c.Policy = DefaultPolicy
	}
	if c.Scheduler == nil {
		c.Scheduler = RoundRobinScheduler()
	}
	if err := c.Settings.validate(); err != nil {
		return c, err
	}
	if c.Workers == 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.PrimaryProcs == 0 {
		c.PrimaryProcs = DefaultPrimaryProcs
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.KillTimeout == 0 {
		c.KillTimeout = DefaultKillTimeout
	}
	if c.MaxSurge == 0 {
		c.MaxSurge = DefaultMaxSurge
	}
	if c.RestartDelay == 0 {
		c.RestartDelay = DefaultRestartDelay
	}
	if c.MaxRestartDelay == 0 {
		c.MaxRestartDelay = DefaultMaxRestartDelay
	}
	if c.MaxRestartDelay < c.RestartDelay {
		return bad("MaxRestartDelay (%v) is below RestartDelay (%v)", c.MaxRestartDelay, c.RestartDelay)
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.MaxRestarts == 0 {
		c.MaxRestarts = DefaultMaxRestarts
	}
	if c.RestartWindow == 0 {
		c.RestartWindow = DefaultRestartWindow
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

func (s Settings) validate() error {
	for _, kv := range s.Env {
		if !validEnv(kv) {
			return fmt.Errorf("%w: Env entry %q is not KEY=value", ErrInvalidConfig, kv)
		}
	}
	return nil
}

func validEnv(kv string) bool {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return i > 0
		}
	}
	return false
}

package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gocluster/cluster/internal/kvlink"
	"github.com/gocluster/cluster/internal/link"
	"github.com/gocluster/cluster/internal/proc"
	"github.com/gocluster/cluster/internal/wire"
)

// Worker is the primary's handle on one worker process. Its methods may be
// called from any goroutine.
type Worker struct {
	id       int
	slot     int // stable across restarts: a replacement takes its predecessor's
	gen      int // generation: 1, then one more for each reload
	restarts int // workers that ran in its slot before it
	started  time.Time
	p        *Primary
	proc     proc.Process
	ep       *link.Link
	settings Settings // the settings it was forked with, kept for restarts
	env      []string // the env given to Fork, kept for restarts

	connected  atomic.Bool
	dead       atomic.Bool
	ready      atomic.Bool
	disconnect atomic.Bool // exitedAfterDisconnect
	exited     chan struct{}
	readerDone chan struct{} // the primary's reader of its channel ended
	conns      atomic.Int64  // open connections handed off to it (RoundRobin)
	kv         *kvlink.Conn  // its side of the shared state

	disconnected bool // EventDisconnect emitted; owned by the supervisor goroutine
}

// ID returns the worker's id: 1 for the first worker forked, then 2, 3...
// Ids are never reused.
func (w *Worker) ID() int { return w.id }

// Generation returns the generation the worker belongs to: 1 for the
// workers Run starts, one more for each reload (see Primary.Reload). A
// replacement of a crashed worker keeps its predecessor's generation.
func (w *Worker) Generation() int { return w.gen }

// Started returns when the worker process was started.
func (w *Worker) Started() time.Time { return w.started }

// Restarts returns how many workers ran before this one in its place: it
// replaces the last of them, which exited (crashed, or was recycled). A
// worker started by [Primary.Fork], [Primary.Scale] or a reload has 0.
func (w *Worker) Restarts() int { return w.restarts }

// PID returns the worker's process id, for display. The primary never
// signals a worker by this number, only through its process handle.
func (w *Worker) PID() int { return w.proc.Pid() }

// Process returns the worker's process handle.
func (w *Worker) Process() *os.Process { return w.proc.OS() }

// Send sends a message to the worker, which receives it on [Messages] with
// From 0. It returns when the message is written or queued; it waits only
// while the worker's queue holds more than a few MiB (the worker does not
// read): [Worker.SendContext] bounds that wait. It fails with
// [ErrDisconnected] once the channel is closed.
func (w *Worker) Send(msg []byte) error { return w.ep.Send(wire.TypeMsg, 0, 0, msg) }

// SendContext is [Worker.Send], waiting for queue space only until ctx
// ends; then nothing was sent and it returns ctx's error, wrapped.
func (w *Worker) SendContext(ctx context.Context, msg []byte) error {
	return w.ep.SendContext(ctx, wire.TypeMsg, 0, 0, msg)
}

// Request sends a request to the worker and waits for its reply until ctx
// ends. A reply made with ReplyError comes back as a *RemoteError.
func (w *Worker) Request(ctx context.Context, msg []byte) ([]byte, error) {
	return w.ep.Request(ctx, 0, msg)
}

// Kill sends sig to the worker process (Node's worker.kill). Like Node, it
// counts as a deliberate stop: the worker is not replaced when it exits.
func (w *Worker) Kill(sig os.Signal) error {
	w.disconnect.Store(true)
	if err := w.proc.Signal(sig); err != nil {
		return opErr(fmt.Sprintf("kill worker %d", w.id), err)
	}
	return nil
}

// Disconnect stops the worker gracefully and waits until it has exited: it
// gets its shutdown notice (Shutdown closes), then, if it is still running
// after Config.DrainTimeout or when ctx ends, SIGTERM, then after
// Config.KillTimeout SIGKILL. The worker is not replaced. It returns nil if
// the worker exited on its own, ErrForced if a signal was needed.
func (w *Worker) Disconnect(ctx context.Context) error {
	w.disconnect.Store(true)
	w.ep.Enqueue(wire.TypeCtl, 0, 0, []byte{wire.CtlShutdown})
	drain := time.NewTimer(w.p.cfg.DrainTimeout)
	defer drain.Stop()
	select {
	case <-w.exited:
		return nil
	case <-drain.C:
	case <-ctx.Done():
	}
	return w.terminate()
}

// terminate sends SIGTERM, then SIGKILL after KillTimeout, and waits for exit.
func (w *Worker) terminate() error {
	w.signal(syscall.SIGTERM)
	kill := time.NewTimer(w.p.cfg.KillTimeout)
	defer kill.Stop()
	select {
	case <-w.exited:
	case <-kill.C:
		w.signal(os.Kill)
		<-w.exited
	}
	return opErr(fmt.Sprintf("worker %d", w.id), ErrForced)
}

func (w *Worker) signal(sig os.Signal) {
	if err := w.proc.Signal(sig); err != nil && !w.dead.Load() && !errors.Is(err, os.ErrProcessDone) {
		w.p.emit(Event{Type: EventError, Worker: w, Err: opErr(fmt.Sprintf("signal %v to worker %d", sig, w.id), err)})
	}
}

// connClosed counts down one handed-off connection; a worker cannot drive
// the count below zero.
func (w *Worker) connClosed() {
	for {
		n := w.conns.Load()
		if n <= 0 || w.conns.CompareAndSwap(n, n-1) {
			return
		}
	}
}

// Connections returns how many connections the primary handed to this
// worker (RoundRobin listeners) that it has not closed yet.
func (w *Worker) Connections() int { return int(w.conns.Load()) }

// IsConnected reports whether the worker's IPC channel is open (it completed
// the handshake and has not disconnected).
func (w *Worker) IsConnected() bool { return w.connected.Load() }

// IsDead reports whether the worker process has exited.
func (w *Worker) IsDead() bool { return w.dead.Load() }

// IsReady reports whether the worker called Ready.
func (w *Worker) IsReady() bool { return w.ready.Load() }

// ExitedAfterDisconnect reports whether the worker was stopped on purpose
// (Disconnect, Kill, or the primary shutting down) rather than dying on its own.
func (w *Worker) ExitedAfterDisconnect() bool { return w.disconnect.Load() }

// Done returns a channel closed when the worker process has exited.
func (w *Worker) Done() <-chan struct{} { return w.exited }

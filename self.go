package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gocluster/cluster/internal/kvlink"
	"github.com/gocluster/cluster/internal/link"
	"github.com/gocluster/cluster/internal/wire"
	"github.com/gocluster/cluster/kv"
)

// orphanGrace is how long a worker that lost its primary gives the program
// (watching Shutdown) before it exits.
const orphanGrace = 300 * time.Millisecond

// self is this process's link to its primary; nil unless IsWorker. It is
// set up before main runs, so the handshake (EventOnline) does not wait for
// the program.
var self *workerLink

func init() {
	self = newWorkerLink()
	if self != nil {
		// Written before main runs: a worker whose main returns at once is
		// still online, and what it sends comes after this.
		if err := self.ep.Conn().SendWritten(context.Background(), wire.TypeHello, 0, 0, wire.HelloPayload()); err != nil {
			logger().Error("cluster: IPC channel to the primary failed", "worker", role.id, "err", err)
			os.Exit(2)
		}
		go self.read()
	}
}

// workerLink is the worker side of the IPC channel.
type workerLink struct {
	ep       *link.Link
	mail     *mailbox
	handoff  handoffs
	readyOne sync.Once
	kv       *kvlink.Client
	store    *kv.KV // its replica is made here, subscribed by the first Store
	peers    peerView
	leaving  atomic.Bool // Disconnect was called: the channel's end is no reason to exit

	shutdownOnce    sync.Once
	shutdown        chan struct{}
	shutdownWatched atomic.Bool
}

// standalone is Shutdown's channel in a process that is not a worker: it is
// closed on SIGINT or SIGTERM.
var standalone struct {
	once sync.Once
	ch   chan struct{}
}

func newWorkerLink() *workerLink {
	if !role.worker {
		return nil
	}
	rw, err := openChannel(role.fds)
	if err != nil {
		logger().Error("cluster: IPC channel to the primary failed", "worker", role.id, "fds", role.fds, "err", err)
		os.Exit(2)
	}
	w := &workerLink{
		ep:       link.New(wire.NewConn(rw, role.max), role.max, linkErrors),
		mail:     newMailbox(slog.Default()),
		shutdown: make(chan struct{}),
		peers:    peerView{known: make(chan struct{})},
	}
	w.kv = kvlink.NewClient(w.ep, role.id, w.mail.inHandler)
	w.store = kv.New(w.kv)
	w.ep.Handle(wire.TypeMsg, w.onMessage)
	w.ep.Handle(wire.TypeReq, w.onMessage)
	w.ep.HandleCtl(wire.CtlShutdown, w.onShutdown)
	w.ep.HandleCtl(wire.CtlConn, w.handoff.onConn)
	w.ep.HandleCtl(wire.CtlPeers, w.peers.onPeers)
	return w
}

func (w *workerLink) read() {
	err := w.ep.Run(nil)
	w.ep.Close(err)
	w.mail.close()
	// The primary is gone (or cut this worker off): the program gets a short
	// grace to notice Shutdown, then the process ends.
	if !errors.Is(err, io.EOF) && !w.leaving.Load() {
		logger().Error("cluster: IPC channel to the primary failed", "worker", role.id, "err", err)
	}
	w.closeShutdown()
	if w.leaving.Load() {
		return // Disconnect: the program ends when it is done
	}
	time.Sleep(orphanGrace)
	os.Exit(1)
}

// onMessage delivers a message or request from the primary (or routed from
// another worker).
func (w *workerLink) onMessage(f wire.Frame) error {
	w.mail.put(&Message{Data: link.Clone(f.Payload), From: int(f.Peer), File: firstFile(f.Files), id: f.ID, ep: w.ep})
	return nil
}

// onShutdown handles the primary's drain notice. A program that never asked
// for Shutdown() cannot drain, so its process ends here.
func (w *workerLink) onShutdown(f wire.Frame) error {
	closeFiles(f.Files)
	if !w.shutdownWatched.Load() {
		w.ep.Conn().Flush(time.Second)
		os.Exit(0)
	}
	w.closeShutdown()
	return nil
}

func (w *workerLink) closeShutdown() {
	w.shutdownOnce.Do(func() { close(w.shutdown) })
}

// Send sends a message to the primary, which receives it on
// [Primary.Messages] (Node's process.send). It returns once the message is
// written to the channel, so a worker that exits right after loses nothing:
// the primary reads it before it sees the worker disconnect and exit. It
// waits while the primary does not read; [SendContext] bounds that wait.
func Send(msg []byte) error { return SendContext(context.Background(), msg) }

// SendContext is [Send], waiting at most until ctx ends. If ctx ends after
// the message was queued, it may still be delivered.
func SendContext(ctx context.Context, msg []byte) error {
	if self == nil {
		return ErrNotWorker
	}
	return self.ep.SendWritten(ctx, wire.TypeMsg, 0, 0, msg)
}

// SendTo sends a message to another worker, routed by the primary. It
// arrives on that worker's [Messages] with From set to this worker's id.
// It returns [ErrNoWorker] if no live worker has that id: this worker is
// told of every worker's start and exit, in the order the primary saw
// them. (A worker that exits while the message travels does not get it;
// the primary logs the drop.) Before the first such news has come, SendTo
// waits for it, until ctx ends.
func SendTo(ctx context.Context, id int, msg []byte) error {
	if self == nil {
		return ErrNotWorker
	}
	if err := self.peers.check(ctx, id); err != nil {
		return opErr(fmt.Sprintf("send to worker %d", id), err)
	}
	return self.ep.SendWritten(ctx, wire.TypeMsg, uint32(id), 0, msg)
}

// Request sends a request to the primary and waits for its reply (the
// primary answers with Message.Reply), until ctx ends.
func Request(ctx context.Context, msg []byte) ([]byte, error) {
	return RequestTo(ctx, 0, msg)
}

// RequestTo sends a request to the worker with the given id (0 means the
// primary), routed by the primary, and waits for its reply until ctx ends.
// It fails with ErrNoWorker if there is no such worker.
func RequestTo(ctx context.Context, id int, msg []byte) ([]byte, error) {
	if self == nil {
		return nil, ErrNotWorker
	}
	if id < 0 {
		return nil, opErr(fmt.Sprintf("RequestTo(%d)", id), ErrNoWorker)
	}
	if err := self.mail.inHandler(); err != nil {
		return nil, opErr("request", err)
	}
	return self.ep.Request(ctx, uint32(id), msg)
}

// Messages returns the channel of messages and requests for this worker,
// from the primary or routed from other workers, in the order each sender
// sent them. It is closed when the channel to the primary closes. Until the
// first call, up to 1,024 messages are kept for it and later ones dropped;
// after it, a reader that falls behind slows the senders down instead. In a
// process that is not a worker it returns a channel that never delivers.
func Messages() <-chan *Message {
	if self == nil {
		return make(chan *Message)
	}
	return self.mail.channel()
}

// Handle makes h receive this worker's messages and requests from now on,
// instead of the Messages channel: the lowest-latency way to serve requests.
// h is called on the goroutine that reads the IPC channel, one message at a
// time in arrival order; while it runs, nothing else is read from the
// primary (no reply, no shutdown notice), so h must not block: answer at
// once or hand the message to another goroutine (Reply may be called from
// any goroutine). Outside a worker it does nothing.
func Handle(h func(m *Message)) {
	if self != nil {
		self.mail.handle(h)
	}
}

// Ready tells the primary this worker is ready to serve ([EventReady]).
// Calls after the first do nothing. Outside a worker it does nothing and
// returns nil, as [Listen] is net.Listen there: the same program runs on
// its own.
func Ready() error {
	if self == nil {
		return nil
	}
	var err error
	self.readyOne.Do(func() {
		err = self.ep.SendWritten(context.Background(), wire.TypeCtl, 0, 0, []byte{wire.CtlReady})
	})
	return err
}

// Shutdown returns a channel that is closed when this worker should drain
// and exit: the primary is shutting it down (Disconnect, Run ending) or is
// gone. A worker that never calls Shutdown is ended by the notice itself
// (it exits with status 0). In a process that is not a worker, the channel
// is closed on SIGINT or SIGTERM, so the same drain code serves both.
func Shutdown() <-chan struct{} {
	if self != nil {
		self.shutdownWatched.Store(true)
		return self.shutdown
	}
	standalone.once.Do(func() {
		standalone.ch = make(chan struct{})
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sig
			signal.Stop(sig)
			close(standalone.ch)
		}()
	})
	return standalone.ch
}

// logger is where the worker side of the package logs: slog's default
// logger at the time of the call, so a worker sets it with slog.SetDefault.
// Messages carry the "cluster: " prefix, as the primary's do.
func logger() *slog.Logger { return slog.Default() }

// Disconnect ends this worker's channel to the primary on purpose (Node's
// process.disconnect() and cluster.worker.disconnect()): its RoundRobin
// listeners close (Accept fails with net.ErrClosed; the connections they
// were handed and had not accepted go to other workers; Shared and
// ReusePort listeners are the program's to close), the primary stops
// handing it connections, counts it as stopped on purpose (its
// [Worker.ExitedAfterDisconnect] is true, it is not replaced), and [Shutdown]
// closes so that [Serve] drains. The process goes on until its main returns;
// messages, requests and shared-state writes then fail with
// [ErrDisconnected]. Disconnect waits, until ctx ends, for the primary to
// take the notice. Outside a worker it returns [ErrNotWorker].
func Disconnect(ctx context.Context) error {
	if self == nil {
		return ErrNotWorker
	}
	if err := self.mail.inHandler(); err != nil {
		return opErr("disconnect", err)
	}
	self.leaving.Store(true)
	// Connections handed to this worker and not accepted go back first, so
	// that the primary gives them to another worker now.
	self.handoff.closeAll()
	r := self.ep.Call(ctx, wire.TypeCtl, 0, []byte{wire.CtlBye})
	if r.Err == nil {
		self.ep.Conn().WaitWritten(ctx) // what was queued after the notice
	}
	self.ep.Close(errors.New("this worker disconnected"))
	if r.Err != nil && !errors.Is(r.Err, ErrDisconnected) {
		return opErr("disconnect", r.Err)
	}
	return nil
}

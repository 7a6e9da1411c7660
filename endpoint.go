package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/gocluster/cluster/internal/wire"
)

// Control commands, the first payload byte of a wire.TypeCtl frame.
const (
	ctlReady    byte = 1  // worker -> primary: Ready was called
	ctlShutdown byte = 2  // primary -> worker: drain and exit
	ctlListen   byte = 3  // worker -> primary, a request: [policy] network \0 address
	ctlUnlisten byte = 4  // worker -> primary: [key u32]: the worker closed that listener
	ctlConn     byte = 5  // primary -> worker, with a connection: [key u32], frame id: the hand-off's
	ctlReturn   byte = 6  // worker -> primary: [key u32], frame id: a hand-off it cannot take
	ctlClosed   byte = 7  // worker -> primary: [key u32]: a handed-off connection closed
	ctlAccept   byte = 8  // worker -> primary: [key u32]: its RoundRobin listener is open
	ctlTaken    byte = 9  // worker -> primary: [key u32], frame id: Accept returned that hand-off
	ctlPeers    byte = 10 // primary -> worker: [id u32]...: the live workers, after each change
	ctlBye      byte = 11 // worker -> primary, a request: this worker leaves on purpose
)

// endpoint is one side of an IPC channel: a framed connection plus the
// requests waiting for replies on it.
type endpoint struct {
	conn  *wire.Conn
	max   int // the largest payload the peer accepts
	reqID atomic.Uint64

	mu    sync.Mutex
	calls map[uint64]chan reply
	err   error // set once the channel is gone
	done  chan struct{}
}

type reply struct {
	data  []byte
	files []*os.File
	err   error
	// acked: the request was answered by a frame of another kind (a
	// shared-state change), with ack as the result.
	acked bool
	ack   uint64
}

func newEndpoint(conn *wire.Conn, max int) *endpoint {
	return &endpoint{conn: conn, max: max, calls: make(map[uint64]chan reply), done: make(chan struct{})}
}

// send writes one frame; see wire.Conn.Send.
func (e *endpoint) send(t wire.Type, peer uint32, id uint64, data []byte) error {
	return e.transmit(context.Background(), e.conn.SendContext, t, peer, id, data)
}

// sendContext is send, waiting for queue space only until ctx ends.
func (e *endpoint) sendContext(ctx context.Context, t wire.Type, peer uint32, id uint64, data []byte) error {
	return e.transmit(ctx, e.conn.SendContext, t, peer, id, data)
}

// sendWritten writes one frame and returns once it is written, waiting at
// most until ctx ends; see wire.Conn.SendWritten.
func (e *endpoint) sendWritten(ctx context.Context, t wire.Type, peer uint32, id uint64, data []byte) error {
	return e.transmit(ctx, e.conn.SendWritten, t, peer, id, data)
}

func (e *endpoint) transmit(ctx context.Context, how func(context.Context, wire.Type, uint32, uint64, []byte) error,
	t wire.Type, peer uint32, id uint64, data []byte) error {
	if len(data) > e.max {
		return fmt.Errorf("%w: %d bytes, the limit is %d (Config.MaxMessageSize)", ErrTooLarge, len(data), e.max)
	}
	return e.sendErr(ctx, how(ctx, t, peer, id, data))
}

// sendErr turns the error of a send under ctx into the caller's: ctx's own
// error, or ErrDisconnected.
func (e *endpoint) sendErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return opErr("send", err)
	}
	return e.closedErr(err)
}

// enqueue queues one frame without ever blocking.
func (e *endpoint) enqueue(t wire.Type, peer uint32, id uint64, data []byte) error {
	if err := e.conn.Enqueue(t, peer, id, data); err != nil {
		return e.closedErr(err)
	}
	return nil
}

func (e *endpoint) closedErr(cause error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return e.err
	}
	return &causeError{ErrDisconnected, cause}
}

// request sends data as a request to peer and waits for the reply.
func (e *endpoint) request(ctx context.Context, peer uint32, data []byte) ([]byte, error) {
	r := e.call(ctx, wire.TypeReq, peer, data)
	closeFiles(r.files) // replies to requests carry no handles
	return r.data, r.err
}

// call sends a frame of type t with a new request id and waits for the
// reply frame with that id (which may carry files).
func (e *endpoint) call(ctx context.Context, t wire.Type, peer uint32, data []byte) reply {
	id := e.reqID.Add(1)
	ch := replyChans.Get().(chan reply)
	e.mu.Lock()
	if e.err != nil {
		err := e.err
		e.mu.Unlock()
		replyChans.Put(ch)
		return reply{err: err}
	}
	e.calls[id] = ch
	e.mu.Unlock()
	if err := e.transmit(ctx, e.conn.SendRequest, t, peer, id, data); err != nil {
		e.drop(id, ch)
		return reply{err: err}
	}
	select {
	case r := <-ch:
		replyChans.Put(ch)
		return r
	case <-ctx.Done():
		e.drop(id, ch)
		return reply{err: ctx.Err()}
	}
}

// replyChans recycles the channels calls wait on. A channel goes back only
// empty and out of e.calls: no one can send on it any more.
var replyChans = sync.Pool{New: func() any { return make(chan reply, 1) }}

// drop gives up the call id, whose answer may have come meanwhile, and
// recycles its channel.
func (e *endpoint) drop(id uint64, ch chan reply) {
	if !e.forget(id) { // the answer came meanwhile (or close failed it)
		closeFiles((<-ch).files)
	}
	replyChans.Put(ch)
}

// forget drops a waiting call; it reports whether the call was still waiting.
func (e *endpoint) forget(id uint64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.calls[id]
	delete(e.calls, id)
	return ok
}

// deliver hands a Rep or RepErr frame to the request waiting for it. A reply
// nobody waits for (the requester gave up) is dropped.
func (e *endpoint) deliver(f wire.Frame) {
	e.mu.Lock()
	ch, ok := e.calls[f.ID]
	delete(e.calls, f.ID)
	e.mu.Unlock()
	if !ok {
		closeFiles(f.Files)
		return
	}
	if f.Type == wire.TypeRepErr {
		closeFiles(f.Files)
		ch <- reply{err: decodeErr(f.Payload)}
		return
	}
	ch <- reply{data: clone(f.Payload), files: f.Files}
}

// ack completes the request id with a result carried by another frame.
func (e *endpoint) ack(id, result uint64) {
	e.mu.Lock()
	ch, ok := e.calls[id]
	delete(e.calls, id)
	e.mu.Unlock()
	if ok {
		ch <- reply{acked: true, ack: result}
	}
}

// close fails every waiting request with ErrDisconnected wrapping cause and
// closes the connection.
func (e *endpoint) close(cause error) {
	e.mu.Lock()
	if e.err == nil {
		if cause == nil {
			e.err = ErrDisconnected
		} else {
			e.err = &causeError{ErrDisconnected, cause}
		}
		for id, ch := range e.calls {
			ch <- reply{err: e.err}
			delete(e.calls, id)
		}
		close(e.done)
	}
	e.mu.Unlock()
	e.conn.Close()
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return []byte{}
	}
	return append(make([]byte, 0, len(b)), b...)
}

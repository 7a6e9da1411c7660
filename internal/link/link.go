// Package link is one end of an IPC channel between a primary and a worker,
// the same type on both sides: a framed connection (package wire), the
// requests waiting for their replies, and one reader that hands every frame
// to the handler its feature registered for the frame's type (or, for a
// control frame, its command byte). Features register before [Link.Run];
// adding a frame type touches no supervision code.
//
// Frames that alias the read buffer and are best applied together (the
// shared state's writes and changes) go to a [Batcher]: the reader applies
// its batch before any read that may wait or move the buffer, and before
// handling any other frame, so everything a peer sent is handled in the
// order it was sent.
package link

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"

	"github.com/gocluster/cluster/internal/wire"
)

// Errors are the errors a Link gives its callers, supplied by the package
// that owns the sentinels; every field must be set.
type Errors struct {
	// Encode and Decode turn an error into the payload of a RepErr frame
	// and back.
	Encode func(error) []byte
	Decode func([]byte) error
	// Disconnected is the error of a call once the channel is gone, with
	// its cause (nil if it was closed on purpose).
	Disconnected func(cause error) error
	// TooLarge is the error of a payload over the peer's limit.
	TooLarge func(size, limit int) error
	// Op wraps the error of an operation, such as a send whose ctx ended.
	Op func(op string, err error) error
}

// Reply is the answer to a request: a Rep frame's payload and files, an
// error (a RepErr frame, or the channel's end), or a result completed by a
// frame of another kind ([Link.Complete]).
type Reply struct {
	Data   []byte
	Files  []*os.File
	Err    error
	Result uint64
	// Completed is set when the request was answered by Complete.
	Completed bool
}

// Link is one end of a channel. Create it with [New], register handlers,
// then call [Link.Run] on the goroutine that reads it.
type Link struct {
	conn  *wire.Conn
	max   int // the largest payload the peer accepts
	errs  Errors
	reqID atomic.Uint64

	mu    sync.Mutex
	calls map[uint64]chan Reply // protected by mu
	err   error                 // protected by mu; set once the channel is gone
	done  chan struct{}

	// Set before Run, read by the reader only.
	handlers [64]Handler
	ctl      [256]Handler
	batchers []Batcher
	held     bool // a batcher took a frame since the last flush (reader only)
}

// New returns a Link over conn; max is the largest payload the peer
// accepts.
func New(conn *wire.Conn, max int, errs Errors) *Link {
	return &Link{conn: conn, max: max, errs: errs, calls: make(map[uint64]chan Reply), done: make(chan struct{})}
}

// Conn returns the framed connection.
func (l *Link) Conn() *wire.Conn { return l.conn }

// Max returns the largest payload the peer accepts.
func (l *Link) Max() int { return l.max }

// Done is closed once the channel is gone.
func (l *Link) Done() <-chan struct{} { return l.done }

// Send writes one frame, waiting for queue space while the peer does not
// read; see [wire.Conn.Send].
func (l *Link) Send(t wire.Type, peer uint32, id uint64, data []byte) error {
	return l.transmit(context.Background(), l.conn.SendContext, t, peer, id, data)
}

// SendContext is Send, waiting for queue space only until ctx ends.
func (l *Link) SendContext(ctx context.Context, t wire.Type, peer uint32, id uint64, data []byte) error {
	return l.transmit(ctx, l.conn.SendContext, t, peer, id, data)
}

// SendWritten writes one frame and returns once it is written, waiting at
// most until ctx ends; see [wire.Conn.SendWritten].
func (l *Link) SendWritten(ctx context.Context, t wire.Type, peer uint32, id uint64, data []byte) error {
	return l.transmit(ctx, l.conn.SendWritten, t, peer, id, data)
}

// WaitWritten returns once every frame queued so far is written, or ctx
// ends; see [wire.Conn.WaitWritten].
func (l *Link) WaitWritten(ctx context.Context) error {
	return l.sendErr(ctx, l.conn.WaitWritten(ctx))
}

// SendFiles writes one frame with files beside it, without waiting; the
// files are closed once sent (or on failure).
func (l *Link) SendFiles(t wire.Type, peer uint32, id uint64, data []byte, files []*os.File) error {
	if err := l.check(data); err != nil {
		closeFiles(files)
		return err
	}
	if err := l.conn.EnqueueFiles(t, peer, id, data, files); err != nil {
		closeFiles(files)
		return l.closedErr(err)
	}
	return nil
}

func (l *Link) check(data []byte) error {
	if len(data) > l.max {
		return l.errs.TooLarge(len(data), l.max)
	}
	return nil
}

func (l *Link) transmit(ctx context.Context, how func(context.Context, wire.Type, uint32, uint64, []byte) error,
	t wire.Type, peer uint32, id uint64, data []byte) error {
	if err := l.check(data); err != nil {
		return err
	}
	return l.sendErr(ctx, how(ctx, t, peer, id, data))
}

// sendErr turns the error of a send under ctx into the caller's: ctx's own
// error, or the channel's end.
func (l *Link) sendErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return l.errs.Op("send", err)
	}
	return l.closedErr(err)
}

// Enqueue queues one frame without ever blocking.
func (l *Link) Enqueue(t wire.Type, peer uint32, id uint64, data []byte) error {
	if err := l.conn.Enqueue(t, peer, id, data); err != nil {
		return l.closedErr(err)
	}
	return nil
}

// Reply answers the request id with data (or, with err, an error reply),
// without blocking.
func (l *Link) Reply(id uint64, data []byte, err error) error {
	if err != nil {
		return l.Enqueue(wire.TypeRepErr, 0, id, l.errs.Encode(err))
	}
	return l.Enqueue(wire.TypeRep, 0, id, data)
}

// EncodeError returns the payload of an error reply carrying err.
func (l *Link) EncodeError(err error) []byte { return l.errs.Encode(err) }

// Err returns the error of the channel's end, nil while it is open.
func (l *Link) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *Link) closedErr(cause error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	return l.errs.Disconnected(cause)
}

// Request sends data as a request to peer and waits for the reply, until
// ctx ends.
func (l *Link) Request(ctx context.Context, peer uint32, data []byte) ([]byte, error) {
	r := l.Call(ctx, wire.TypeReq, peer, data)
	closeFiles(r.Files) // replies to requests carry no handles
	return r.Data, r.Err
}

// Call sends a frame of type t with a new request id and waits for the
// reply frame with that id (which may carry files), or for Complete.
func (l *Link) Call(ctx context.Context, t wire.Type, peer uint32, data []byte) Reply {
	id := l.reqID.Add(1)
	ch := replyChans.Get().(chan Reply)
	l.mu.Lock()
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		replyChans.Put(ch)
		return Reply{Err: err}
	}
	l.calls[id] = ch
	l.mu.Unlock()
	if err := l.transmit(ctx, l.conn.SendRequest, t, peer, id, data); err != nil {
		l.drop(id, ch)
		return Reply{Err: err}
	}
	select {
	case r := <-ch:
		replyChans.Put(ch)
		return r
	case <-ctx.Done():
		l.drop(id, ch)
		return Reply{Err: ctx.Err()}
	}
}

// replyChans recycles the channels calls wait on. A channel goes back only
// empty and out of l.calls: no one can send on it any more.
var replyChans = sync.Pool{New: func() any { return make(chan Reply, 1) }}

// drop gives up the call id, whose answer may have come meanwhile, and
// recycles its channel.
func (l *Link) drop(id uint64, ch chan Reply) {
	if !l.forget(id) { // the answer came meanwhile (or close failed it)
		closeFiles((<-ch).Files)
	}
	replyChans.Put(ch)
}

// forget drops a waiting call; it reports whether the call was still waiting.
func (l *Link) forget(id uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.calls[id]
	delete(l.calls, id)
	return ok
}

// take removes and returns the channel of the call id, nil if none waits.
func (l *Link) take(id uint64) chan Reply {
	l.mu.Lock()
	ch, ok := l.calls[id]
	delete(l.calls, id)
	l.mu.Unlock()
	if !ok {
		return nil
	}
	return ch
}

// deliver hands a Rep or RepErr frame to the request waiting for it. A reply
// nobody waits for (the requester gave up) is dropped.
func (l *Link) deliver(f wire.Frame) {
	ch := l.take(f.ID)
	switch {
	case ch == nil:
		closeFiles(f.Files)
	case f.Type == wire.TypeRepErr:
		closeFiles(f.Files)
		ch <- Reply{Err: l.errs.Decode(f.Payload)}
	default:
		ch <- Reply{Data: Clone(f.Payload), Files: f.Files}
	}
}

// Complete answers the request id with a result carried by a frame of
// another kind (a shared-state change answers the write that made it).
func (l *Link) Complete(id, result uint64) {
	if ch := l.take(id); ch != nil {
		ch <- Reply{Completed: true, Result: result}
	}
}

// Close fails every waiting request with the Disconnected error of cause
// and closes the connection.
func (l *Link) Close(cause error) {
	l.mu.Lock()
	if l.err == nil {
		l.err = l.errs.Disconnected(cause)
		for id, ch := range l.calls {
			ch <- Reply{Err: l.err}
			delete(l.calls, id)
		}
		close(l.done)
	}
	l.mu.Unlock()
	l.conn.Close()
}

// Clone returns a copy of b that outlives the read buffer (never nil).
func Clone(b []byte) []byte {
	if len(b) == 0 {
		return []byte{}
	}
	return append(make([]byte, 0, len(b)), b...)
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

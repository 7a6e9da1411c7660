package cluster

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/gocluster/cluster/internal/wire"
)

// Control commands, the first payload byte of a wire.TypeCtl frame.
const (
	ctlReady    byte = 1 // worker -> primary: Ready was called
	ctlShutdown byte = 2 // primary -> worker: drain and exit
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
	data []byte
	err  error
}

func newEndpoint(conn *wire.Conn, max int) *endpoint {
	return &endpoint{conn: conn, max: max, calls: make(map[uint64]chan reply), done: make(chan struct{})}
}

// send writes one frame; see wire.Conn.Send.
func (e *endpoint) send(t wire.Type, peer uint32, id uint64, data []byte) error {
	if len(data) > e.max {
		return fmt.Errorf("%w: %d bytes, the limit is %d (Config.MaxMessageSize)", ErrTooLarge, len(data), e.max)
	}
	if err := e.conn.Send(t, peer, id, data); err != nil {
		return e.closedErr(err)
	}
	return nil
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
	return fmt.Errorf("%w: %w", ErrDisconnected, cause)
}

// request sends data as a request to peer and waits for the reply.
func (e *endpoint) request(ctx context.Context, peer uint32, data []byte) ([]byte, error) {
	id := e.reqID.Add(1)
	ch := make(chan reply, 1)
	e.mu.Lock()
	if e.err != nil {
		err := e.err
		e.mu.Unlock()
		return nil, err
	}
	e.calls[id] = ch
	e.mu.Unlock()
	if err := e.send(wire.TypeReq, peer, id, data); err != nil {
		e.forget(id)
		return nil, err
	}
	select {
	case r := <-ch:
		return r.data, r.err
	case <-ctx.Done():
		e.forget(id)
		return nil, ctx.Err()
	}
}

func (e *endpoint) forget(id uint64) {
	e.mu.Lock()
	delete(e.calls, id)
	e.mu.Unlock()
}

// deliver hands a Rep or RepErr frame to the request waiting for it. A reply
// nobody waits for (the requester gave up) is dropped.
func (e *endpoint) deliver(f wire.Frame) {
	e.mu.Lock()
	ch, ok := e.calls[f.ID]
	delete(e.calls, f.ID)
	e.mu.Unlock()
	if !ok {
		return
	}
	if f.Type == wire.TypeRepErr {
		ch <- reply{err: decodeErr(f.Payload)}
		return
	}
	ch <- reply{data: clone(f.Payload)}
}

// close fails every waiting request with ErrDisconnected wrapping cause and
// closes the connection.
func (e *endpoint) close(cause error) {
	e.mu.Lock()
	if e.err == nil {
		if cause == nil {
			e.err = ErrDisconnected
		} else {
			e.err = fmt.Errorf("%w: %w", ErrDisconnected, cause)
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

func clone(b []byte) []byte {
	if len(b) == 0 {
		return []byte{}
	}
	return append(make([]byte, 0, len(b)), b...)
}

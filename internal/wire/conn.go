package wire

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"time"
)

// DefaultHighWater is how many queued bytes make Send wait for the writer.
const DefaultHighWater = 4 << 20

// burstGap is how soon after the previous Send a new one counts as part of a
// burst. A Send outside a burst on an idle connection writes at once from the
// caller's goroutine (no hand-off: lowest latency); a Send inside a burst is
// queued for the writer goroutine, which coalesces the queue into one write.
const burstGap = 10 * time.Microsecond

// Conn is a framed, full-duplex connection. ReadFrame may be called from one
// goroutine at a time; the write methods from any number of goroutines.
type Conn struct {
	rw  io.ReadWriteCloser
	raw *rawIO // nil: read and write through rw
	max int

	rbuf []byte
	r, w int
	uc   *net.UnixConn // set when descriptors can travel
	side bool          // descriptors travel on uc, beside the frames (Pipes)
	oob  []byte
	rfds []*os.File // received descriptors not yet handed to a frame

	mu       sync.Mutex
	space    sync.Cond // signalled when queued bytes drop or the conn fails
	pending  []byte
	pfds     []*os.File // descriptors of queued frames, owned until written
	spare    []byte
	writing  bool   // a write is in flight (the writer's or an inline one)
	taken    uint64 // batches the writer took from pending
	flushed  uint64 // the last batch written whole
	err      error
	lastSend time.Time
	wake     chan struct{}
	done     chan struct{}
	closeMu  sync.Once
}

// NewConn wraps rw. maxFrame bounds the payload this side accepts (0 means
// DefaultMaxFrame). It starts the writer goroutine, which ends on Close.
func NewConn(rw io.ReadWriteCloser, maxFrame int) *Conn {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	c := &Conn{
		rw:   rw,
		raw:  newRawIO(rw),
		max:  maxFrame,
		rbuf: make([]byte, 64<<10),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	switch rw := rw.(type) {
	case *net.UnixConn:
		c.uc = rw
		c.oob = make([]byte, oobSize)
	case *Pipes:
		c.uc, c.side = rw.FD, true
		c.oob = make([]byte, oobSize)
	}
	c.space.L = &c.mu
	go c.writeLoop()
	return c
}

// ReadFrame reads the next frame. The returned payload aliases the read
// buffer and is valid until the next call.
func (c *Conn) ReadFrame() (Frame, error) {
	f, err := c.readFrame()
	if err != nil {
		// The stream cannot go on: descriptors no frame claimed are dropped.
		closeFiles(c.rfds)
		c.rfds = nil
	}
	return f, err
}

func (c *Conn) readFrame() (Frame, error) {
	if err := c.fill(HeaderSize); err != nil {
		return Frame{}, err
	}
	f, n, err := ParseHeader(c.rbuf[c.r:c.w], c.max)
	if err != nil {
		return Frame{}, err
	}
	if err := c.fill(HeaderSize + n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	f.Payload = c.rbuf[c.r+HeaderSize : c.r+HeaderSize+n : c.r+HeaderSize+n]
	c.r += HeaderSize + n
	if f.nfd > len(c.rfds) && c.side {
		if err := c.recvSide(f.nfd - len(c.rfds)); err != nil {
			return Frame{}, err
		}
	}
	if f.nfd > 0 {
		if len(c.rfds) < f.nfd {
			return Frame{}, fmt.Errorf("%w: frame announces %d descriptors, %d arrived", ErrMalformed, f.nfd, len(c.rfds))
		}
		f.Files = append([]*os.File(nil), c.rfds[:f.nfd]...)
		c.rfds = append(c.rfds[:0], c.rfds[f.nfd:]...)
	}
	return f, nil
}

// HasFrame reports whether a whole frame is buffered, so that the next
// ReadFrame reads no frame bytes from the connection and does not move the
// read buffer: payloads of frames read before it stay valid. (It may still
// wait for the descriptors the frame announces, which travel apart.) A header
// that does not parse counts as a frame (ReadFrame reports it).
func (c *Conn) HasFrame() bool {
	if c.w-c.r < HeaderSize {
		return false
	}
	_, n, err := ParseHeader(c.rbuf[c.r:c.w], c.max)
	return err != nil || c.w-c.r >= HeaderSize+n
}

// fill makes sure at least n unread bytes are buffered.
func (c *Conn) fill(n int) error {
	if c.w-c.r >= n {
		return nil
	}
	if n > len(c.rbuf)-c.r {
		buf := c.rbuf
		if n > len(buf) {
			buf = make([]byte, max(n, 2*len(buf)))
		}
		c.w = copy(buf, c.rbuf[c.r:c.w])
		c.r = 0
		c.rbuf = buf
	}
	for c.w-c.r < n {
		m, err := c.read(c.rbuf[c.w:])
		c.w += m
		if err != nil {
			if c.w-c.r >= n && !IsProtocolError(err) {
				return nil // the next read reports it again
			}
			if err == io.EOF && c.w > c.r {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// Enqueue queues a frame for the writer goroutine and returns at once: it
// never blocks and never writes from the caller's goroutine. Use it where
// blocking is not allowed (a supervisor's loop).
func (c *Conn) Enqueue(t Type, peer uint32, id uint64, payload []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.pending = AppendFrame(c.pending, t, peer, id, payload)
	c.kick()
	return nil
}

// EnqueueFrames queues frames already encoded (by AppendFrame, without
// descriptors) for the writer goroutine, as one Enqueue per frame would, and
// returns how many bytes are then queued. Like Enqueue it never blocks.
func (c *Conn) EnqueueFrames(frames []byte) (queued int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.pending = append(c.pending, frames...)
	c.kick()
	return len(c.pending), nil
}

// Send writes a frame. On an idle connection it writes at once from the
// caller's goroutine; during a burst it queues the frame for the writer,
// waiting first while more than DefaultHighWater bytes are queued. The
// payload is not retained after Send returns.
func (c *Conn) Send(t Type, peer uint32, id uint64, payload []byte) error {
	return c.send(context.Background(), t, peer, id, payload, sendAsync)
}

// SendWritten is Send, returning only once the frame is written to the
// connection (it is in the kernel's buffer, or the peer has it): a process
// that exits right after it loses nothing. Frames sent together from many
// goroutines still share one write. It stops waiting when ctx ends and
// returns ctx's error; the frame may still be written if it was queued.
func (c *Conn) SendWritten(ctx context.Context, t Type, peer uint32, id uint64, payload []byte) error {
	return c.send(ctx, t, peer, id, payload, sendWritten)
}

// SendContext is Send, waiting for queue space only until ctx ends (then
// nothing was sent and it returns ctx's error). Under a ctx that can end,
// nothing is written from the caller's goroutine: a write to a peer that
// does not read cannot be given up, a wait in the queue can.
func (c *Conn) SendContext(ctx context.Context, t Type, peer uint32, id uint64, payload []byte) error {
	return c.send(ctx, t, peer, id, payload, sendQueued)
}

// SendRequest is Send, its wait for queue space bounded by ctx. Unlike
// SendContext it still writes from the caller's goroutine on an idle
// connection (no copy of the payload, no hand-off): for a request, whose
// caller then waits for the answer under ctx anyway.
func (c *Conn) SendRequest(ctx context.Context, t Type, peer uint32, id uint64, payload []byte) error {
	return c.send(ctx, t, peer, id, payload, sendAsync)
}

// How send treats a frame.
const (
	sendAsync   = iota // inline when idle, else queued; returns once queued
	sendQueued         // queued under a ctx that can end; returns once queued
	sendWritten        // returns once written (inline when idle)
)

func (c *Conn) send(ctx context.Context, t Type, peer uint32, id uint64, payload []byte, mode int) error {
	written := mode == sendWritten
	c.mu.Lock()
	now := time.Now()
	if c.err == nil && len(c.pending) > DefaultHighWater {
		if err := c.waitLocked(ctx, func() bool { return len(c.pending) <= DefaultHighWater }); err != nil {
			c.mu.Unlock()
			return err
		}
	}
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	// A frame that must be written before Send returns is written inline
	// whenever no write is in flight: waiting for the writer goroutine would
	// only add a hand-off. Under a context that can end, only sendAsync
	// writes inline: a write cannot be given up midway, a wait in the queue
	// can.
	burst := !written && now.Sub(c.lastSend) < burstGap
	c.lastSend = now
	if burst || c.writing || len(c.pending) > 0 || (mode != sendAsync && ctx.Done() != nil) {
		c.pending = AppendFrame(c.pending, t, peer, id, payload)
		c.kick()
		if !written {
			c.mu.Unlock()
			return nil
		}
		batch := c.taken + 1 // the batch this frame is in
		err := c.waitLocked(ctx, func() bool { return c.flushed >= batch })
		c.mu.Unlock()
		return err
	}
	// Idle: write inline, header and payload in one writev.
	c.writing = true
	hdr := appendHeader(c.spare[:0], t, 0, peer, id, len(payload))
	c.mu.Unlock()
	var err error
	if len(payload) > 4<<10 {
		err = c.write(hdr, payload)
	} else {
		hdr = append(hdr, payload...)
		err = c.write(hdr, nil)
	}
	c.mu.Lock()
	if c.err == nil { // a closed connection keeps no buffer
		c.spare = hdr[:0]
	}
	c.writing = false
	if err != nil {
		c.failLocked(err)
	} else if len(c.pending) > 0 {
		c.kick()
	}
	c.mu.Unlock()
	if err != nil {
		return c.errOf()
	}
	return nil
}

// WaitWritten waits until every frame queued before the call is written
// (or the connection fails, or ctx ends).
func (c *Conn) WaitWritten(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	batch := c.taken // the writer's batch in flight, if any
	if len(c.pending) > 0 {
		batch++
	}
	return c.waitLocked(ctx, func() bool { return c.flushed >= batch })
}

// waitLocked waits on c.space until done reports true, the connection fails
// (c.err) or ctx ends. c.mu is held.
func (c *Conn) waitLocked(ctx context.Context, done func() bool) error {
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() {
			c.mu.Lock()
			c.space.Broadcast()
			c.mu.Unlock()
		})
		defer stop()
	}
	for !done() {
		if c.err != nil {
			return c.err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		c.space.Wait()
	}
	return nil
}

// write writes a then b; one write is in flight at a time (c.writing).
func (c *Conn) write(a, b []byte) error {
	if c.raw != nil {
		return c.raw.write(a, b)
	}
	var err error
	if len(b) > 0 {
		bufs := net.Buffers{a, b}
		_, err = bufs.WriteTo(c.rw)
	} else {
		_, err = c.rw.Write(a)
	}
	return err
}

func (c *Conn) errOf() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// kick wakes the writer goroutine. c.mu is held.
func (c *Conn) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Conn) writeLoop() {
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		// The goroutine that queued a frame made this one runnable next;
		// letting the others that are runnable go first lets them queue
		// their frames too, so that one write carries them all.
		runtime.Gosched()
		c.mu.Lock()
		for len(c.pending) > 0 && !c.writing && c.err == nil {
			buf, fds := c.pending, c.pfds
			c.pending, c.pfds = c.spare[:0], nil
			c.taken++
			batch := c.taken
			c.writing = true
			c.mu.Unlock()
			err := c.writeBatch(buf, fds)
			c.mu.Lock()
			if cap(buf) <= 2*DefaultHighWater && c.err == nil {
				c.spare = buf[:0]
			} else {
				c.spare = nil
			}
			c.writing = false
			if err != nil {
				c.failLocked(err)
			} else {
				c.flushed = batch
			}
			c.space.Broadcast()
		}
		c.mu.Unlock()
	}
}

// Flush waits until every queued frame has been written, the connection
// fails, or timeout passes; it reports whether the queue was written.
func (c *Conn) Flush(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		idle := len(c.pending) == 0 && !c.writing
		failed := c.err != nil
		c.mu.Unlock()
		if idle || failed {
			return idle && !failed
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// WaitBacklog waits until at most n bytes are queued (see Backlog) and
// returns nil, or until the connection fails or is closed and returns its
// error. A sender that queues with Enqueue calls it first to respect the
// peer's pace, as Send does with DefaultHighWater.
func (c *Conn) WaitBacklog(n int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.waitLocked(context.Background(), func() bool { return len(c.pending) <= n }); err != nil {
		return err
	}
	return c.err
}

// failLocked records the first write error. Only the writing half is shut:
// what the peer wrote before it went away is still read, up to the end of
// the stream (a worker's last messages before it exited are delivered).
func (c *Conn) failLocked(err error) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	c.space.Broadcast()
	if hc, ok := c.rw.(interface{ CloseWrite() error }); ok {
		hc.CloseWrite() // no write is in flight: it does not wait
		return
	}
	go c.Close() // cannot be half closed: closed whole (Close takes c.mu)
}

// Close closes the connection: pending frames are dropped (with the write
// buffers: a closed connection that is still referenced holds no memory for
// them), blocked writers get ErrClosed and a blocked ReadFrame returns an
// error.
func (c *Conn) Close() error {
	var err error
	c.closeMu.Do(func() {
		c.mu.Lock()
		if c.err == nil {
			c.err = ErrClosed
		}
		c.pending, c.spare = nil, nil
		c.space.Broadcast()
		closeFiles(c.pfds)
		c.pfds = nil
		c.mu.Unlock()
		close(c.done)
		err = c.rw.Close()
	})
	return err
}

// WriteRaw writes b as it is, outside the framing and the queue. It exists
// to test how peers treat a connection that misbehaves.
func (c *Conn) WriteRaw(b []byte) (int, error) { return c.rw.Write(b) }

package link

import (
	"fmt"

	"github.com/gocluster/cluster/internal/wire"
)

// A Handler handles one frame, on the reading goroutine. It owns the
// frame's files; its payload aliases the read buffer and is valid only
// during the call (copy what is kept). An error ends the channel: return
// one only for what breaks the protocol.
type Handler func(f wire.Frame) error

// A Batcher gathers frames that are best applied together. The reader
// offers it every frame; the frames it takes alias the read buffer, so the
// reader calls Flush before any read that may wait or move the buffer,
// when the batch is full, before handing any other frame to its handler,
// and when the channel ends.
type Batcher interface {
	// Take queues f if it belongs to the batch and reports whether it did;
	// an error ends the channel.
	Take(f wire.Frame) (bool, error)
	// Pending reports whether frames are queued; Full, whether no more
	// should be.
	Pending() bool
	Full() bool
	// Flush applies the queued frames.
	Flush()
}

// Handle registers h for the frames of type t. Rep and RepErr frames are
// the Link's own (they answer its calls); Ctl frames go to HandleCtl's
// handlers. Call it before Run.
func (l *Link) Handle(t wire.Type, h Handler) { l.handlers[t] = h }

// HandleCtl registers h for the control frames whose command (first
// payload byte) is cmd. A control frame with no handler is dropped (a
// command of a later version). Call it before Run.
func (l *Link) HandleCtl(cmd wire.Ctl, h Handler) { l.ctl[cmd] = h }

// AddBatcher registers b; call it before Run.
func (l *Link) AddBatcher(b Batcher) { l.batchers = append(l.batchers, b) }

// Run reads the channel until it ends and returns why: the handshake's
// error, the connection's (io.EOF for a clean end), or the error of a
// handler. online is called once the peer's Hello has come. Run does not
// close the Link.
func (l *Link) Run(online func()) error {
	f, err := l.conn.ReadFrame()
	if wire.IsProtocolError(err) {
		return fmt.Errorf("%w: %w", wire.ErrHandshake, err)
	}
	if err != nil {
		return err
	}
	if err := wire.CheckHello(f); err != nil {
		return err
	}
	if online != nil {
		online()
	}
	defer l.flush() // what was read before an error still counts
	for {
		if l.mustFlush() {
			l.flush()
		}
		f, err := l.conn.ReadFrame()
		if err != nil {
			return err
		}
		took, err := l.batch(f)
		if err != nil {
			return err
		}
		if took {
			l.held = true
			continue
		}
		l.flush() // whatever the peer sent next comes after the batch
		if err := l.dispatch(f); err != nil {
			return err
		}
	}
}

// mustFlush reports whether a batch must be applied before the next read:
// it is full, or the next read may wait or move the buffer.
func (l *Link) mustFlush() bool {
	if !l.held {
		return false
	}
	pending := false
	for _, b := range l.batchers {
		if b.Pending() {
			if b.Full() {
				return true
			}
			pending = true
		}
	}
	return pending && !l.conn.HasFrame()
}

func (l *Link) flush() {
	if !l.held {
		return
	}
	l.held = false
	for _, b := range l.batchers {
		if b.Pending() {
			b.Flush()
		}
	}
}

// batch offers f to the batchers.
func (l *Link) batch(f wire.Frame) (bool, error) {
	for _, b := range l.batchers {
		if took, err := b.Take(f); took || err != nil {
			return took, err
		}
	}
	return false, nil
}

// dispatch hands f to its handler.
func (l *Link) dispatch(f wire.Frame) error {
	switch f.Type {
	case wire.TypeRep, wire.TypeRepErr:
		l.deliver(f)
		return nil
	case wire.TypeCtl:
		var h Handler
		if len(f.Payload) > 0 {
			h = l.ctl[f.Payload[0]]
		}
		if h == nil {
			closeFiles(f.Files)
			return nil
		}
		return h(f)
	}
	if int(f.Type) < len(l.handlers) {
		if h := l.handlers[f.Type]; h != nil {
			return h(f)
		}
	}
	closeFiles(f.Files)
	return fmt.Errorf("%w: unexpected %v frame", wire.ErrMalformed, f.Type)
}

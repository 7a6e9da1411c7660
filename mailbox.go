package cluster

import (
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gocluster/cluster/internal/queue"
)

const (
	// mailboxChan is the buffer of the channel users read.
	mailboxChan = 256
	// mailboxUnread bounds what is kept while nobody has asked for the
	// channel yet; past it messages are dropped (requests answered with
	// ErrNoReader) and a warning is logged.
	mailboxUnread = 1024
	// mailboxBytes bounds what is queued for a reader that is slow: past it
	// the channel's reading goroutine waits, which pushes back on the sender.
	mailboxBytes = 64 << 20
	// msgOverhead is what a queued message costs beyond its data.
	msgOverhead = 128
)

// mailbox delivers received messages to a channel in order without making
// the connection's reader wait for the consumer, except when more than
// mailboxBytes are queued (then it waits: flow control back to the sender).
type mailbox struct {
	ch         chan *Message
	subscribed atomic.Bool
	handler    atomic.Pointer[func(*Message)]
	log        *slog.Logger

	// reader is the goroutine that calls the handler (a worker's channel
	// reader; see inHandler), recorded at its first call; running is set
	// while the handler runs. Only a mailbox with one reader (a worker's)
	// is asked inHandler.
	reader  atomic.Uint64
	running atomic.Bool

	// The backlog holds what did not fit in ch, in order, and feeds ch;
	// queued and bytes count what it holds or is sending.
	backlog *queue.Unbounded[*Message]
	mu      sync.Mutex
	space   sync.Cond
	queued  int
	bytes   int
	closed  bool
	dropped int
}

func newMailbox(log *slog.Logger) *mailbox {
	mb := &mailbox{ch: make(chan *Message, mailboxChan), log: log}
	mb.space.L = &mb.mu
	mb.backlog = queue.New(queue.Config[*Message]{Out: mb.ch, Delivered: mb.delivered})
	return mb
}

// channel marks the mailbox as read and returns its channel.
func (mb *mailbox) channel() <-chan *Message {
	mb.subscribed.Store(true)
	mb.mu.Lock()
	mb.space.Broadcast()
	mb.mu.Unlock()
	return mb.ch
}

// handle makes h receive every message from now on, on the caller of put.
func (mb *mailbox) handle(h func(*Message)) {
	mb.handler.Store(&h)
	mb.subscribed.Store(true)
}

// put delivers m. It is called by one connection reader at a time per
// sender; the order of puts is the order of delivery.
func (mb *mailbox) put(m *Message) {
	if h := mb.handler.Load(); h != nil {
		if mb.reader.Load() == 0 {
			mb.reader.Store(goroutineID())
		}
		mb.running.Store(true)
		defer mb.running.Store(false)
		(*h)(m)
		return
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.closed {
		m.drop()
		return
	}
	if mb.queued == 0 {
		select {
		case mb.ch <- m:
			return
		default:
		}
	}
	if !mb.subscribed.Load() && mb.queued >= mailboxUnread {
		mb.dropped++
		if mb.dropped == 1 || mb.dropped%10000 == 0 {
			mb.log.Warn("cluster: dropping messages: nobody reads Messages()", "dropped", mb.dropped)
		}
		m.drop()
		return
	}
	for mb.subscribed.Load() && mb.bytes > mailboxBytes && !mb.closed {
		mb.space.Wait()
	}
	if mb.closed {
		m.drop()
		return
	}
	mb.queued++
	mb.bytes += len(m.Data) + msgOverhead
	mb.backlog.Push(m)
}

// delivered is called by the backlog once m is in the channel. Only then is
// it uncounted, so that put sends on the channel directly only when no
// queued message could be overtaken.
func (mb *mailbox) delivered(m *Message) {
	mb.mu.Lock()
	mb.queued--
	mb.bytes -= len(m.Data) + msgOverhead
	mb.space.Broadcast()
	mb.mu.Unlock()
}

// close closes the channel once every queued message was delivered.
func (mb *mailbox) close() {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.closed {
		return
	}
	mb.closed = true
	mb.space.Broadcast()
	mb.backlog.Close()
}

// inHandler returns ErrInHandler if it is called from the handler, on the
// goroutine that reads the channel: a call that waits for an answer read
// there would wait forever. It costs one atomic load unless a handler is
// running.
func (mb *mailbox) inHandler() error {
	if mb.running.Load() && goroutineID() == mb.reader.Load() && mb.reader.Load() != 0 {
		return ErrInHandler
	}
	return nil
}

// goroutineID returns the id of the calling goroutine, read from the first
// line of its stack trace ("goroutine 18 [running]:"); 0 if it cannot.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	const head = "goroutine "
	if len(b) < len(head) || string(b[:len(head)]) != head {
		return 0
	}
	var id uint64
	for _, c := range b[len(head):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

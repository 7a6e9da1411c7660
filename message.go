package cluster

import (
	"os"
	"sync/atomic"

	"github.com/gocluster/cluster/internal/link"
	"github.com/gocluster/cluster/internal/wire"
)

// Message is a message or request received from another process of the
// cluster. Data belongs to the receiver.
type Message struct {
	// Data is the message body.
	Data []byte
	// From is the id of the worker that sent it, or 0 for the primary.
	From int
	// Worker is, in the primary, the handle of the sending worker; nil in a
	// worker (use From).
	Worker *Worker
	// File is the descriptor sent with the message (SendHandle), or nil. It
	// belongs to the receiver, who must close it; Conn and Listener turn it
	// into what was sent.
	File *os.File

	id      uint64
	ep      *link.Link
	replied atomic.Bool
}

// IsRequest reports whether the sender waits for a reply (it called Request).
func (m *Message) IsRequest() bool { return m.id != 0 }

// Reply answers a request. It may be called from any goroutine, once.
func (m *Message) Reply(data []byte) error {
	return m.reply(wire.TypeRep, data)
}

// ReplyError answers a request with an error: the requester's Request
// returns a *RemoteError with err's text, which matches the sentinel of
// this package that err matches (errors.Is(err, kv.ErrExists) holds on both
// sides).
func (m *Message) ReplyError(err error) error {
	return m.reply(wire.TypeRepErr, encodeErr(remoteError(err)))
}

func (m *Message) reply(t wire.Type, data []byte) error {
	if m.id == 0 {
		return ErrNotRequest
	}
	if m.replied.Swap(true) {
		return ErrReplied
	}
	return m.ep.Send(t, 0, m.id, data)
}

// firstFile keeps the first of the files that came with a frame (a message
// carries at most one) and closes the others.
func firstFile(fs []*os.File) *os.File {
	if len(fs) == 0 {
		return nil
	}
	closeFiles(fs[1:])
	return fs[0]
}

// drop discards a message nobody will read: its handle is closed and a
// requester gets ErrNoReader.
func (m *Message) drop() {
	if m.File != nil {
		m.File.Close()
	}
	if m.IsRequest() && !m.replied.Swap(true) {
		m.ep.Enqueue(wire.TypeRepErr, 0, m.id, encodeErr(ErrNoReader)) // never waits: drop runs under locks
	}
}

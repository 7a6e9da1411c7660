// Package kvlink carries the shared state (package kv) over the IPC
// channels (package link): the primary's side serves each worker's writes,
// loads and subscription from the primary's [kv.Backend] ([Server]); the
// worker's side is a kv.Backend that sends them to the primary and feeds
// the worker's replica ([Client]).
package kvlink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gocluster/cluster/internal/link"
	"github.com/gocluster/cluster/internal/state"
	"github.com/gocluster/cluster/internal/wire"
	"github.com/gocluster/cluster/kv"
)

// snapshotChunk bounds the frames of a snapshot.
const snapshotChunk = 128 << 10

// maxReplicaLag is how far (bytes queued) a worker's replica may fall
// behind before its channel is closed: a worker that does not read its
// channel would otherwise hold the primary's memory without bound.
const maxReplicaLag = 256 << 20

// A Peer is the worker at the other end of a channel, as the server needs
// it.
type Peer interface {
	// ID is the worker's id; it is the owner of its keys and loads.
	ID() int
	// CutOff ends the worker's channel because of err, reports err, and
	// stops the worker. The server calls it once, with the Backend's lock
	// held: it must not block (it hands what waits to a goroutine of its
	// own).
	CutOff(err error)
}

// Server serves the shared state of one primary to its workers.
type Server struct {
	b   kv.Backend
	max int // the largest frame payload a worker accepts

	// cache holds the encodings of the last batch of changes, made once
	// for all the workers: the Backend hands each sink the same batch in
	// turn, one call at a time, which guards it.
	cache changeCache
}

// NewServer returns a Server of b for workers that accept frames of up to
// maxFrame bytes.
func NewServer(b kv.Backend, maxFrame int) *Server { return &Server{b: b, max: maxFrame} }

// Conn is one worker's side of the server.
type Conn struct {
	s     *Server
	l     *link.Link
	peer  Peer
	owner uint64

	subscribed bool // set on l's reading goroutine, read there only
	subID      uint64
	answered   bool // the subscription was answered; used by the sink's calls alone
	writes     writeBatch

	// The sink's state: used by the Backend, one call at a time.
	frames []byte        // the frames of a batch of changes
	evs    []state.Event // a batch of changes being converted
	dec    []state.Entry // a piece being converted
	buf    []byte        // a piece's frame

	cut sync.Once
}

// Attach registers the shared state's handlers on l for the worker peer.
// Call it before l runs; call Detach once l's reader has ended.
func (s *Server) Attach(l *link.Link, peer Peer) *Conn {
	c := &Conn{s: s, l: l, peer: peer, owner: uint64(peer.ID())}
	c.writes.c = c
	l.AddBatcher(&c.writes)
	l.Handle(wire.TypeState, c.handle)
	return c
}

// Detach drops what the shared state holds for the worker of c: its
// subscription (joining its snapshot's goroutine), the keys it owns, the
// loads it leads (their waiters try again). Call it once c's channel is
// closed and its reader has ended.
func (c *Conn) Detach() {
	if c.subscribed {
		c.s.b.Unsubscribe(c.owner)
	}
	c.s.b.DropOwner(c.owner)
}

// handle serves one shared-state request other than a write. A malformed
// request is a protocol error: it ends the worker's channel.
func (c *Conn) handle(f wire.Frame) error {
	for _, file := range f.Files {
		file.Close()
	}
	if len(f.Payload) == 0 || f.ID == 0 {
		return fmt.Errorf("%w: empty shared-state request", wire.ErrMalformed)
	}
	id, body := f.ID, f.Payload[1:]
	switch f.Payload[0] {
	case wire.StateWrite: // the batcher takes them all
		return fmt.Errorf("%w: write outside a batch", wire.ErrMalformed)
	case wire.StateSubscribe:
		if c.subscribed { // a worker's Sync: answered after the changes it must see
			var err error
			if sy, ok := c.s.b.(kv.Syncer); ok { // a remote store: what it has, applied here first
				_, err = sy.Sync(context.Background())
			}
			c.reply(id, 0, nil, err)
			return nil
		}
		c.subscribed, c.subID = true, id // answered after the last piece
		if err := c.s.b.Subscribe(c.owner, c); err != nil {
			c.reply(id, 0, nil, err)
		}
	case wire.StateLoadBegin:
		key := string(body)
		e, have, lead, err := c.s.b.BeginLoad(context.Background(), key, c.owner, func(e kv.Entry, err error) {
			if err != nil {
				c.reply(id, 0, nil, err)
				return
			}
			c.reply(id, e.Rev, loadHave(e), nil)
		})
		switch {
		case err != nil:
			c.reply(id, 0, nil, err)
		case have:
			c.reply(id, e.Rev, loadHave(e), nil)
		case lead:
			c.reply(id, 0, []byte{wire.LoadLead}, nil)
		}
	case wire.StateLoadEnd:
		outcome, ttl, key, rest, err := wire.ParseLoadEnd(body)
		if err != nil {
			return err
		}
		var lerr error
		switch outcome {
		case wire.LoadFailed:
			lerr, rest = errors.New(string(rest)), nil
		case wire.LoadGaveUp:
			lerr, rest = kv.ErrLoadAborted, nil
		}
		rev, err := c.s.b.FinishLoad(context.Background(), key, c.owner, rest, deadline(ttl), lerr)
		c.reply(id, rev, nil, err)
	default:
		return fmt.Errorf("%w: shared-state operation %d", wire.ErrMalformed, f.Payload[0])
	}
	return nil
}

// reply answers the shared-state request id: rev and rest, or err.
func (c *Conn) reply(id, rev uint64, rest []byte, err error) {
	if err != nil {
		c.l.Reply(id, nil, err)
		return
	}
	c.l.Reply(id, wire.AppendStateReply(make([]byte, 0, 10+len(rest)), rev, rest), nil)
}

// deadline is the absolute deadline of a TTL sent by a worker (0: none).
func deadline(ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return time.Now().Add(ttl)
}

// loadHave is the answer to a load whose key exists: the entry.
func loadHave(e kv.Entry) []byte {
	ev := state.Event{Op: state.OpPut, Key: e.Key, Value: e.Value, Rev: e.Rev, Created: e.Created}
	if !e.Expires.IsZero() {
		ev.Expires = e.Expires.UnixNano()
	}
	return wire.AppendEvent([]byte{wire.LoadHave}, ev)
}

// cutOff ends the worker's channel, once.
func (c *Conn) cutOff(err error) { c.cut.Do(func() { c.peer.CutOff(err) }) }

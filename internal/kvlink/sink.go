package kvlink

import (
	"fmt"
	"time"

	"github.com/gocluster/cluster/internal/state"
	"github.com/gocluster/cluster/internal/wire"
	"github.com/gocluster/cluster/kv"
)

// Conn is the worker's [kv.Sink] (and its [state.Feed], what an Engine
// hands over without conversion): it streams the content and the changes
// to the worker. During a batch of changes it holds their frames and queues
// them in one go (one lock of the channel's queue and one wake-up of its
// writer for the batch, not one per change).

// Wait returns once what is queued for the worker is less than n bytes.
func (c *Conn) Wait(n int) error { return c.l.Conn().WaitBacklog(min(n, c.s.max/2)) }

// Snapshot sends one piece of the content; see Piece.
func (c *Conn) Snapshot(rev uint64, entries []kv.Entry, last bool) {
	c.dec = c.dec[:0]
	for _, e := range entries {
		c.dec = append(c.dec, stateEntry(e))
	}
	c.Piece(rev, c.dec, last)
	clear(c.dec)
	c.dec = c.dec[:0]
}

// Piece sends one piece of the content, in frames of at most half a
// message (or one entry); after the last piece it answers the subscription.
func (c *Conn) Piece(rev uint64, entries []state.Entry, last bool) {
	size := min(snapshotChunk, c.s.max/2)
	rest := entries
	for {
		n, bytes := 0, 0
		for n < len(rest) && (n == 0 || bytes+entrySize(&rest[n]) <= size) {
			bytes += entrySize(&rest[n])
			n++
		}
		kind := wire.DeltaSnapPart
		if last && n == len(rest) {
			kind = wire.DeltaSnapshot
		}
		c.buf = wire.AppendSnapshot(append(c.buf[:0], kind), rev, rest[:n])
		c.send(0, c.buf)
		if rest = rest[n:]; len(rest) == 0 {
			break
		}
	}
	if last {
		c.dec, c.buf = nil, nil
		if !c.answered { // a fresh content (Reset) ends the same way
			c.answered = true
			c.reply(c.subID, 0, nil, nil)
		}
	}
}

// Reset tells the worker that its replica's content is void: a fresh one
// follows (see [kv.Sink]). The revisions may go down, and be used again:
// the encodings of the last batch are dropped (every sink gets Reset
// before any later change).
func (c *Conn) Reset() {
	c.s.cache.drop()
	c.send(0, []byte{wire.DeltaReset})
}

// entrySize bounds the encoded size of e in a snapshot frame: its key and
// value, their lengths and four numbers, each at most 10 bytes.
func entrySize(e *state.Entry) int { return len(e.Key) + len(e.Value) + 60 }

// Changes sends changes; see Events.
func (c *Conn) Changes(cs []kv.Change) {
	evs := c.evs[:0]
	for i := range cs {
		evs = append(evs, stateEvent(&cs[i]))
	}
	c.Events(evs)
	clear(evs)
	c.evs = evs[:0]
}

// Events sends changes; the encoding of each is made once for every
// worker's sink (see changeCache). The change a worker's own write made
// goes to it with the write's request id, and answers that request.
func (c *Conn) Events(evs []state.Event) {
	enc := &c.s.cache
	if !enc.holds(evs) {
		enc.fill(evs)
	}
	held := len(evs) > 1
	for i := range evs {
		var id uint64
		if evs[i].Origin == c.owner {
			id = evs[i].Tag
		}
		if held {
			c.frames = wire.AppendFrame(c.frames, wire.TypeDelta, 0, id, enc.at(i))
		} else {
			c.send(id, enc.at(i))
		}
	}
	if !held {
		return
	}
	queued, err := c.l.Conn().EnqueueFrames(c.frames)
	if cap(c.frames) > 1<<20 {
		c.frames = nil // a burst of big values: do not keep its buffer
	} else {
		c.frames = c.frames[:0]
	}
	if err == nil {
		c.checkLag(queued)
	}
}

// changeCache is the encoding of one batch of changes: each change's
// payload (DeltaChange, then the change) back to back in buf.
type changeCache struct {
	revs []uint64
	ops  []state.Op
	ends []int
	buf  []byte
}

// holds reports whether the cache holds the encodings of evs (revisions
// are not reused but after a Reset, which drops the cache, so the first and
// last revision and op identify a batch).
func (e *changeCache) holds(evs []state.Event) bool {
	n := len(evs)
	return n > 0 && len(e.revs) == n && e.revs[0] == evs[0].Rev && e.ops[0] == evs[0].Op &&
		e.revs[n-1] == evs[n-1].Rev && e.ops[n-1] == evs[n-1].Op
}

// drop forgets the batch held.
func (e *changeCache) drop() { e.revs = e.revs[:0] }

// fill encodes evs.
func (e *changeCache) fill(evs []state.Event) {
	if cap(e.buf) > 1<<20 {
		e.buf = nil // a batch of big values: do not keep its buffer
	}
	e.revs, e.ops, e.ends, e.buf = e.revs[:0], e.ops[:0], e.ends[:0], e.buf[:0]
	for i := range evs {
		e.buf = wire.AppendEvent(append(e.buf, wire.DeltaChange), evs[i])
		e.revs = append(e.revs, evs[i].Rev)
		e.ops = append(e.ops, evs[i].Op)
		e.ends = append(e.ends, len(e.buf))
	}
}

// at returns the encoding of the i-th change.
func (e *changeCache) at(i int) []byte {
	start := 0
	if i > 0 {
		start = e.ends[i-1]
	}
	return e.buf[start:e.ends[i]]
}

func (c *Conn) send(id uint64, b []byte) {
	if c.l.Enqueue(wire.TypeDelta, 0, id, b) != nil {
		return // gone: its exit unsubscribes this sink
	}
	queued, _ := c.l.Conn().Backlog()
	c.checkLag(queued)
}

// checkLag cuts the worker off once queued bytes are more than its replica
// may lag.
func (c *Conn) checkLag(queued int) {
	if queued > maxReplicaLag {
		c.cutOff(fmt.Errorf("cluster: worker %d: its shared-state replica fell %d MiB behind", c.owner, queued>>20))
	}
}

// stateEntry is e as the wire encodes it.
func stateEntry(e kv.Entry) state.Entry {
	se := state.Entry{Key: e.Key, Value: e.Value, Rev: e.Rev, Created: e.Created, Owner: e.Owner}
	if !e.Expires.IsZero() {
		se.Expires = e.Expires.UnixNano()
	}
	return se
}

// stateEvent is c as the wire encodes it.
func stateEvent(c *kv.Change) state.Event {
	ev := state.Event{Op: state.Op(c.Op), Key: c.Key, Value: c.Value, Rev: c.Rev, Created: c.Created, Owner: c.Owner}
	if !c.Expires.IsZero() {
		ev.Expires = c.Expires.UnixNano()
	}
	return ev
}

// changeOf is ev as a kv.Change.
func changeOf(ev *state.Event) kv.Change {
	c := kv.Change{Op: kv.Op(ev.Op), Key: ev.Key, Value: ev.Value, Rev: ev.Rev, Created: ev.Created, Owner: ev.Owner}
	if ev.Expires != 0 {
		c.Expires = time.Unix(0, ev.Expires)
	}
	return c
}

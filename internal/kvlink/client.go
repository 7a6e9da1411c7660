package kvlink

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocluster/cluster/internal/link"
	"github.com/gocluster/cluster/internal/state"
	"github.com/gocluster/cluster/internal/wire"
	"github.com/gocluster/cluster/kv"
)

// Client is a worker's [kv.Backend]: the store is the primary's, reached
// over the worker's link. Its one subscriber is the worker's [kv.KV]
// handle, whose replica the link's reader feeds: changes in batches, then
// the answers of the writes they carry, so that a write returns once its
// change is in the replica.
type Client struct {
	l         *link.Link
	id        uint64
	inHandler func() error

	sub atomic.Pointer[subscriber] // set by Subscribe, read by the reader

	// Owned by the reader.
	batch   []state.Event // changes read, not applied yet; they alias the read buffer
	ids     []uint64      // the request each answers, 0 for none
	changes []kv.Change   // the batch, for a sink that is no state.Feed
	entries []kv.Entry    // a piece, for a sink that is no state.Feed
	dec     []state.Entry
}

// subscriber is the sink of the subscription and, if it is one, its
// state.Feed (a handle's replica is: it takes what was decoded as it is).
type subscriber struct {
	sink kv.Sink
	feed state.Feed
}

// NewClient returns the Client of the worker id over l and registers its
// handlers on l (before l runs). inHandler returns an error on the
// goroutine that must not wait for the primary (the one running the
// program's message handler on l's reader).
func NewClient(l *link.Link, id int, inHandler func() error) *Client {
	c := &Client{l: l, id: uint64(id), inHandler: inHandler}
	l.AddBatcher(c)
	l.Handle(wire.TypeDelta, c.handleDelta)
	return c
}

// Owner returns the worker's id: the owner of the keys it writes with
// kv.OwnedByWorker (the primary checks it).
func (c *Client) Owner() uint64 { return c.id }

// InHandler returns the error of a call that would wait for the primary on
// the goroutine that reads its answers.
func (c *Client) InHandler() error { return c.inHandler() }

// Take queues a change of the stream. Its key and value alias the read
// buffer: the link applies the batch before the next read that may wait or
// move the buffer.
func (c *Client) Take(f wire.Frame) (bool, error) {
	if f.Type != wire.TypeDelta || len(f.Payload) == 0 || f.Payload[0] != wire.DeltaChange || len(f.Files) != 0 {
		return false, nil
	}
	if c.sub.Load() == nil {
		return true, fmt.Errorf("%w: shared-state change without a subscription", wire.ErrMalformed)
	}
	ev, err := wire.DecodeEvent(f.Payload[1:])
	if err != nil {
		return true, err
	}
	c.batch = append(c.batch, ev)
	c.ids = append(c.ids, f.ID)
	return true, nil
}

func (c *Client) Pending() bool { return len(c.batch) > 0 }
func (c *Client) Full() bool    { return len(c.batch) >= maxBatch }

// Flush applies the batch, then answers the writes whose changes it holds.
func (c *Client) Flush() {
	c.hand(c.batch) // Take took none without a subscription
	for i, id := range c.ids {
		if id != 0 {
			c.l.Complete(id, c.batch[i].Rev)
		}
	}
	clear(c.batch) // no reference to the read buffer outlives the batch
	c.batch, c.ids = c.batch[:0], c.ids[:0]
}

// hand gives changes to the subscriber.
func (c *Client) hand(evs []state.Event) {
	sub := c.sub.Load()
	if sub.feed != nil {
		sub.feed.Events(evs)
		return
	}
	cs := c.changes[:0]
	for i := range evs {
		cs = append(cs, changeOf(&evs[i]))
	}
	sub.sink.Changes(cs)
	clear(cs)
	c.changes = cs[:0]
}

// handleDelta applies a piece of the content (or a change the batch did not
// take). The subscription is answered after the last piece: the handle is
// ready once all are in.
func (c *Client) handleDelta(f wire.Frame) error {
	for _, file := range f.Files {
		file.Close()
	}
	sub := c.sub.Load()
	if len(f.Payload) == 0 || sub == nil {
		return fmt.Errorf("%w: shared-state change without a subscription", wire.ErrMalformed)
	}
	switch kind := f.Payload[0]; kind {
	case wire.DeltaChange:
		ev, err := wire.DecodeEvent(f.Payload[1:])
		if err != nil {
			return err
		}
		c.hand([]state.Event{ev})
		if f.ID != 0 {
			c.l.Complete(f.ID, ev.Rev)
		}
	case wire.DeltaReset:
		sub.sink.Reset()
	case wire.DeltaSnapPart, wire.DeltaSnapshot:
		rev, entries, err := wire.DecodeSnapshot(f.Payload[1:], c.dec)
		if err != nil {
			return err
		}
		last := kind == wire.DeltaSnapshot
		if sub.feed != nil {
			sub.feed.Piece(rev, entries, last)
		} else {
			c.entries = c.entries[:0]
			for _, se := range entries {
				c.entries = append(c.entries, entryOf(se))
			}
			sub.sink.Snapshot(rev, c.entries, last)
			clear(c.entries)
		}
		clear(entries) // they alias the frame, which is reused
		c.dec = entries[:0]
		if last {
			c.dec, c.entries = nil, nil
		}
	default:
		return fmt.Errorf("%w: shared-state change of kind %d", wire.ErrMalformed, kind)
	}
	return nil
}

// Subscribe asks the primary for the content and the changes, for sink, and
// waits for the answer (after the last piece). id is ignored: a worker has
// one subscription.
func (c *Client) Subscribe(_ uint64, sink kv.Sink) error {
	sub := &subscriber{sink: sink}
	sub.feed, _ = sink.(state.Feed)
	c.sub.Store(sub)
	_, _, err := c.call(context.Background(), []byte{wire.StateSubscribe})
	return err
}

// Sync makes the Client a [kv.Syncer], so that kv.KV.Sync is a read
// barrier in a worker: a round trip to the primary on the worker's
// channel. The primary hands each change to every worker's queue before
// the write that made it returns, and answers on the same queue, so its
// answer comes after every change the store had made when Sync was called;
// the link applies the changes read before an answer before it delivers
// it. The request is a subscription again, which a subscribed worker's
// primary answers at once and without effect: no new message. Sync returns
// 0: the replica holds those changes by then. Before the subscription
// there is no replica, and nothing to wait for.
func (c *Client) Sync(ctx context.Context) (uint64, error) {
	if c.sub.Load() == nil {
		return 0, nil
	}
	_, _, err := c.call(ctx, []byte{wire.StateSubscribe})
	return 0, err
}

// Unsubscribe does nothing: the subscription ends with the channel.
func (c *Client) Unsubscribe(uint64) {}

// DropOwner does nothing: the primary drops a worker's keys when it exits.
func (c *Client) DropOwner(uint64) {}

// Close does nothing: the channel is the worker's.
func (c *Client) Close() error { return nil }

// Apply sends the writes one by one; see ApplyOne.
func (c *Client) Apply(ctx context.Context, ws []kv.Write, res []kv.Result, errs []error) {
	for i := range ws {
		res[i], errs[i] = c.ApplyOne(ctx, ws[i])
	}
}

// writeBufs recycles the buffers writes are encoded in.
var writeBufs = sync.Pool{New: func() any { return new([]byte) }}

// ApplyOne sends one write and returns once its change is in the replica
// (or the primary refused it).
func (c *Client) ApplyOne(ctx context.Context, w kv.Write) (kv.Result, error) {
	sw := state.Write{Kind: state.Kind(w.Kind), Key: w.Key, Value: w.Value, PrevRev: w.PrevRev, Owner: w.Owner}
	if !w.Expires.IsZero() {
		sw.TTL = max(time.Until(w.Expires), 1)
	}
	buf := writeBufs.Get().(*[]byte)
	req := wire.AppendWrite(append((*buf)[:0], wire.StateWrite), sw)
	var rev uint64
	var err error
	if len(req) > c.l.Max() {
		err = fmt.Errorf("%w: key and value of %d bytes do not fit a message of Config.MaxMessageSize (%d)",
			kv.ErrInvalid, len(w.Key)+len(w.Value), c.l.Max())
	} else {
		rev, _, err = c.call(ctx, req) // the request is not kept once sent
	}
	if cap(req) <= 64<<10 {
		*buf = req
		writeBufs.Put(buf)
	}
	return kv.Result{Rev: rev}, err
}

// call sends one shared-state request and decodes the answer.
func (c *Client) call(ctx context.Context, req []byte) (rev uint64, rest []byte, err error) {
	if err := c.inHandler(); err != nil {
		return 0, nil, err
	}
	r := c.l.Call(ctx, wire.TypeState, 0, req)
	for _, f := range r.Files {
		f.Close()
	}
	switch {
	case r.Err != nil:
		return 0, nil, r.Err
	case r.Completed: // answered by the change the write made
		return r.Result, nil, nil
	}
	return wire.ParseStateReply(r.Data)
}

// BeginLoad asks the primary for key: its entry, the lead of its load, or
// (after the primary waited for another process's loader) its result. done
// is never called: the answer is awaited here.
func (c *Client) BeginLoad(ctx context.Context, key string, _ uint64, _ func(kv.Entry, error)) (kv.Entry, bool, bool, error) {
	// The answer is awaited whatever ctx does: if it makes this worker the
	// leader after ctx ended, the lead is given back, or every Load of the
	// key in the cluster would wait for a loader that never runs.
	type answer struct {
		e          kv.Entry
		have, lead bool
		err        error
	}
	got := make(chan answer, 1)
	go func() {
		e, have, lead, err := c.askLoad(key)
		got <- answer{e, have, lead, err}
	}()
	select {
	case a := <-got:
		return a.e, a.have, a.lead, a.err
	case <-ctx.Done():
		go func() {
			if a := <-got; a.err == nil && a.lead {
				c.FinishLoad(context.Background(), key, 0, nil, time.Time{}, kv.ErrLoadAborted)
			}
		}()
		return kv.Entry{}, false, false, ctx.Err()
	}
}

// askLoad sends a StateLoadBegin request and decodes the answer.
func (c *Client) askLoad(key string) (kv.Entry, bool, bool, error) {
	_, rest, err := c.call(context.Background(), append([]byte{wire.StateLoadBegin}, key...))
	switch {
	case err != nil:
		return kv.Entry{}, false, false, err
	case len(rest) == 1 && rest[0] == wire.LoadLead:
		return kv.Entry{}, false, true, nil
	case len(rest) > 1 && rest[0] == wire.LoadHave:
		ev, err := wire.DecodeEvent(rest[1:])
		if err != nil {
			return kv.Entry{}, false, false, err
		}
		ch := changeOf(&ev)
		return kv.Entry{Key: ch.Key, Value: ch.Value, Rev: ch.Rev, Created: ch.Created, Expires: ch.Expires}, true, false, nil
	}
	return kv.Entry{}, false, false, fmt.Errorf("%w: bad answer to a load", wire.ErrMalformed)
}

// FinishLoad reports the end of the load this worker leads.
func (c *Client) FinishLoad(_ context.Context, key string, _ uint64, value []byte, expires time.Time, loadErr error) (uint64, error) {
	outcome, rest := wire.LoadOK, value
	switch {
	case loadErr == kv.ErrLoadAborted:
		outcome, rest = wire.LoadGaveUp, nil
	case loadErr != nil:
		outcome, rest = wire.LoadFailed, []byte(loadErr.Error())
	}
	var ttl time.Duration
	if !expires.IsZero() {
		ttl = max(time.Until(expires), 1)
	}
	rev, _, err := c.call(context.Background(), wire.AppendLoadEnd(nil, outcome, ttl, key, rest))
	return rev, err
}

// entryOf is se as a kv.Entry.
func entryOf(se state.Entry) kv.Entry {
	e := kv.Entry{Key: se.Key, Value: se.Value, Rev: se.Rev, Created: se.Created, Owner: se.Owner}
	if se.Expires != 0 {
		e.Expires = time.Unix(0, se.Expires)
	}
	return e
}

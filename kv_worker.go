package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gocluster/cluster/internal/state"
	"github.com/gocluster/cluster/internal/wire"
)

// kvReplica is a worker's copy of the shared state, fed by the frames its
// reading goroutine gets from the primary.
type kvReplica struct {
	rep *state.Replica
	dec []state.Entry // the piece of the snapshot being applied, reused

	batch []state.Event // changes read, not applied yet; they alias the read buffer
	ids   []uint64      // the request each answers, 0 for none

	subOnce sync.Once     // sends the subscription, once
	synced  chan struct{} // closed when the subscription is answered
	subErr  error         // its error, set before synced is closed
	logOnce sync.Once     // Store logs a failed subscription once
}

// maxChangeBatch bounds a batch of changes, and so how long the first
// write of a batch waits for the others to be applied.
const maxChangeBatch = 64

// isChange reports whether f carries one change of the stream.
func isChange(f wire.Frame) bool {
	return f.Type == wire.TypeDelta && len(f.Payload) > 0 && f.Payload[0] == deltaEvent && len(f.Files) == 0
}

// queue decodes the change f carries into the batch. Its key and value
// alias the read buffer: the batch is applied before the next read that may
// wait or move the buffer.
func (r *kvReplica) queue(f wire.Frame) error {
	ev, err := wire.DecodeEvent(f.Payload[1:])
	if err != nil {
		return fmt.Errorf("%w: %w", wire.ErrMalformed, err)
	}
	r.batch = append(r.batch, ev)
	r.ids = append(r.ids, f.ID)
	return nil
}

func (r *kvReplica) pending() bool { return len(r.batch) > 0 }
func (r *kvReplica) full() bool    { return len(r.batch) >= maxChangeBatch }

// flush applies the batch, then answers the writes whose changes it holds:
// a write returns once its change is in the replica.
func (r *kvReplica) flush(ep *endpoint) {
	if len(r.batch) == 0 {
		return
	}
	r.rep.ApplyBatch(r.batch)
	for i, id := range r.ids {
		if id != 0 {
			ep.ack(id, r.batch[i].Rev)
		}
	}
	clear(r.batch) // no reference to the read buffer outlives the batch
	r.batch, r.ids = r.batch[:0], r.ids[:0]
}

// applyDelta applies one TypeDelta frame and returns the revision of the
// change it carried (0 for snapshot frames). It runs on the reading
// goroutine, so a change is applied before the write that made it returns
// (a change that answers a write is the answer) and before any later frame
// is handled.
func (r *kvReplica) applyDelta(b []byte) (uint64, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("%w: empty shared-state change", wire.ErrMalformed)
	}
	switch b[0] {
	case deltaEvent:
		ev, err := wire.DecodeEvent(b[1:])
		if err != nil {
			return 0, fmt.Errorf("%w: %w", wire.ErrMalformed, err)
		}
		r.rep.Apply(ev)
		return ev.Rev, nil
	case deltaSnapPart, deltaSnapshot:
		// A piece of the snapshot, in its place among the changes (see
		// state.Snapshot): applied as it comes. The subscribe request is
		// answered after the last piece: Store returns once all are in.
		rev, entries, err := wire.DecodeSnapshot(b[1:], r.dec)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", wire.ErrMalformed, err)
		}
		r.rep.LoadPiece(rev, entries)
		clear(entries) // they alias the frame, which is reused
		r.dec = entries[:0]
		if b[0] == deltaSnapshot {
			r.dec = nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("%w: shared-state change of kind %d", wire.ErrMalformed, b[0])
}

// kvSynced subscribes to the shared state, once, and waits until the
// snapshot is in the replica or ctx ends. The subscription is a request of
// its own goroutine, which ends with its answer (or with the channel): a
// caller that gives up leaves it running for the next one.
func (w *workerLink) kvSynced(ctx context.Context) error {
	w.kv.subOnce.Do(func() {
		w.kv.synced = make(chan struct{})
		go func() {
			_, _, err := w.stateCall(context.Background(), []byte{kvSubscribe})
			w.kv.subErr = err
			close(w.kv.synced)
		}()
	})
	select {
	case <-w.kv.synced:
		return w.kv.subErr
	default:
	}
	if err := w.mail.inHandler(); err != nil {
		return err
	}
	select {
	case <-w.kv.synced:
		return w.kv.subErr
	case <-ctx.Done():
		return opErr("waiting for the shared state", ctx.Err())
	}
}

// kvSyncedOrLog is kvSynced without a bound, for Store: an error is logged,
// once.
func (w *workerLink) kvSyncedOrLog() {
	if err := w.kvSynced(context.Background()); err != nil {
		w.kv.logOnce.Do(func() {
			logger().Error("cluster: shared state unavailable", "worker", role.id, "err", err)
		})
	}
}

// stateCall sends one shared-state request and decodes the reply. From a
// Handle callback it fails at once with ErrInHandler: the reply would be
// read by the goroutine the callback holds.
func (w *workerLink) stateCall(ctx context.Context, req []byte) (rev uint64, rest []byte, err error) {
	if err := w.mail.inHandler(); err != nil {
		return 0, nil, err
	}
	r := w.ep.call(ctx, wire.TypeState, 0, req)
	closeFiles(r.files)
	if r.err != nil {
		return 0, nil, r.err
	}
	if r.acked { // answered by the change the write made
		return r.ack, nil, nil
	}
	code, rev, rest, err := decodeReply(r.data)
	if err != nil {
		return 0, nil, err
	}
	return rev, rest, codeError(code, string(rest))
}

// workerBackend sends writes and loads to the primary.
type workerBackend struct{ w *workerLink }

func (b workerBackend) write(ctx context.Context, wr state.Write) (uint64, error) {
	buf := writeBufs.Get().(*[]byte)
	req := wire.AppendWrite(append((*buf)[:0], kvWrite), wr)
	var rev uint64
	var err error
	if len(req) > b.w.ep.max {
		err = fmt.Errorf("%w: key and value of %d bytes do not fit a message of Config.MaxMessageSize (%d)",
			ErrInvalidKV, len(wr.Key)+len(wr.Value), b.w.ep.max)
	} else {
		rev, _, err = b.w.stateCall(ctx, req) // the request is not kept once sent
	}
	if cap(req) <= 64<<10 {
		*buf = req
		writeBufs.Put(buf)
	}
	return rev, err
}

// writeBufs recycles the buffers writes are encoded in.
var writeBufs = sync.Pool{New: func() any { return new([]byte) }}

func (b workerBackend) beginLoad(ctx context.Context, key string) (loadStart, error) {
	if err := b.w.mail.inHandler(); err != nil { // askLoad runs elsewhere
		return loadStart{}, err
	}
	// The answer is awaited whatever ctx does: if it makes this worker the
	// leader after ctx ended, the lead is given back, or every Load of the
	// key in the cluster would wait for a loader that never runs.
	type answer struct {
		st  loadStart
		err error
	}
	got := make(chan answer, 1)
	go func() {
		st, err := b.askLoad(key)
		got <- answer{st, err}
	}()
	select {
	case a := <-got:
		return a.st, a.err
	case <-ctx.Done():
		go func() {
			if a := <-got; a.err == nil && a.st.lead {
				b.finishLoad(key, nil, 0, state.ErrLoadAborted)
			}
		}()
		return loadStart{}, ctx.Err()
	}
}

// askLoad sends a kvLoadBegin request and decodes the answer.
func (b workerBackend) askLoad(key string) (loadStart, error) {
	_, rest, err := b.w.stateCall(context.Background(), append([]byte{kvLoadBegin}, key...))
	switch {
	case err != nil:
		return loadStart{}, err
	case len(rest) == 1 && rest[0] == loadLead:
		return loadStart{lead: true}, nil
	case len(rest) > 1 && rest[0] == loadHave:
		ev, err := wire.DecodeEvent(rest[1:])
		if err != nil {
			return loadStart{}, fmt.Errorf("%w: %w", wire.ErrMalformed, err)
		}
		return loadStart{have: true, entry: state.Entry{Key: ev.Key, Value: ev.Value, Rev: ev.Rev,
			Created: ev.Created, Expires: ev.Expires}}, nil
	}
	return loadStart{}, fmt.Errorf("%w: bad answer to a load", wire.ErrMalformed)
}

func (b workerBackend) finishLoad(key string, value []byte, ttl time.Duration, loadErr error) (uint64, error) {
	outcome, rest := loadOK, value
	switch {
	case loadErr == state.ErrLoadAborted:
		outcome, rest = loadGaveUp, nil
	case loadErr != nil:
		outcome, rest = loadFailed, []byte(loadErr.Error())
	}
	rev, _, err := b.w.stateCall(context.Background(), appendLoadEnd(nil, outcome, ttl, key, rest))
	return rev, err
}

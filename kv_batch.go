package cluster

import (
	"fmt"

	"github.com/gocluster/cluster/internal/state"
	"github.com/gocluster/cluster/internal/wire"
)

// maxWriteBatch bounds the writes of one worker applied together.
const maxWriteBatch = 64

// writeBatch gathers the writes of a burst of frames from one worker, read
// from its channel in one go, so that the store applies them together (see
// state.Store.ApplyBatch). It belongs to that worker's reading goroutine.
// The writes alias the read buffer: the batch is applied before the next
// read that may wait or move the buffer.
type writeBatch struct {
	ws   []state.Write
	ids  []uint64
	res  []state.Result
	errs []error
}

// isWrite reports whether f is a shared-state write.
func isWrite(f wire.Frame) bool {
	return f.Type == wire.TypeState && len(f.Payload) > 0 && f.Payload[0] == kvWrite
}

func (b *writeBatch) pending() bool { return len(b.ws) > 0 }
func (b *writeBatch) full() bool    { return len(b.ws) >= maxWriteBatch }

// queue decodes the write f carries. A malformed write is a protocol error:
// it ends w.
func (b *writeBatch) queue(w *Worker, f wire.Frame) error {
	closeFiles(f.Files)
	if f.ID == 0 {
		return fmt.Errorf("%w: shared-state write without a request id", wire.ErrMalformed)
	}
	wr, err := wire.DecodeWrite(f.Payload[1:])
	if err != nil {
		return fmt.Errorf("%w: %w", wire.ErrMalformed, err)
	}
	if wr.Owner != 0 {
		wr.Owner = w.owner
	}
	err = checkSize(wr.Key, wr.Value) // refused: the store skips it
	if err == nil && w.subscribed.Load() {
		// The change goes to w's sink with this request's id: it is the
		// answer (one frame instead of a change and a reply).
		wr.Origin, wr.Tag = w.owner, f.ID
	}
	b.ws = append(b.ws, wr)
	b.ids = append(b.ids, f.ID)
	b.errs = append(b.errs, err)
	b.res = append(b.res, state.Result{})
	return nil
}

// flush applies the batch and answers each write its change did not answer.
// The batch is emptied first: whatever happens, no write is applied twice.
func (b *writeBatch) flush(w *Worker) {
	if len(b.ws) == 0 {
		return
	}
	ws, ids, res, errs := b.ws, b.ids, b.res, b.errs
	b.ws, b.ids, b.res, b.errs = ws[:0], ids[:0], res[:0], errs[:0]
	defer func() {
		clear(ws) // no reference to the read buffer outlives the batch
		clear(res)
		clear(errs)
	}()
	processStore().ApplyBatch(ws, res, errs)
	for i := range ws {
		err, rev := errs[i], res[i].Rev
		if err == nil && rev != 0 && ws[i].Tag != 0 {
			continue // answered by its change
		}
		code, text := replyCode(err)
		stateReply(w, ids[i], code, rev, []byte(text))
	}
}

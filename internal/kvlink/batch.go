package kvlink

import (
	"context"
	"fmt"

	"github.com/gocluster/cluster/internal/wire"
	"github.com/gocluster/cluster/kv"
)

// maxBatch bounds the writes of one worker applied together, and the
// changes a worker applies together (so how long the first write of a
// batch waits for the others).
const maxBatch = 64

// writeBatch gathers the writes of a burst of frames from one worker, read
// from its channel in one go, so that the Backend applies them together.
// It is the worker's link's [link.Batcher]: the writes alias the read
// buffer, and the link applies the batch before the next read that may wait
// or move the buffer.
type writeBatch struct {
	c    *Conn
	ws   []kv.Write
	ids  []uint64
	res  []kv.Result
	errs []error
}

func (b *writeBatch) Pending() bool { return len(b.ws) > 0 }
func (b *writeBatch) Full() bool    { return len(b.ws) >= maxBatch }

// Take decodes the write f carries. A malformed write is a protocol error:
// it ends the worker's channel.
func (b *writeBatch) Take(f wire.Frame) (bool, error) {
	if f.Type != wire.TypeState || len(f.Payload) == 0 || f.Payload[0] != wire.StateWrite {
		return false, nil
	}
	for _, file := range f.Files {
		file.Close()
	}
	if f.ID == 0 {
		return true, fmt.Errorf("%w: shared-state write without a request id", wire.ErrMalformed)
	}
	sw, err := wire.DecodeWrite(f.Payload[1:])
	if err != nil {
		return true, err
	}
	w := kv.Write{Kind: kv.WriteKind(sw.Kind), Key: sw.Key, Value: sw.Value, PrevRev: sw.PrevRev, Expires: deadline(sw.TTL)}
	c := b.c
	if sw.Owner != 0 {
		w.Owner = c.owner // a worker owns its keys only
	}
	if c.subscribed {
		// The change goes to the worker's sink with this request's id: it
		// is the answer (one frame instead of a change and a reply).
		w.Origin, w.Tag = c.owner, f.ID
	}
	b.ws = append(b.ws, w)
	b.ids = append(b.ids, f.ID)
	b.errs = append(b.errs, nil)
	b.res = append(b.res, kv.Result{})
	return true, nil
}

// Flush applies the batch and answers each write its change did not answer.
// The batch is emptied first: whatever happens, no write is applied twice.
func (b *writeBatch) Flush() {
	ws, ids, res, errs := b.ws, b.ids, b.res, b.errs
	b.ws, b.ids, b.res, b.errs = ws[:0], ids[:0], res[:0], errs[:0]
	defer func() {
		clear(ws) // no reference to the read buffer outlives the batch
		clear(res)
		clear(errs)
	}()
	b.c.s.b.Apply(context.Background(), ws, res, errs)
	for i := range ws {
		err, rev := errs[i], res[i].Rev
		if err == nil && rev != 0 && ws[i].Tag != 0 {
			continue // answered by its change
		}
		b.c.reply(ids[i], rev, nil, err)
	}
}

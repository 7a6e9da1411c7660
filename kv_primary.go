package cluster

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/gocluster/cluster/internal/state"
	"github.com/gocluster/cluster/internal/wire"
)

// maxReplicaLag is how far (bytes queued) a worker's replica may fall
// behind before its channel is closed: a worker that does not read its
// channel would otherwise hold the primary's memory without bound.
const maxReplicaLag = 256 << 20

// ownerSeq numbers workers for the shared state (owners of keys, leaders of
// loads, sinks), unique in this process even across primaries.
var ownerSeq atomic.Uint64

// deltaCache is the encoding of the last change, made once for all the
// workers. Sinks are called under the store's write lock, which guards it.
var deltaCache struct {
	rev uint64
	op  state.Op
	b   []byte
}

// handleState serves one shared-state request from w. It runs on w's
// reading goroutine. A malformed request is a protocol error: it ends w.
func (p *Primary) handleState(w *Worker, f wire.Frame) error {
	closeFiles(f.Files)
	if len(f.Payload) == 0 || f.ID == 0 {
		return fmt.Errorf("%w: empty shared-state request", wire.ErrMalformed)
	}
	s := processStore()
	id := f.ID
	reply := func(code byte, rev uint64, rest []byte) { stateReply(w, id, code, rev, rest) }
	body := f.Payload[1:]
	switch f.Payload[0] {
	case kvWrite: // see writeBatch: writes are applied in batches
		return fmt.Errorf("%w: write outside a batch", wire.ErrMalformed)
	case kvSubscribe:
		if !w.subscribed.Swap(true) {
			p.sendSnapshot(w, id) // it answers after the last piece
			return nil
		}
		reply(codeOK, 0, nil)
	case kvLoadBegin:
		e, have, lead := s.BeginLoad(string(body), w.owner, func(e state.Entry, err error) {
			code, text := replyCode(err)
			if err != nil {
				stateReply(w, id, code, 0, []byte(text))
				return
			}
			stateReply(w, id, codeOK, e.Rev, loadHaveReply(e))
		})
		switch {
		case have:
			reply(codeOK, e.Rev, loadHaveReply(e))
		case lead:
			reply(codeOK, 0, []byte{loadLead})
		}
	case kvLoadEnd:
		outcome, ttl, key, rest, err := decodeLoadEnd(body)
		if err != nil {
			return err
		}
		var lerr error
		switch outcome {
		case loadFailed:
			lerr, rest = errors.New(string(rest)), nil
		case loadGaveUp:
			lerr, rest = state.ErrLoadAborted, nil
		default:
			lerr = checkSize(key, rest) // then the waiters get it too
		}
		res, err := s.FinishLoad(key, w.owner, rest, ttl, lerr)
		if lerr != nil && outcome == loadOK && err == nil {
			err = lerr
		}
		code, text := replyCode(err)
		reply(code, res.Rev, []byte(text))
	default:
		return fmt.Errorf("%w: shared-state operation %d", wire.ErrMalformed, f.Payload[0])
	}
	return nil
}

// stateReply answers the shared-state request id of w.
func stateReply(w *Worker, id uint64, code byte, rev uint64, rest []byte) {
	w.ep.enqueue(wire.TypeRep, 0, id, appendReply(make([]byte, 0, 16+len(rest)), code, rev, rest))
}

func loadHaveReply(e state.Entry) []byte {
	ev := state.Event{Op: state.OpPut, Key: e.Key, Value: e.Value, Rev: e.Rev, Expires: e.Expires, Created: e.Created}
	return wire.AppendEvent([]byte{loadHave}, ev)
}

// forgetStateOf drops what the shared state holds for a worker that exited:
// its stream, the keys it owns, the loads it leads (their waiters retry).
// It runs once w's channel is closed and its reader has ended.
func (p *Primary) forgetStateOf(w *Worker) {
	s := processStore()
	s.RemoveSink(w.owner)
	if w.snapshotSent != nil {
		<-w.snapshotSent // it ends: the channel is closed, the sink removed
	}
	s.DropOwner(w.owner)
}

// sendSnapshot subscribes w to the shared state: its sink gets every change
// from now on, and a goroutine sends it the snapshot in pieces of about
// snapshotChunk bytes, each in its place among the changes (see
// state.Snapshot), then answers the subscribe request id, so that the
// worker's Store returns with the whole snapshot in its replica. A piece is
// taken only once what is queued for w is less than a piece: the primary
// holds about two pieces for each worker that starts, whatever the size of
// the store, and none for a worker that does not read. It runs on w's
// reading goroutine; forgetStateOf joins the goroutine it starts.
func (p *Primary) sendSnapshot(w *Worker, id uint64) {
	k := &workerSink{w: w}
	sn := processStore().AddSink(w.owner, k)
	size := min(snapshotChunk, p.cfg.MaxMessageSize/2)
	done := make(chan struct{})
	w.snapshotSent = done
	go func() {
		defer close(done)
		var buf []byte
		send := func(pc state.Piece) { // with the store's lock held
			// A piece ends only at an empty slot of the table, so it may
			// hold more than size: it goes in frames of at most size bytes
			// (or one entry), every one but the piece's last a part.
			entries := pc.Entries
			for {
				n, bytes := 0, 0
				for n < len(entries) && (n == 0 || bytes+snapshotEntrySize(&entries[n]) <= size) {
					bytes += snapshotEntrySize(&entries[n])
					n++
				}
				kind := deltaSnapPart
				if pc.Last && n == len(entries) {
					kind = deltaSnapshot
				}
				buf = wire.AppendSnapshot(append(buf[:0], kind), pc.Rev, entries[:n])
				k.send(buf)
				if entries = entries[n:]; len(entries) == 0 {
					return
				}
			}
		}
		for {
			if w.ep.conn.WaitBacklog(size) != nil {
				return // gone: its exit removes the sink
			}
			last, err := sn.Next(size, send)
			if err != nil {
				return
			}
			if last {
				stateReply(w, id, codeOK, 0, nil)
				return
			}
		}
	}()
}

// snapshotEntrySize bounds the encoded size of e in a snapshot frame: its
// key and value, their lengths and four numbers, each at most 10 bytes.
func snapshotEntrySize(e *state.Entry) int { return len(e.Key) + len(e.Value) + 60 }

// workerSink streams the store's changes to one worker (and the pieces of
// its snapshot, see sendSnapshot). During a batch of writes it holds the
// changes' frames and queues them in one go (one lock of the channel's queue
// and one wake-up of its writer for the batch, not one per change).
type workerSink struct {
	w *Worker

	held   bool
	frames []byte // held changes, encoded frames
}

// Hold starts holding the changes.
func (k *workerSink) Hold() { k.held = true }

// Release queues the changes held since Hold.
func (k *workerSink) Release() {
	k.held = false
	if len(k.frames) == 0 {
		return
	}
	queued, err := k.w.ep.conn.EnqueueFrames(k.frames)
	if cap(k.frames) > 1<<20 {
		k.frames = nil // a burst of big values: do not keep its buffer
	} else {
		k.frames = k.frames[:0]
	}
	if err == nil {
		k.checkLag(queued)
	}
}

// Event sends one change; the encoding is shared by every worker's sink.
// The change a worker's own write made goes to it with the write's request
// id, and answers that request.
func (k *workerSink) Event(ev state.Event) {
	if deltaCache.rev != ev.Rev || deltaCache.op != ev.Op || deltaCache.b == nil {
		deltaCache.rev, deltaCache.op = ev.Rev, ev.Op
		deltaCache.b = wire.AppendEvent(append(deltaCache.b[:0], deltaEvent), ev)
	}
	var id uint64
	if ev.Origin == k.w.owner {
		id = ev.Tag
	}
	k.sendAs(id, deltaCache.b)
}

func (k *workerSink) send(b []byte) { k.sendAs(0, b) }

func (k *workerSink) sendAs(id uint64, b []byte) {
	if k.held {
		k.frames = wire.AppendFrame(k.frames, wire.TypeDelta, 0, id, b)
		return
	}
	if k.w.ep.enqueue(wire.TypeDelta, 0, id, b) != nil {
		return // gone: its exit removes this sink
	}
	queued, _ := k.w.ep.conn.Backlog()
	k.checkLag(queued)
}

// checkLag cuts the worker off once queued bytes are more than its replica
// may lag.
func (k *workerSink) checkLag(queued int) {
	if queued > maxReplicaLag {
		err := fmt.Errorf("cluster: worker %d: its shared-state replica fell %d MiB behind", k.w.id, queued>>20)
		go k.w.p.cutOff(k.w, err)
	}
}

// cutOff closes w's channel because of err, reports it, and kills w if it
// has not exited after KillTimeout (a worker that stopped reading may not
// notice the channel closing).
func (p *Primary) cutOff(w *Worker, err error) {
	w.ep.close(err)
	p.do(func() { p.emit(Event{Type: EventError, Worker: w, Err: err}) })
	select {
	case <-w.exited:
	case <-time.After(p.cfg.KillTimeout):
		w.signal(os.Kill)
	}
}

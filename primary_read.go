package cluster

import (
	"fmt"

	"github.com/gocluster/cluster/internal/wire"
)

// serve reads the worker's channel until it closes.
func (p *Primary) serve(w *Worker) {
	defer close(w.readerDone)
	err := p.readWorker(w)
	w.connected.Store(false)
	w.ep.close(err)
	p.do(func() { p.onDisconnect(w, err) })
}

func (p *Primary) readWorker(w *Worker) error {
	conn := w.ep.conn
	f, err := conn.ReadFrame()
	if wire.IsProtocolError(err) {
		return fmt.Errorf("cluster: worker %d: %w: %w", w.id, wire.ErrHandshake, err)
	}
	if err != nil {
		return err
	}
	if err := wire.CheckHello(f); err != nil {
		return fmt.Errorf("cluster: worker %d: %w", w.id, err)
	}
	w.connected.Store(true)
	p.do(func() { p.emit(Event{Type: EventOnline, Worker: w}) })
	var writes writeBatch
	defer writes.flush(w) // writes read before an error still count
	for {
		// Writes are applied in batches, before any read that may wait or
		// move the buffer their bytes are in.
		if writes.pending() && (writes.full() || !conn.HasFrame()) {
			writes.flush(w)
		}
		f, err := conn.ReadFrame()
		if err != nil {
			if wire.IsProtocolError(err) {
				err = fmt.Errorf("cluster: worker %d: %w", w.id, err)
			}
			return err
		}
		if isWrite(f) {
			if err := writes.queue(w, f); err != nil {
				return fmt.Errorf("cluster: worker %d: %w", w.id, err)
			}
			continue
		}
		writes.flush(w) // whatever w sent next comes after its writes
		switch f.Type {
		case wire.TypeMsg, wire.TypeReq:
			if f.Peer != 0 {
				p.route(w, f)
				continue
			}
			p.mail.put(&Message{Data: clone(f.Payload), From: w.id, Worker: w, File: firstFile(f.Files), id: f.ID, ep: w.ep})
		case wire.TypeRep, wire.TypeRepErr:
			w.ep.deliver(f)
			continue
		case wire.TypeState:
			if err := p.handleState(w, f); err != nil {
				return fmt.Errorf("cluster: worker %d: %w", w.id, err)
			}
			continue
		case wire.TypeCtl:
			switch {
			case len(f.Payload) == 0:
			case f.Payload[0] == ctlReady:
				p.markReady(w)
			case f.Payload[0] == ctlBye && f.ID != 0:
				p.onBye(w, f.ID)
			case f.Payload[0] == ctlListen && f.ID != 0:
				closeFiles(f.Files)
				p.handleListen(w, f.ID, f.Payload)
				continue
			default:
				p.handleListenCtl(w, f)
				continue
			}
			closeFiles(f.Files)
		default:
			return fmt.Errorf("cluster: worker %d: %w: unexpected %v frame", w.id, wire.ErrMalformed, f.Type)
		}
	}
}

// onBye handles a worker's Disconnect: from now on it is stopping on
// purpose, and it gets no more connections.
func (p *Primary) onBye(w *Worker, id uint64) {
	w.disconnect.Store(true)
	p.stopHandingTo(w) // not forgetWorker: it waits for this reader to end
	w.ep.enqueue(wire.TypeRep, 0, id, nil)
}

package cluster

import (
	"fmt"

	"github.com/gocluster/cluster/internal/link"
	"github.com/gocluster/cluster/internal/wire"
)

// serve registers the primary's handlers on the worker's channel, then
// reads it until it closes. Each feature's frames go to its own handler:
// messages here, listening in listen_primary.go, the shared state in
// package kvlink.
func (p *Primary) serve(w *Worker) {
	defer close(w.readerDone)
	l := w.ep
	onMessage := func(f wire.Frame) error { p.onMessage(w, f); return nil }
	l.Handle(wire.TypeMsg, onMessage)
	l.Handle(wire.TypeReq, onMessage)
	l.HandleCtl(wire.CtlReady, func(f wire.Frame) error {
		closeFiles(f.Files)
		p.markReady(w)
		return nil
	})
	l.HandleCtl(wire.CtlBye, func(f wire.Frame) error {
		closeFiles(f.Files)
		if f.ID != 0 {
			p.onBye(w, f.ID)
		}
		return nil
	})
	l.HandleCtl(wire.CtlListen, func(f wire.Frame) error {
		closeFiles(f.Files)
		if f.ID != 0 {
			p.handleListen(w, f.ID, f.Payload)
		}
		return nil
	})
	onListenCtl := func(f wire.Frame) error { p.handleListenCtl(w, f); return nil }
	for _, cmd := range [...]wire.Ctl{wire.CtlUnlisten, wire.CtlReturn, wire.CtlClosed, wire.CtlAccept, wire.CtlTaken} {
		l.HandleCtl(cmd, onListenCtl)
	}
	w.kv = p.kv.Attach(l, kvPeer{p, w})

	err := l.Run(func() {
		w.connected.Store(true)
		p.do(func() { p.emit(Event{Type: EventOnline, Worker: w}) })
	})
	if wire.IsProtocolError(err) {
		err = fmt.Errorf("cluster: worker %d: %w", w.id, err)
	}
	w.connected.Store(false)
	w.ep.Close(err)
	p.do(func() { p.onDisconnect(w, err) })
}

// onMessage delivers a message or request from w: to the primary's
// mailbox, or routed to the worker it is for.
func (p *Primary) onMessage(w *Worker, f wire.Frame) {
	if f.Peer != 0 {
		p.route(w, f)
		return
	}
	p.mail.put(&Message{Data: link.Clone(f.Payload), From: w.id, Worker: w, File: firstFile(f.Files), id: f.ID, ep: w.ep})
}

// onBye handles a worker's Disconnect: from now on it is stopping on
// purpose, and it gets no more connections.
func (p *Primary) onBye(w *Worker, id uint64) {
	w.disconnect.Store(true)
	p.stopHandingTo(w) // not forgetWorker: it waits for this reader to end
	w.ep.Enqueue(wire.TypeRep, 0, id, nil)
}

package cluster

import "context"

// A goneWait is closed once none of its workers is listed any more: calls
// that stop workers (Reload, Scale) return only when Workers no longer
// shows them, not when their processes have merely ended.
type goneWait struct {
	ws []*Worker
	ch chan struct{}
}

// listed reports whether any of ws is still in the table (supervisor
// goroutine). A worker leaves the table in onExit, after its EventExit.
func (p *Primary) listed(ws []*Worker) bool {
	for _, w := range ws {
		if p.table[w.id] == w {
			return true
		}
	}
	return false
}

// whenGone returns a channel that is closed once none of ws is listed. It
// runs on the supervisor goroutine. Run does not return while a worker is
// listed, so every such channel is closed by then.
func (p *Primary) whenGone(ws []*Worker) <-chan struct{} {
	ch := make(chan struct{})
	if !p.listed(ws) {
		close(ch)
		return ch
	}
	p.goneWaits = append(p.goneWaits, &goneWait{ws: ws, ch: ch})
	return ch
}

// settleGone closes the waits whose workers have all left the table; onExit
// calls it after each removal.
func (p *Primary) settleGone() {
	left := p.goneWaits[:0]
	for _, g := range p.goneWaits {
		if p.listed(g.ws) {
			left = append(left, g)
			continue
		}
		close(g.ch)
	}
	clear(p.goneWaits[len(left):])
	p.goneWaits = left
}

// slotWorkers returns every listed worker of a slot, the dead ones not yet
// removed and the ones being stopped included.
func (p *Primary) slotWorkers(slot int) []*Worker {
	var ws []*Worker
	for _, w := range p.table {
		if w.slot == slot {
			ws = append(ws, w)
		}
	}
	return ws
}

// stopAll drains every worker of ws that is alive and not being stopped
// already.
func stopAll(ws []*Worker) {
	for _, w := range ws {
		if !w.IsDead() && !w.ExitedAfterDisconnect() {
			w.p.goRun(func() { w.Disconnect(context.Background()) })
		}
	}
}

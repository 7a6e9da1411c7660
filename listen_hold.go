package cluster

import (
	"net"
	"slices"
	"time"

	"github.com/gocluster/cluster/internal/wire"
)

// A RoundRobin connection in the primary, from accept to a worker's Accept.
//
// The primary keeps each connection it accepts and hands a duplicate to a
// worker (wire.CtlConn; the frame id numbers the hand-off). The worker confirms
// it when its Accept returns it to the program (wire.CtlTaken), and only then
// does the primary close its copy. One it cannot take comes back
// (wire.CtlReturn), and those it had not confirmed when its channel ends (it
// died) go to another worker: only connections a program accepted die with
// it. While no worker can take a connection it is held, within
// MaxHeldConns and HoldTimeout.

// Limits of the connections a RoundRobin address holds while no worker can
// take them (none listens: between a crash and its replacement, or the only
// workers are stuck).
const (
	// MaxHeldConns is how many connections an address holds; past it a new
	// connection is closed at once.
	MaxHeldConns = 1024
	// HoldTimeout is how long a connection is held; then it is closed. A
	// connection given back or left by a dead worker waits anew.
	HoldTimeout = 10 * time.Second
)

// A connection closed for these limits, or because Run ended, gets a FIN
// after what the client sent is read and dropped: the client reads the end
// of the stream, never a reset.

// hold is the RoundRobin state of a listenEntry, guarded by its mu.
type hold struct {
	sched   Scheduler
	workers []*Worker // whose listener is open, by id; replaced, never changed
	handed  map[*Worker]map[uint64]net.Conn
	lastID  uint64
	pending []waiting // oldest first
	expiry  *time.Timer
	max     int
	timeout time.Duration
}

type waiting struct {
	c     net.Conn
	since time.Time
}

func newHold(s Scheduler) hold {
	return hold{sched: s, handed: make(map[*Worker]map[uint64]net.Conn), max: MaxHeldConns, timeout: HoldTimeout}
}

// dispatch hands c to a worker, or holds it while none can take it; not is
// a worker that just gave it back.
func (e *listenEntry) dispatch(c net.Conn, not *Worker) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.place(c, not)
}

// place is dispatch with e.mu held. Connections that wait go first.
func (e *listenEntry) place(c net.Conn, not *Worker) {
	if e.closed {
		closeClearly(c)
		return
	}
	if len(e.pending) > 0 {
		e.flush()
	}
	if len(e.pending) > 0 || !e.handOff(c, not) {
		e.wait(c)
	}
}

// handOff gives c to the worker the scheduler picks among those that can
// take it, and reports whether one did. e.mu is held.
func (e *listenEntry) handOff(c net.Conn, not *Worker) bool {
	ws := e.takers(not)
	if len(ws) == 0 {
		return false
	}
	files, err := fileOf(c)
	if err != nil { // out of descriptors: try again later
		return false
	}
	for len(ws) > 0 {
		w := e.sched.Pick(c.RemoteAddr(), ws)
		if w == nil || !slices.Contains(ws, w) {
			w = ws[0]
		}
		id := e.lastID + 1
		if w.ep.Conn().EnqueueFiles(wire.TypeCtl, 0, id, wire.Keyed(wire.CtlConn, e.key), files) == nil {
			e.lastID = id
			m := e.handed[w]
			if m == nil {
				m = make(map[uint64]net.Conn)
				e.handed[w] = m
			}
			m[id] = c
			w.conns.Add(1)
			return true
		}
		// Its channel is gone: it takes no more (what it had is handed on
		// when its reader ends).
		e.workers = without(e.workers, w)
		ws = without(ws, w)
	}
	closeFiles(files)
	return false
}

// takers returns the workers that can take a connection: listening, not
// not, with fewer than rrBacklog connections they have not confirmed and a
// channel queue that moves. e.mu is held.
func (e *listenEntry) takers(not *Worker) []*Worker {
	can := func(w *Worker) bool {
		if w == not || len(e.handed[w]) >= rrBacklog {
			return false
		}
		_, files := w.ep.Conn().Backlog()
		return files < maxQueuedFiles
	}
	for i, w := range e.workers {
		if !can(w) { // rare: the others, in a new slice
			ws := slices.Clone(e.workers[:i])
			for _, w := range e.workers[i+1:] {
				if can(w) {
					ws = append(ws, w)
				}
			}
			return ws
		}
	}
	return e.workers
}

// wait holds c until a worker can take it. e.mu is held.
func (e *listenEntry) wait(c net.Conn) {
	if len(e.pending) >= e.max {
		closeClearly(c)
		return
	}
	now := time.Now()
	e.pending = append(e.pending, waiting{c: c, since: now})
	if e.expiry == nil {
		e.expiry = time.AfterFunc(e.timeout, func() { e.expire(time.Now()) })
	}
}

// flush hands the held connections, oldest first, to the workers that can
// take them. e.mu is held.
func (e *listenEntry) flush() {
	for len(e.pending) > 0 && e.handOff(e.pending[0].c, nil) {
		e.pending[0] = waiting{}
		e.pending = e.pending[1:]
	}
	if len(e.pending) == 0 {
		e.pending = nil
	}
}

// expire closes the held connections that have waited HoldTimeout by now,
// after handing on those a worker can take. It runs on the expiry timer.
func (e *listenEntry) expire(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.expiry != nil {
		e.expiry.Stop()
		e.expiry = nil
	}
	if e.closed {
		return
	}
	e.flush()
	for len(e.pending) > 0 && now.Sub(e.pending[0].since) >= e.timeout {
		closeClearly(e.pending[0].c)
		e.pending[0] = waiting{}
		e.pending = e.pending[1:]
	}
	if len(e.pending) > 0 {
		e.expiry = time.AfterFunc(e.pending[0].since.Add(e.timeout).Sub(now), func() { e.expire(time.Now()) })
	}
}

// dropPending closes every held connection (the listener closed). e.mu is
// held.
func (e *listenEntry) dropPending() {
	if e.expiry != nil {
		e.expiry.Stop()
		e.expiry = nil
	}
	for _, h := range e.pending {
		closeClearly(h.c)
	}
	e.pending = nil
}

// addWorker makes w a taker of connections (its listener is open) and hands
// it those that waited.
func (e *listenEntry) addWorker(w *Worker) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !slices.Contains(e.workers, w) {
		ws := append(slices.Clone(e.workers), w)
		slices.SortFunc(ws, func(a, b *Worker) int { return a.id - b.id })
		e.workers = ws
	}
	e.flush()
}

// taken: w's Accept returned hand-off id; the primary's copy is closed.
func (e *listenEntry) taken(w *Worker, id uint64) {
	e.mu.Lock()
	c := e.handed[w][id]
	delete(e.handed[w], id)
	if len(e.pending) > 0 {
		e.flush() // w can take one more
	}
	e.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// returned: w will not take hand-off id; it goes to another worker.
func (e *listenEntry) returned(w *Worker, id uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.handed[w][id]; c != nil {
		delete(e.handed[w], id)
		e.place(c, w)
	}
}

// dropWorker takes w out (its channel ended) and hands on, in the order
// they came, the connections it had not confirmed.
func (e *listenEntry) dropWorker(w *Worker) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.workers = without(e.workers, w)
	m := e.handed[w]
	delete(e.handed, w)
	ids := make([]uint64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		e.place(m[id], nil)
	}
}

// watchHandoffs makes sure a goroutine waits for the end of w's channel to
// hand on the connections w had not confirmed; forgetWorker joins it. It
// reports false once the listeners are closed.
func (p *Primary) watchHandoffs(w *Worker) bool {
	p.lns.mu.Lock()
	defer p.lns.mu.Unlock()
	if p.lns.closed {
		return false
	}
	if p.lns.watch == nil {
		p.lns.watch = make(map[*Worker]chan struct{})
	}
	if p.lns.watch[w] == nil {
		done := make(chan struct{})
		p.lns.watch[w] = done
		started := p.goRun(func() {
			defer close(done)
			// The reader ends after the last frame w wrote, so every
			// confirmation w sent has been counted; and w may still serve
			// what it took until its process is gone (its channel can end
			// first: Disconnect, or the primary cut it off).
			<-w.readerDone
			<-w.exited
			p.lns.mu.Lock()
			var es []*listenEntry
			for _, e := range p.lns.byKey {
				if e.policy == RoundRobin {
					es = append(es, e)
				}
			}
			p.lns.mu.Unlock()
			for _, e := range es {
				e.dropWorker(w)
			}
		})
		if !started { // Run has ended: w is gone, and so are the listeners
			close(done)
		}
	}
	return true
}

// without returns ws without w, in a new slice if w was in it.
func without(ws []*Worker, w *Worker) []*Worker {
	i := slices.Index(ws, w)
	if i < 0 {
		return ws
	}
	return slices.Delete(slices.Clone(ws), i, i+1)
}

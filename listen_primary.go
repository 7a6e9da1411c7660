package cluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gocluster/cluster/internal/wire"
)

// maxQueuedFiles is how many handed-off connections may wait in a worker's
// channel queue; a worker that is that far behind (stuck) gets no more until
// it catches up.
const maxQueuedFiles = 256

// listeners are the primary's listening sockets, by network and address as
// workers asked for them.
type listeners struct {
	mu     sync.Mutex
	byAddr map[string]*listenEntry
	byKey  map[uint32]*listenEntry
	next   uint32
	closed bool
	// watch: for each worker on a RoundRobin listener, closed when the
	// connections it had not confirmed at the end of its channel are handed
	// on (see watchHandoffs).
	watch map[*Worker]chan struct{}
}

type listenEntry struct {
	key      uint32
	network  string
	address  string // as first asked for
	policy   Policy
	ln       net.Listener // nil for ReusePort
	addr     net.Addr
	accepted bool // the accept loop runs

	mu     sync.Mutex
	closed bool
	hold   // RoundRobin: the connections between accept and a worker's Accept
	reuse  map[*Worker]*os.File
	known  map[uint64]bool // ReusePort: inodes of every socket made for it, and of strangers reported
}

// strangerCheck is how often a ReusePort address is checked for sockets the
// cluster did not make.
const strangerCheck = 2 * time.Second

// watchStrangers reports (EventError, once per socket) sockets that join a
// ReusePort address from outside the cluster, until the listeners close or
// Run ends.
func (p *Primary) watchStrangers(e *listenEntry) {
	t := time.NewTicker(strangerCheck)
	defer t.Stop()
	for quit := p.group.quitting(); ; {
		select {
		case <-t.C:
		case <-quit:
			return
		}
		p.lns.mu.Lock()
		closed := p.lns.closed
		var err error
		if !closed {
			err = e.strangers()
		}
		p.lns.mu.Unlock()
		if closed {
			return
		}
		if err != nil && !p.do(func() { p.emit(Event{Type: EventError, Err: err, Addr: e.addr}) }) {
			return
		}
	}
}

// handleListen answers a worker's listen request (on its reader goroutine).
// A listen the primary cannot do is an EventError too.
func (p *Primary) handleListen(w *Worker, id uint64, req []byte) {
	e, files, stranger, err := p.listen(w, req)
	if stranger != nil {
		p.do(func() { p.emit(Event{Type: EventError, Err: stranger, Addr: e.addr}) })
	}
	if err != nil {
		if !errors.Is(err, ErrDisconnected) && !errors.Is(err, ErrNotRunning) {
			_, network, address, _ := wire.ParseListen(req)
			err := opErr(fmt.Sprintf("worker %d: listen %s %s", w.id, network, address), listenCause(err))
			p.do(func() { p.emit(Event{Type: EventError, Worker: w, Err: err, Addr: listenAddr(network, address)}) })
		}
		w.ep.Enqueue(wire.TypeRep, 0, id, listenRefusal(err))
		return
	}
	reply := wire.AppendListenReply(nil, byte(e.policy), e.key, e.addr.String())
	if err := w.ep.Conn().EnqueueFiles(wire.TypeRep, 0, id, reply, files); err != nil {
		closeFiles(files)
		return
	}
	if e.policy != RoundRobin { // RoundRobin: once the worker's listener is open (wire.CtlAccept)
		p.listening(w, e)
	}
}

// listening emits EventListening (and marks w ready with
// Config.ReadyOnListen).
func (p *Primary) listening(w *Worker, e *listenEntry) {
	p.do(func() { p.emit(Event{Type: EventListening, Worker: w, Addr: e.addr}) })
	if p.cfg.ReadyOnListen {
		p.markReady(w)
	}
}

// listen finds or binds the address a worker asks for and, but for
// RoundRobin, registers the worker on it. It also returns, for ReusePort,
// an error naming a socket on the port that the cluster did not make.
func (p *Primary) listen(w *Worker, req []byte) (e *listenEntry, files []*os.File, stranger, err error) {
	pol, network, address, err := wire.ParseListen(req)
	if err != nil {
		return nil, nil, nil, err
	}
	policy := Policy(pol)
	if policy >= policyEnd {
		return nil, nil, nil, fmt.Errorf("%w: listen request of policy %d", wire.ErrMalformed, pol)
	}
	if policy == PolicyDefault {
		policy = p.cfg.Policy
	}
	p.lns.mu.Lock()
	defer p.lns.mu.Unlock()
	if p.lns.closed {
		return nil, nil, nil, ErrNotRunning
	}
	// onExit closes the channel before it takes the worker out of every
	// listener under this lock: a worker whose channel is open here is
	// registered now and taken out later, never the other way round.
	select {
	case <-w.ep.Done():
		return nil, nil, nil, ErrDisconnected
	default:
	}
	name := network + " " + address
	e = p.lns.byAddr[name]
	if e == nil {
		if e, err = p.bind(network, address, policy); err != nil {
			return nil, nil, nil, err
		}
		p.lns.byAddr[name] = e
		// A listener's Addr names it too (port 0 asked, the port bound).
		if bound := network + " " + e.addr.String(); p.lns.byAddr[bound] == nil {
			p.lns.byAddr[bound] = e
		}
		p.lns.byKey[e.key] = e
	}
	if e.policy != policy {
		return nil, nil, nil, fmt.Errorf("the address is already shared as %v, not %v", e.policy, policy)
	}
	switch policy {
	case Shared:
		files, err = fileOf(e.ln)
		return e, files, nil, err
	case ReusePort:
		f, err := e.reusePortSocket(w)
		if err != nil {
			return nil, nil, nil, err
		}
		return e, []*os.File{f}, e.strangers(), nil
	}
	if !e.accepted {
		// It ends when closeListeners closes e.ln; Run waits for it.
		e.accepted = p.goRun(func() { p.acceptLoop(e) })
	}
	return e, nil, nil, nil
}

// bind creates the entry for a new address. p.lns.mu is held.
func (p *Primary) bind(network, address string, policy Policy) (*listenEntry, error) {
	p.lns.next++
	e := &listenEntry{key: p.lns.next, network: network, address: address, policy: policy}
	e.hold = newHold(p.cfg.Scheduler)
	if policy == ReusePort {
		if err := reusePortSupported(network); err != nil {
			return nil, err
		}
		e.reuse = make(map[*Worker]*os.File)
		e.known = make(map[uint64]bool)
		// The first socket fixes the port (port 0 picks one) for the others.
		f, addr, err := listenReusePort(network, address)
		if err != nil {
			return nil, err
		}
		f.Close()
		e.addr = addr
		p.goRun(func() { p.watchStrangers(e) })
		return e, nil
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	e.ln, e.addr = ln, ln.Addr()
	return e, nil
}

func (e *listenEntry) reusePortSocket(w *Worker) (*os.File, error) {
	f, _, err := listenReusePort(e.network, e.addr.String())
	if err != nil {
		return nil, err
	}
	dup, err := fileOf(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	e.mu.Lock()
	if old := e.reuse[w]; old != nil {
		old.Close()
	}
	e.reuse[w] = f
	if ino, ok := inode(f); ok {
		e.known[ino] = true
	}
	e.mu.Unlock()
	return dup[0], nil
}

// removeWorker takes w out of a listener (it closed it, or exited). The
// connections handed to it that it had not accepted come back on their own
// (wire.CtlReturn), or at the end of its channel.
func (e *listenEntry) removeWorker(w *Worker) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.workers = without(e.workers, w)
	if f := e.reuse[w]; f != nil {
		f.Close()
		delete(e.reuse, w)
	}
}

// acceptLoop accepts the connections of a RoundRobin listener and hands
// each to a worker.
func (p *Primary) acceptLoop(e *listenEntry) {
	delay := time.Duration(0)
	for {
		c, err := e.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: back off, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			p.log.Error("cluster: accept", "addr", e.addr, "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		e.dispatch(c, nil)
	}
}

// handleListenCtl handles a worker's listener notices (on its reader).
func (p *Primary) handleListenCtl(w *Worker, f wire.Frame) {
	closeFiles(f.Files) // none of them carries a descriptor
	key, ok := wire.KeyOf(f.Payload)
	if !ok {
		return
	}
	p.lns.mu.Lock()
	e := p.lns.byKey[key]
	p.lns.mu.Unlock()
	if e == nil {
		return
	}
	switch f.Payload[0] {
	case wire.CtlAccept:
		if e.policy == RoundRobin && p.watchHandoffs(w) {
			e.addWorker(w)
			p.listening(w, e)
		}
	case wire.CtlTaken:
		e.taken(w, f.ID)
	case wire.CtlReturn:
		w.connClosed()
		e.returned(w, f.ID)
	case wire.CtlUnlisten:
		e.removeWorker(w)
	case wire.CtlClosed:
		w.connClosed()
	}
}

// forgetWorker takes an exited worker out of every listener. It runs after
// the worker's reader ended, so the connections it had not confirmed are
// being handed on: it waits for that.
func (p *Primary) forgetWorker(w *Worker) {
	p.lns.mu.Lock()
	done := p.lns.watch[w]
	delete(p.lns.watch, w)
	p.lns.mu.Unlock()
	if done != nil {
		<-done
	}
	p.stopHandingTo(w)
}

// stopHandingTo takes w out of every listener: it gets no more connections.
func (p *Primary) stopHandingTo(w *Worker) {
	p.lns.mu.Lock()
	defer p.lns.mu.Unlock()
	for _, e := range p.lns.byKey {
		e.removeWorker(w)
	}
}

// closeListeners closes every listening socket (Run is ending). The
// connections no worker took are closed, with a FIN.
func (p *Primary) closeListeners() {
	p.lns.mu.Lock()
	defer p.lns.mu.Unlock()
	p.lns.closed = true
	for _, e := range p.lns.byKey {
		if e.ln != nil {
			e.ln.Close()
		}
		e.mu.Lock()
		e.closed = true
		e.dropPending()
		for w, f := range e.reuse {
			f.Close()
			delete(e.reuse, w)
		}
		e.mu.Unlock()
	}
}

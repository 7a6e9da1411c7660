package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gocluster/cluster/internal/wire"
)

const (
	// maxPending bounds the connections a RoundRobin listener holds while no
	// worker listens (between a crash and its replacement); past it they
	// are closed.
	maxPending = 1024
	// maxQueuedFiles is how many handed-off connections may wait in a
	// worker's channel queue; a worker that is that far behind (stuck) gets
	// no more until it catches up.
	maxQueuedFiles = 256
)

// listeners are the primary's listening sockets, by network and address as
// workers asked for them.
type listeners struct {
	mu     sync.Mutex
	byAddr map[string]*listenEntry
	byKey  map[uint32]*listenEntry
	next   uint32
	closed bool
}

type listenEntry struct {
	key      uint32
	network  string
	address  string // as first asked for
	policy   Policy
	ln       net.Listener // nil for ReusePort
	addr     net.Addr
	accepted bool // the accept loop runs

	mu      sync.Mutex
	closed  bool
	workers []*Worker  // RoundRobin: the workers listening, by id
	pending []*os.File // RoundRobin: connections waiting for a worker
	reuse   map[*Worker]*os.File
	known   map[uint64]bool // ReusePort: inodes of every socket made for it, and of strangers reported
}

// strangerCheck is how often a ReusePort address is checked for sockets the
// cluster did not make.
const strangerCheck = 2 * time.Second

// watchStrangers reports (EventError, once per socket) sockets that join a
// ReusePort address from outside the cluster, until the listeners close.
func (p *Primary) watchStrangers(e *listenEntry) {
	t := time.NewTicker(strangerCheck)
	defer t.Stop()
	for range t.C {
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
func (p *Primary) handleListen(w *Worker, id uint64, req []byte) {
	e, files, stranger, err := p.listen(w, req)
	if stranger != nil {
		p.do(func() { p.emit(Event{Type: EventError, Err: stranger, Addr: e.addr}) })
	}
	if err != nil {
		w.ep.enqueue(wire.TypeRepErr, 0, id, encodeErr(&RemoteError{Text: err.Error()}))
		return
	}
	reply := listenReply(e.policy, e.key, e.addr.String())
	if err := w.ep.conn.EnqueueFiles(wire.TypeRep, 0, id, reply, files); err != nil {
		closeFiles(files)
		return
	}
	p.do(func() { p.emit(Event{Type: EventListening, Worker: w, Addr: e.addr}) })
	if p.cfg.ReadyOnListen {
		p.markReady(w)
	}
}

// listen finds or binds the address a worker asks for and registers the
// worker on it. It also returns, for ReusePort, an error naming a socket on
// the port that the cluster did not make.
func (p *Primary) listen(w *Worker, req []byte) (e *listenEntry, files []*os.File, stranger, err error) {
	if len(req) < 2 || Policy(req[1]) >= policyEnd {
		return nil, nil, nil, fmt.Errorf("%w: bad listen request", wire.ErrMalformed)
	}
	policy := Policy(req[1])
	if policy == PolicyDefault {
		policy = p.cfg.Policy
	}
	network, address, ok := strings.Cut(string(req[2:]), "\x00")
	if !ok {
		return nil, nil, nil, fmt.Errorf("%w: bad listen request", wire.ErrMalformed)
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
	case <-w.ep.done:
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
		p.lns.byKey[e.key] = e
	}
	if e.policy != policy {
		return nil, nil, nil, fmt.Errorf("%s is already shared as %v, not %v", name, e.policy, policy)
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
	e.addWorker(w, p.cfg.Scheduler)
	if !e.accepted {
		e.accepted = true
		go p.acceptLoop(e)
	}
	return e, nil, nil, nil
}

// bind creates the entry for a new address. p.lns.mu is held.
func (p *Primary) bind(network, address string, policy Policy) (*listenEntry, error) {
	p.lns.next++
	e := &listenEntry{key: p.lns.next, network: network, address: address, policy: policy}
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
		go p.watchStrangers(e)
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

// addWorker adds w to the workers of a RoundRobin listener and hands it the
// connections that waited for a worker.
func (e *listenEntry) addWorker(w *Worker, s Scheduler) {
	e.mu.Lock()
	if !slices.Contains(e.workers, w) {
		ws := append(slices.Clone(e.workers), w)
		slices.SortFunc(ws, func(a, b *Worker) int { return a.id - b.id })
		e.workers = ws
	}
	pending := e.pending
	e.pending = nil
	e.mu.Unlock()
	for _, f := range pending {
		e.dispatch(f, nil, s, nil)
	}
}

// removeWorker takes w out of a listener (it closed it, or exited).
func (e *listenEntry) removeWorker(w *Worker) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i := slices.Index(e.workers, w); i >= 0 {
		e.workers = slices.Delete(slices.Clone(e.workers), i, i+1)
	}
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
		remote := c.RemoteAddr()
		files, err := fileOf(c)
		c.Close()
		if err != nil {
			p.log.Error("cluster: hand-off", "addr", e.addr, "err", err)
			continue
		}
		e.dispatch(files[0], remote, p.cfg.Scheduler, nil)
	}
}

// dispatch hands a connection to the worker the scheduler picks among
// those listening (but not the one that just gave it back, nor one whose
// queue is full). With no worker listening it waits for one (up to
// maxPending connections); with workers that can take none it is closed,
// as a full backlog refuses.
func (e *listenEntry) dispatch(f *os.File, remote net.Addr, s Scheduler, returnedBy *Worker) {
	if remote == nil { // a returned connection: find its peer again
		c, err := net.FileConn(f)
		if err != nil { // not a connection at all
			f.Close()
			return
		}
		remote = c.RemoteAddr()
		c.Close()
	}
	e.mu.Lock()
	if e.closed || len(e.workers) == 0 {
		if !e.closed && len(e.pending) < maxPending {
			e.pending = append(e.pending, f)
		} else {
			f.Close()
		}
		e.mu.Unlock()
		return
	}
	var ws []*Worker
	for _, w := range e.workers {
		if _, files := w.ep.conn.Backlog(); w != returnedBy && files < maxQueuedFiles {
			ws = append(ws, w)
		}
	}
	e.mu.Unlock()
	for len(ws) > 0 {
		w := s.Pick(remote, ws)
		if w == nil || !slices.Contains(ws, w) {
			w = ws[0]
		}
		w.conns.Add(1)
		if w.ep.conn.EnqueueFiles(wire.TypeCtl, 0, 0, keyed(ctlConn, e.key), []*os.File{f}) == nil {
			return
		}
		// Its channel is gone: take it out and try the others.
		w.connClosed()
		e.removeWorker(w)
		ws = slices.DeleteFunc(slices.Clone(ws), func(x *Worker) bool { return x == w })
	}
	f.Close()
}

// handleListenCtl handles a worker's listener notices (on its reader).
func (p *Primary) handleListenCtl(w *Worker, f wire.Frame) {
	if len(f.Payload) != 5 {
		closeFiles(f.Files)
		return
	}
	key := binary.BigEndian.Uint32(f.Payload[1:])
	p.lns.mu.Lock()
	e := p.lns.byKey[key]
	p.lns.mu.Unlock()
	switch {
	case e == nil:
	case f.Payload[0] == ctlUnlisten:
		e.removeWorker(w)
	case f.Payload[0] == ctlClosed:
		w.connClosed()
	case f.Payload[0] == ctlReturn && len(f.Files) == 1:
		w.connClosed()
		e.dispatch(f.Files[0], nil, p.cfg.Scheduler, w)
		return
	}
	closeFiles(f.Files)
}

// forgetWorker takes an exited worker out of every listener.
func (p *Primary) forgetWorker(w *Worker) {
	p.lns.mu.Lock()
	defer p.lns.mu.Unlock()
	for _, e := range p.lns.byKey {
		e.removeWorker(w)
	}
}

// closeListeners closes every listening socket (Run is ending).
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
		closeFiles(e.pending)
		e.pending = nil
		for w, f := range e.reuse {
			f.Close()
			delete(e.reuse, w)
		}
		e.mu.Unlock()
	}
}

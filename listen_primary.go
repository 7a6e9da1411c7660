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

// maxPending bounds the connections a RoundRobin listener holds while no
// worker listens (between a crash and its replacement); past it they are
// closed.
const maxPending = 1024

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
	workers []*Worker  // RoundRobin: the workers listening, by id
	pending []*os.File // RoundRobin: connections waiting for a worker
	reuse   map[*Worker]*os.File
}

// handleListen answers a worker's listen request (on its reader goroutine).
func (p *Primary) handleListen(w *Worker, id uint64, req []byte) {
	e, files, err := p.listen(w, req)
	if e != nil && e.policy == ReusePort {
		p.checkStrangers(e)
	}
	if err != nil {
		w.ep.enqueue(wire.TypeRepErr, 0, id, encodeErr(&RemoteError{Text: err.Error()}))
		return
	}
	reply := listenReply(e.policy, e.key, e.addr.String())
	if err := w.ep.conn.EnqueueFiles(wire.TypeRep, 0, id, reply, files); err != nil {
		return
	}
	p.do(func() { p.emit(Event{Type: EventListening, Worker: w, Addr: e.addr}) })
}

func (p *Primary) listen(w *Worker, req []byte) (*listenEntry, []*os.File, error) {
	if len(req) < 2 || Policy(req[1]) >= policyEnd {
		return nil, nil, fmt.Errorf("%w: bad listen request", wire.ErrMalformed)
	}
	policy := Policy(req[1])
	if policy == PolicyDefault {
		policy = p.cfg.Policy
	}
	network, address, ok := strings.Cut(string(req[2:]), "\x00")
	if !ok {
		return nil, nil, fmt.Errorf("%w: bad listen request", wire.ErrMalformed)
	}
	p.lns.mu.Lock()
	defer p.lns.mu.Unlock()
	if p.lns.closed {
		return nil, nil, ErrNotRunning
	}
	name := network + " " + address
	e := p.lns.byAddr[name]
	if e == nil {
		var err error
		if e, err = p.bind(network, address, policy); err != nil {
			return nil, nil, err
		}
		p.lns.byAddr[name] = e
		p.lns.byKey[e.key] = e
	}
	if e.policy != policy {
		return nil, nil, fmt.Errorf("%s is already shared as %v, not %v", name, e.policy, policy)
	}
	switch policy {
	case Shared:
		files, err := fileOf(e.ln)
		return e, files, err
	case ReusePort:
		f, err := e.reusePortSocket(w)
		if err != nil {
			return nil, nil, err
		}
		return e, []*os.File{f}, nil
	}
	e.addWorker(w, p.cfg.Scheduler)
	if !e.accepted {
		e.accepted = true
		go p.acceptLoop(e)
	}
	return e, nil, nil
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
		// The first socket fixes the port (port 0 picks one) for the others.
		f, addr, err := listenReusePort(network, address)
		if err != nil {
			return nil, err
		}
		f.Close()
		e.addr = addr
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
		e.dispatch(f, nil, s)
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
		e.dispatch(files[0], remote, p.cfg.Scheduler)
	}
}

// dispatch hands a connection to the worker the scheduler picks; with no
// worker listening it waits for one (up to maxPending connections).
func (e *listenEntry) dispatch(f *os.File, remote net.Addr, s Scheduler) {
	if remote == nil { // a returned connection: find its peer again
		if c, err := net.FileConn(f); err == nil {
			remote = c.RemoteAddr()
			c.Close()
		}
	}
	e.mu.Lock()
	ws := e.workers
	if len(ws) == 0 {
		if len(e.pending) < maxPending {
			e.pending = append(e.pending, f)
		} else {
			f.Close()
		}
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	w := s.Pick(remote, ws)
	if w == nil || !slices.Contains(ws, w) {
		w = ws[0]
	}
	w.conns.Add(1)
	if err := w.ep.conn.EnqueueFiles(wire.TypeCtl, 0, 0, keyed(ctlConn, e.key), []*os.File{f}); err != nil {
		// The worker's channel is gone (EnqueueFiles closed f: this one
		// connection is lost); take the worker out for the next ones.
		w.conns.Add(-1)
		e.removeWorker(w)
	}
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
		closeFiles(f.Files)
	case f.Payload[0] == ctlUnlisten:
		e.removeWorker(w)
	case f.Payload[0] == ctlClosed:
		w.conns.Add(-1)
	case f.Payload[0] == ctlReturn && len(f.Files) == 1:
		w.conns.Add(-1)
		e.dispatch(f.Files[0], nil, p.cfg.Scheduler)
	default:
		closeFiles(f.Files)
	}
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
		closeFiles(e.pending)
		e.pending = nil
		for w, f := range e.reuse {
			f.Close()
			delete(e.reuse, w)
		}
		e.mu.Unlock()
	}
}

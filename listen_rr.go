package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/gocluster/cluster/internal/wire"
)

// rrBacklog is how many handed-off connections a RoundRobin listener holds
// before Accept. The primary hands a worker no more than that many it has
// not confirmed, so the backlog never overflows.
const rrBacklog = 1024

// closeAll closes every RoundRobin listener of this worker; the connections
// they were handed and had not accepted go back to the primary.
func (h *handoffs) closeAll() {
	h.mu.Lock()
	ls := make([]*rrListener, 0, len(h.m))
	for _, l := range h.m {
		ls = append(ls, l)
	}
	h.mu.Unlock()
	for _, l := range ls {
		l.Close()
	}
}

// handoffs holds this worker's RoundRobin listeners by key.
type handoffs struct {
	mu sync.Mutex
	m  map[uint32]*rrListener
}

// open registers the listener for key; the primary hands it connections
// once it has read the wire.CtlAccept notice that follows.
func (h *handoffs) open(key uint32, network, address, bound string) (*rrListener, error) {
	l := &rrListener{key: key, addr: listenAddr(network, bound), taken: wire.Keyed(wire.CtlTaken, key),
		conns: make(chan *handedConn, rrBacklog), closed: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = make(map[uint32]*rrListener)
	}
	if h.m[key] != nil {
		return nil, fmt.Errorf("cluster: listen %s %s: this worker already listens there; close that listener first", network, address)
	}
	h.m[key] = l
	return l, nil
}

// deliver gives a connection the primary handed off (the frame's id names
// the hand-off) to the listener with that key; one that no open listener
// can take goes back to the primary, which still holds it.
// onConn takes a connection the primary handed to this worker (a CtlConn
// frame); a malformed one is dropped.
func (h *handoffs) onConn(f wire.Frame) error {
	key, ok := wire.KeyOf(f.Payload)
	if !ok || len(f.Files) != 1 {
		closeFiles(f.Files)
		return nil
	}
	h.deliver(key, f)
	return nil
}

func (h *handoffs) deliver(key uint32, f wire.Frame) {
	file := f.Files[0]
	c, err := net.FileConn(file)
	file.Close()
	if err == nil {
		h.mu.Lock()
		if l := h.m[key]; l != nil {
			select {
			case l.conns <- &handedConn{Conn: c, key: key, id: f.ID}:
				h.mu.Unlock()
				return
			default: // backlog full: the primary's count says it cannot be
			}
		}
		h.mu.Unlock()
		c.Close()
	}
	giveBack(key, f.ID)
}

// giveBack tells the primary this worker will not take the hand-off id; the
// primary gives its own copy of the connection to another worker.
func giveBack(key uint32, id uint64) {
	self.ep.Enqueue(wire.TypeCtl, 0, id, wire.Keyed(wire.CtlReturn, key))
}

// rrListener is a worker's end of a RoundRobin listener: Accept returns the
// connections the primary hands to this worker.
type rrListener struct {
	key    uint32
	addr   net.Addr
	taken  []byte // the wire.CtlTaken payload for this key
	conns  chan *handedConn
	closed chan struct{}
	once   sync.Once
}

// Accept returns the next connection handed to this worker. It confirms
// the connection to the primary (wire.CtlTaken) and returns once the
// confirmation is written: from then on the connection is this process's,
// and dies with it; until then the primary gives it to another worker if
// this one ends.
func (l *rrListener) Accept() (net.Conn, error) {
	for {
		select {
		case c := <-l.conns:
			if self.ep.SendWritten(context.Background(), wire.TypeCtl, 0, c.id, l.taken) == nil {
				return c, nil
			}
			// The channel is gone, so the primary hands this connection to
			// another worker (or is gone too): it is not this one's to serve.
			c.Conn.Close()
		case <-l.closed:
			return nil, opErr("accept", net.ErrClosed)
		}
	}
}

// Close stops this worker from getting connections; the ones it was handed
// but had not accepted go back to the primary for another worker.
func (l *rrListener) Close() error {
	l.once.Do(func() {
		h := &self.handoff
		h.mu.Lock()
		if h.m[l.key] == l {
			delete(h.m, l.key)
		}
		close(l.closed)
		h.mu.Unlock()
		self.ep.Enqueue(wire.TypeCtl, 0, 0, wire.Keyed(wire.CtlUnlisten, l.key))
		for {
			select {
			case c := <-l.conns:
				c.Conn.Close()
				giveBack(l.key, c.id)
			default:
				return
			}
		}
	})
	return nil
}

// Addr returns the address the primary bound (with the port it picked for
// port 0).
func (l *rrListener) Addr() net.Addr { return l.addr }

// handedConn tells the primary when it closes (for LeastConnections).
type handedConn struct {
	net.Conn
	key  uint32
	id   uint64 // the hand-off, as the primary numbered it
	once sync.Once
}

func (c *handedConn) Close() error {
	c.once.Do(func() { self.ep.Enqueue(wire.TypeCtl, 0, 0, wire.Keyed(wire.CtlClosed, c.key)) })
	return c.Conn.Close()
}

// CloseWrite half-closes the connection, as *net.TCPConn does (net/http
// uses it for a graceful close).
func (c *handedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// ReadFrom keeps the TCP connection's sendfile/splice fast path.
func (c *handedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// listenAddr is the address a RoundRobin listener reports.
func listenAddr(network, address string) net.Addr {
	if network == "unix" {
		return &net.UnixAddr{Name: address, Net: network}
	}
	if a, err := net.ResolveTCPAddr(network, address); err == nil {
		return a
	}
	return &net.TCPAddr{}
}

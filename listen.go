package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"github.com/gocluster/cluster/internal/wire"
)

// rrBacklog is how many handed-off connections a RoundRobin listener holds
// before Accept; past it they go back to the primary for another worker.
const rrBacklog = 1024

// ListenConfig holds options for Listen in a worker.
type ListenConfig struct {
	// Policy overrides the cluster's Config.Policy for this listener. Every
	// worker listening on one address must ask for the same policy.
	Policy Policy
}

// Listen returns a listener on a local network address shared by every
// worker of the cluster that listens on the same network and address: the
// primary binds it once ("tcp", "tcp4", "tcp6" or "unix"; port 0 is picked
// once and shared) and workers share it by the cluster's policy. In a
// process that is not a worker it is net.Listen, so the same program runs
// on its own.
func Listen(network, address string) (net.Listener, error) {
	return ListenConfig{}.Listen(context.Background(), network, address)
}

// Listen is Listen with this config; an ended ctx stops it before it asks
// the primary.
func (lc ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	if self == nil {
		var nlc net.ListenConfig
		return nlc.Listen(ctx, network, address)
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return nil, fmt.Errorf("cluster: listen %s %s: network not supported (tcp, tcp4, tcp6, unix)", network, address)
	}
	if lc.Policy >= policyEnd {
		return nil, fmt.Errorf("cluster: listen %s %s: unknown policy %d", network, address, lc.Policy)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cluster: listen %s %s: %w", network, address, err)
	}
	// The wait is not abandoned when ctx ends: the primary registers this
	// worker for the address when it answers, and an answer nobody took
	// would leave that registration behind. It answers at once, or the
	// channel closes.
	req := append([]byte{ctlListen, byte(lc.Policy)}, network+"\x00"+address...)
	r := self.ep.call(context.Background(), wire.TypeCtl, 0, req)
	var refused *RemoteError
	if errors.As(r.err, &refused) {
		return nil, fmt.Errorf("cluster: listen %s %s: the primary could not: %s", network, address, refused.Text)
	}
	if r.err != nil {
		return nil, fmt.Errorf("cluster: listen %s %s: %w", network, address, r.err)
	}
	policy, key, _, err := parseListenReply(r.data)
	if err != nil {
		closeFiles(r.files)
		return nil, fmt.Errorf("cluster: listen %s %s: %w", network, address, err)
	}
	if policy == RoundRobin {
		closeFiles(r.files)
		return self.handoff.open(key, network, address)
	}
	if len(r.files) != 1 {
		closeFiles(r.files)
		return nil, fmt.Errorf("cluster: listen %s %s: the primary sent no socket", network, address)
	}
	ln, err := net.FileListener(r.files[0])
	r.files[0].Close()
	if err != nil {
		return nil, fmt.Errorf("cluster: listen %s %s: %w", network, address, err)
	}
	return &sharedListener{Listener: ln, key: key}, nil
}

// listen reply payload: [policy][key u32][address]
func listenReply(p Policy, key uint32, addr string) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{byte(p)}, key), addr...)
}

func parseListenReply(b []byte) (Policy, uint32, string, error) {
	if len(b) < 5 || Policy(b[0]) >= policyEnd || b[0] == 0 {
		return 0, 0, "", fmt.Errorf("%w: bad listen reply", wire.ErrMalformed)
	}
	return Policy(b[0]), binary.BigEndian.Uint32(b[1:]), string(b[5:]), nil
}

func keyed(cmd byte, key uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{cmd}, key)
}

// sharedListener is a worker's copy of a socket the primary bound.
type sharedListener struct {
	net.Listener
	key  uint32
	once sync.Once
}

func (l *sharedListener) Close() error {
	l.once.Do(func() { self.ep.enqueue(wire.TypeCtl, 0, 0, keyed(ctlUnlisten, l.key)) })
	return l.Listener.Close()
}

// handoffs holds this worker's RoundRobin listeners by key.
type handoffs struct {
	mu sync.Mutex
	m  map[uint32]*rrListener
}

func (h *handoffs) open(key uint32, network, address string) (*rrListener, error) {
	l := &rrListener{key: key, addr: listenAddr(network, address), conns: make(chan net.Conn, rrBacklog), closed: make(chan struct{})}
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

// deliver gives a connection the primary handed off to the listener with
// that key; one that no open listener can take goes back to the primary.
func (h *handoffs) deliver(key uint32, f wire.Frame) {
	file := f.Files[0]
	c, err := net.FileConn(file)
	if err != nil { // not a connection: nothing anyone could serve
		file.Close()
		self.ep.enqueue(wire.TypeCtl, 0, 0, keyed(ctlClosed, key))
		return
	}
	h.mu.Lock()
	if l := h.m[key]; l != nil {
		select {
		case l.conns <- &handedConn{Conn: c, key: key}:
			h.mu.Unlock()
			file.Close()
			return
		default: // backlog full
		}
	}
	h.mu.Unlock()
	c.Close()
	giveBack(key, file)
}

// giveBack returns a connection this worker cannot take to the primary,
// which hands it to another worker.
func giveBack(key uint32, f *os.File) {
	if self.ep.conn.EnqueueFiles(wire.TypeCtl, 0, 0, keyed(ctlReturn, key), []*os.File{f}) != nil {
		f.Close()
	}
}

// rrListener is a worker's end of a RoundRobin listener: Accept returns the
// connections the primary hands to this worker.
type rrListener struct {
	key    uint32
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *rrListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, fmt.Errorf("cluster: accept: %w", net.ErrClosed)
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
		self.ep.enqueue(wire.TypeCtl, 0, 0, keyed(ctlUnlisten, l.key))
		for {
			select {
			case c := <-l.conns:
				returnConn(l.key, c.(*handedConn))
			default:
				return
			}
		}
	})
	return nil
}

func (l *rrListener) Addr() net.Addr { return l.addr }

func returnConn(key uint32, c *handedConn) {
	f, err := fileOf(c.Conn)
	c.Conn.Close()
	if err == nil {
		giveBack(key, f[0])
	}
}

// handedConn tells the primary when it closes (for LeastConnections).
type handedConn struct {
	net.Conn
	key  uint32
	once sync.Once
}

func (c *handedConn) Close() error {
	c.once.Do(func() { self.ep.enqueue(wire.TypeCtl, 0, 0, keyed(ctlClosed, c.key)) })
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

// fileOf returns a duplicate of the descriptor of a file, connection or
// listener.
func fileOf(v any) ([]*os.File, error) {
	if f, ok := v.(*os.File); ok {
		d, err := dupFile(f)
		if err != nil {
			return nil, err
		}
		return []*os.File{d}, nil
	}
	f, ok := v.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, errors.New("cluster: no file descriptor behind this handle")
	}
	file, err := f.File()
	if err != nil {
		return nil, err
	}
	return []*os.File{file}, nil
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

package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gocluster/cluster"
)

// Server answers the commands of a control socket for one
// [cluster.Primary]. Create it with [Listen], run it with [Server.Serve].
type Server struct {
	p       *cluster.Primary
	opts    Options
	log     *slog.Logger
	ln      *net.UnixListener
	path    string
	sock    os.FileInfo // the socket file bound, to remove only ours
	dir     string
	started time.Time
	cpu     cpuSampler
	state   clusterState

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	serving bool
	closed  bool
	cancel  context.CancelFunc
	served  chan struct{} // closed when Serve returns
}

// Path returns the socket's path.
func (s *Server) Path() string { return s.path }

// Serve accepts connections and answers their commands until ctx ends or
// [Server.Close] is called; then it closes the socket, removes its file and
// the connections, and returns nil once every goroutine it started has
// ended (a reload or scale in progress is given up: its context ends). It
// may be called once.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.serving || s.closed {
		s.mu.Unlock()
		return errors.New("control: Serve called twice, or after Close")
	}
	ctx, cancel := context.WithCancel(ctx)
	s.serving, s.cancel, s.served = true, cancel, make(chan struct{})
	s.mu.Unlock()
	defer close(s.served)
	defer cancel()

	var wg sync.WaitGroup
	wg.Go(func() { s.watchEvents(ctx) })
	wg.Go(func() {
		<-ctx.Done()
		s.ln.Close()
	})
	var err error
	for backoff := 5 * time.Millisecond; ; {
		c, aerr := s.ln.AcceptUnix()
		if aerr != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(aerr, &ne) && !errors.Is(aerr, net.ErrClosed) { // EMFILE and the like
				s.log.Warn("control: accept", "err", aerr)
				select {
				case <-ctx.Done():
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, time.Second)
				continue
			}
			err = fmt.Errorf("control: accept: %w", aerr)
			break
		}
		backoff = 5 * time.Millisecond
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.serveConn(ctx, c)
		})
	}
	cancel()
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	wg.Wait()
	s.removeSocket()
	return err
}

// Close stops [Server.Serve] and waits for it to return, or, if Serve was
// not called, closes the socket and removes its file.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.serving {
		s.cancel()
		s.mu.Unlock()
		<-s.served
		return nil
	}
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if !already {
		s.ln.Close()
		s.removeSocket()
	}
	return nil
}

// removeSocket removes the socket file if it is still the one bound (a
// second server may have replaced a socket it thought stale).
func (s *Server) removeSocket() {
	if st, err := os.Lstat(s.path); err == nil && os.SameFile(st, s.sock) {
		os.Remove(s.path)
	}
}

// watchEvents follows the cluster: reloads in progress for status, exits
// for the log files.
func (s *Server) watchEvents(ctx context.Context) {
	for e := range s.p.Events(ctx) {
		switch e.Type {
		case cluster.EventReload:
			s.state.setReloading(true)
		case cluster.EventReloadDone:
			s.state.setReloading(false)
		case cluster.EventExit:
			if s.opts.Logs != nil && e.Worker != nil {
				s.opts.Logs.Exited(e.Worker.ID())
			}
		}
	}
}

// serveConn checks the peer, then answers its requests one at a time
// until it closes, a streaming command ends, or ctx ends.
func (s *Server) serveConn(ctx context.Context, c *net.UnixConn) {
	uid, err := peerUID(c)
	if err != nil || (uid != 0 && uid != os.Getuid()) {
		msg := fmt.Sprintf("control: refused: connection from uid %d; only uid %d (or root) may use this socket", uid, os.Getuid())
		if err != nil {
			msg = fmt.Sprintf("control: refused: the peer's user is unknown: %v", err)
		}
		s.log.Warn(msg)
		if writeResponse(c, response{Error: msg}) == nil {
			// Let the peer read the answer: closing on its unread request
			// would reset the connection under it.
			c.CloseWrite()
			c.SetReadDeadline(time.Now().Add(time.Second))
			io.Copy(io.Discard, io.LimitReader(c, 64<<10))
		}
		return
	}
	r := bufio.NewReaderSize(c, 64<<10)
	for ctx.Err() == nil {
		line, err := readLine(r, maxRequest)
		if errors.Is(err, errTooLong) {
			writeResponse(c, response{Error: err.Error()})
			return
		}
		if err != nil {
			return
		}
		if len(line) == 0 {
			continue
		}
		var req request
		if err := json.Unmarshal(line, &req); err != nil {
			if writeResponse(c, response{Error: fmt.Sprintf("control: bad request: %v", err)}) != nil {
				return
			}
			continue
		}
		if !s.do(ctx, c, r, req) {
			return
		}
	}
}

// do answers one request; false ends the connection (a stream ended, or
// an answer could not be written).
func (s *Server) do(ctx context.Context, c *net.UnixConn, r *bufio.Reader, req request) bool {
	if stream := s.streamCommand(req); stream != nil {
		s.stream(ctx, c, r, stream)
		return false
	}
	resp := s.command(ctx, req)
	if resp.Error != "" {
		s.log.Debug("control: command failed", "cmd", req.Cmd, "err", resp.Error)
	}
	if writeResponse(c, resp) != nil {
		return false
	}
	if req.Cmd == "stop" && resp.OK {
		s.opts.Stop() // after the answer: the program may end at once
	}
	return true
}

// stream runs a streaming command until it ends, the client closes its
// end (or sends anything), or ctx ends.
func (s *Server) stream(ctx context.Context, c *net.UnixConn, r *bufio.Reader, run func(context.Context, func(response) error) error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	read := make(chan struct{})
	go func() {
		defer close(read)
		io.Copy(io.Discard, r)
		cancel()
	}()
	err := run(ctx, func(resp response) error { return writeResponse(c, resp) })
	if err != nil && ctx.Err() == nil {
		writeResponse(c, response{Error: errorText(err)})
	}
	cancel()
	c.Close() // ends the reader
	<-read
}

// writeResponse writes resp as one line.
func writeResponse(c net.Conn, resp response) error {
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(response{Error: "control: " + err.Error()})
	}
	c.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err = c.Write(append(b, '\n'))
	return err
}

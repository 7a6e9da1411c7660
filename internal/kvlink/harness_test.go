package kvlink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/link"
	"github.com/gocluster/cluster/internal/wire"
	"github.com/gocluster/cluster/kv"
)

// These tests wire a Server and its Clients over real links in one
// process: each worker's channel is a net.Pipe with a wire.Conn and a
// link.Link on each end, both links read by goroutines every test joins in
// its cleanup.

// waitFor bounds every wait of these tests.
const waitFor = 10 * time.Second

// errGone is the test links' error of a channel that is gone.
var errGone = errors.New("kvlinktest: disconnected")

// sentinels are the errors whose identity the test links keep across the
// channel, as the root package's table does for the real ones.
var sentinels = [...]struct {
	err  error
	code wire.Code
}{
	{kv.ErrExists, wire.CodeExists},
	{kv.ErrConflict, wire.CodeConflict},
	{kv.ErrInvalid, wire.CodeInvalid},
	{kv.ErrNotFound, wire.CodeNotFound},
	{kv.ErrLoadAborted, wire.CodeLoadAborted},
	{kv.ErrClosed, wire.CodeClosed},
}

// codedError is an error decoded from a reply: its text, matching its
// sentinel (nil for none).
type codedError struct {
	text string
	err  error
}

func (e *codedError) Error() string { return e.text }
func (e *codedError) Unwrap() error { return e.err }

var testErrors = link.Errors{
	Encode: func(err error) []byte {
		code := wire.CodeNone
		for _, s := range sentinels {
			if errors.Is(err, s.err) {
				code = s.code
				break
			}
		}
		return wire.AppendError(nil, code, err.Error())
	},
	Decode: func(p []byte) error {
		code, text := wire.ParseError(p)
		for _, s := range sentinels {
			if code != wire.CodeNone && s.code == code {
				return &codedError{text: text, err: s.err}
			}
		}
		return &codedError{text: text}
	},
	Disconnected: func(cause error) error {
		if cause == nil {
			return errGone
		}
		return fmt.Errorf("%w: %w", errGone, cause)
	},
	TooLarge: func(size, limit int) error {
		return fmt.Errorf("kvlinktest: %d bytes, over the limit of %d", size, limit)
	},
	Op: func(op string, err error) error { return fmt.Errorf("kvlinktest: %s: %w", op, err) },
}

// testPeer is a worker as the server sees it; it records cut-offs.
type testPeer struct {
	id   int
	mu   sync.Mutex
	cuts []error
}

func (p *testPeer) ID() int { return p.id }

func (p *testPeer) CutOff(err error) {
	p.mu.Lock()
	p.cuts = append(p.cuts, err)
	p.mu.Unlock()
}

func (p *testPeer) cutOffs() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]error(nil), p.cuts...)
}

// primary is the primary's side: its Engine, a handle on it, and the
// Server of it.
type primary struct {
	eng *kv.Engine
	kv  *kv.KV
	srv *Server
	max int // the largest frame payload on every channel
}

// newPrimary returns a primary whose channels carry payloads of up to
// maxFrame bytes and whose engine has the limits l (MaxChangeSize set to
// maxFrame unless given). The engine is closed in t's cleanup, after every
// worker's (registered later, so run first).
func newPrimary(t *testing.T, maxFrame int, l kv.Limits) *primary {
	t.Helper()
	return newPrimaryOf(t, maxFrame, l, nil)
}

// newPrimaryOf is newPrimary, the Server serving wrap(engine) if wrap is
// not nil.
func newPrimaryOf(t *testing.T, maxFrame int, l kv.Limits, wrap func(*kv.Engine) kv.Backend) *primary {
	t.Helper()
	if l.MaxChangeSize == 0 {
		l.MaxChangeSize = maxFrame
	}
	eng := kv.NewEngine(l)
	t.Cleanup(func() { eng.Close() })
	var b kv.Backend = eng
	if wrap != nil {
		b = wrap(eng)
	}
	return &primary{eng: eng, kv: kv.New(eng), srv: NewServer(b, maxFrame), max: maxFrame}
}

// worker is one worker's channel, both ends: the worker's link, Client and
// handle, the primary's link and Conn.
type worker struct {
	t    *testing.T
	id   int
	peer *testPeer

	wl     *link.Link // the worker's end
	client *Client
	kv     *kv.KV // nil for a bare channel

	pl   *link.Link // the primary's end
	conn *Conn

	wDone, pDone chan struct{} // closed when each end's reader has ended
	wErr, pErr   error         // why, set before they are closed

	detach sync.Once
}

// connect makes worker id's channel to p and a handle on its Client; it
// does not wait for the handle to be ready.
func (p *primary) connect(t *testing.T, id int) *worker {
	w := p.connectBare(t, id)
	w.kv = kv.New(w.client)
	return w
}

// connectReady is connect, then waits for the handle's content.
func (p *primary) connectReady(t *testing.T, id int) *worker {
	t.Helper()
	w := p.connect(t, id)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := w.kv.Ready(ctx); err != nil {
		t.Fatalf("worker %d: Ready: %v", id, err)
	}
	return w
}

// connectBare makes worker id's channel to p, with the Server attached and
// a Client registered, but no handle: nothing is sent but the Hellos. The
// channel is closed, both readers joined and the Conn detached in t's
// cleanup.
func (p *primary) connectBare(t *testing.T, id int) *worker {
	pEnd, wEnd := net.Pipe()
	return p.connectEnds(t, id, pEnd, wEnd)
}

// connectEnds is connectBare over the given ends of a pipe: the primary's
// and the worker's.
func (p *primary) connectEnds(t *testing.T, id int, pEnd, wEnd net.Conn) *worker {
	w := &worker{t: t, id: id, peer: &testPeer{id: id}, wDone: make(chan struct{}), pDone: make(chan struct{})}
	w.pl = link.New(wire.NewConn(pEnd, p.max), p.max, testErrors)
	w.wl = link.New(wire.NewConn(wEnd, p.max), p.max, testErrors)
	w.conn = p.srv.Attach(w.pl, w.peer)
	w.client = NewClient(w.wl, id, func() error { return nil })
	for _, l := range []*link.Link{w.pl, w.wl} {
		if err := l.Enqueue(wire.TypeHello, 0, 0, wire.HelloPayload()); err != nil {
			t.Fatalf("hello: %v", err)
		}
	}
	go func() {
		defer close(w.pDone)
		w.pErr = w.pl.Run(nil)
		w.pl.Close(w.pErr)
	}()
	go func() {
		defer close(w.wDone)
		w.wErr = w.wl.Run(nil)
		w.wl.Close(w.wErr)
	}()
	t.Cleanup(func() {
		w.disconnect()
		if cuts := w.peer.cutOffs(); len(cuts) != 0 {
			t.Errorf("worker %d was cut off: %v", id, cuts)
		}
	})
	return w
}

// disconnect closes the worker's end, waits for both readers to end, then
// detaches the primary's Conn, as the primary does when a worker exits.
func (w *worker) disconnect() {
	w.wl.Close(nil)
	w.waitPrimaryEnd()
	<-w.wDone // its link is closed: its reader returns
	w.detach.Do(w.conn.Detach)
}

// waitPrimaryEnd waits (bounded) for the primary's reader of w to end and
// returns why.
func (w *worker) waitPrimaryEnd() error {
	select {
	case <-w.pDone:
		return w.pErr
	case <-time.After(waitFor):
		w.pl.Close(errors.New("kvlinktest: timed out"))
		<-w.pDone
		w.t.Fatalf("worker %d: the primary's reader did not end", w.id)
		return nil
	}
}

// ctx returns a context that ends after waitFor or with t.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return c
}

// waitRev waits until h's replica is at revision rev or later: it watches
// h and checks its revision after every event (a watch delivers the
// entries and OpSynced first, so a revision already reached is seen too).
func waitRev(t *testing.T, h *kv.KV, rev uint64) {
	t.Helper()
	if h.Rev() >= rev {
		return
	}
	c, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for range h.Watch(c, "") {
		if h.Rev() >= rev {
			return
		}
	}
	t.Fatalf("replica at revision %d after %v, want %d", h.Rev(), waitFor, rev)
}

// dump returns what h's replica holds.
func dump(h *kv.KV) map[string]kv.Entry {
	m := make(map[string]kv.Entry)
	for k, e := range h.Range("") {
		m[k] = e
	}
	return m
}

// sameContent fails t unless got holds what want holds (key, value,
// revisions, expiry, owner).
func sameContent(t *testing.T, what string, got, want map[string]kv.Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d keys, want %d", what, len(got), len(want))
	}
	bad := 0
	for k, we := range want {
		ge, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: %q missing", what, k)
		case string(ge.Value) != string(we.Value) || ge.Rev != we.Rev || ge.Created != we.Created ||
			!ge.Expires.Equal(we.Expires) || ge.Owner != we.Owner:
			t.Errorf("%s: %q is %d bytes at rev %d (created %d, owner %d, expires %v), want %d bytes at rev %d (created %d, owner %d, expires %v)",
				what, k, len(ge.Value), ge.Rev, ge.Created, ge.Owner, ge.Expires, len(we.Value), we.Rev, we.Created, we.Owner, we.Expires)
		default:
			continue
		}
		if bad++; bad > 5 {
			t.Fatalf("%s: giving up after %d differences", what, bad)
		}
	}
}

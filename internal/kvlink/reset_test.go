package kvlink

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/state"
	"github.com/gocluster/cluster/internal/wire"
	"github.com/gocluster/cluster/kv"
	"github.com/gocluster/cluster/kv/kvtest"
)

// newMirrorPrimary returns a primary whose Server serves b (closed in t's
// cleanup, after every worker's); it has no engine nor handle of its own.
func newMirrorPrimary(t *testing.T, maxFrame int, b *kvtest.MirrorBackend) *primary {
	t.Cleanup(func() { b.Close() })
	return &primary{srv: NewServer(b, maxFrame), max: maxFrame}
}

// frameCount is the primary's end of a channel: it counts the replies and
// the DeltaReset frames written to the worker.
type frameCount struct {
	net.Conn
	mu     sync.Mutex
	hdr    []byte    // the header being written
	typ    wire.Type // of the frame whose payload is being written
	left   int       // bytes of that payload still to come
	first  bool      // its first byte is next
	reps   int
	resets int
}

func (c *frameCount) Write(b []byte) (int, error) {
	c.scan(b)
	return c.Conn.Write(b)
}

func (c *frameCount) scan(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(b) > 0 {
		if c.left == 0 {
			n := min(wire.HeaderSize-len(c.hdr), len(b))
			c.hdr, b = append(c.hdr, b[:n]...), b[n:]
			if len(c.hdr) < wire.HeaderSize {
				return
			}
			c.typ = wire.Type(c.hdr[4] & 0x3f)
			c.left = int(binary.BigEndian.Uint32(c.hdr)) - (wire.HeaderSize - 4)
			c.hdr, c.first = c.hdr[:0], true
			if c.typ == wire.TypeRep || c.typ == wire.TypeRepErr {
				c.reps++
			}
			continue
		}
		if c.first && c.typ == wire.TypeDelta && b[0] == wire.DeltaReset {
			c.resets++
		}
		n := min(c.left, len(b))
		c.left, c.first, b = c.left-n, false, b[n:]
	}
}

func (c *frameCount) counts() (reps, resets int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reps, c.resets
}

// connectCounted is connect (see connectBare), the primary's end counting
// what it writes.
func (p *primary) connectCounted(t *testing.T, id int) (*worker, *frameCount) {
	pEnd, wEnd := net.Pipe()
	counted := &frameCount{Conn: pEnd}
	w := p.connectEnds(t, id, counted, wEnd)
	w.kv = kv.New(w.client)
	return w, counted
}

// fill replicates n keys "k/000"... of 1000 bytes to m, at revisions 1 to n.
func fill(m *kv.Mirror, n int) {
	cs := make([]kv.Change, n)
	for i := range cs {
		cs[i] = kv.Change{Op: kv.OpPut, Key: fmt.Sprintf("k/%03d", i), Value: []byte(strings.Repeat("v", 1000)), Rev: uint64(i + 1)}
	}
	m.Replicate(cs)
}

// mirrorContent returns what m holds.
func mirrorContent(m *kv.Mirror) map[string]kv.Entry {
	_, es := m.Entries()
	out := make(map[string]kv.Entry, len(es))
	for _, e := range es {
		out[e.Key] = e
	}
	return out
}

// watchUntil reads ch until an event of key and returns the events before
// it by key.
func watchUntil(t *testing.T, ch <-chan kv.WatchEvent, key string) map[string]kv.WatchEvent {
	t.Helper()
	seen := make(map[string]kv.WatchEvent)
	timer := time.NewTimer(waitFor)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("the watch ended")
			}
			if ev.Key == key {
				return seen
			}
			seen[ev.Key] = ev
		case <-timer.C:
			t.Fatalf("waited %v for a watch event of %q", waitFor, key)
		}
	}
}

// TestResetOverTheLink: a worker's handle, subscribed to a Mirror's
// Backend, gets a Reset of the Mirror to a content at a lower revision: it
// then holds exactly that content, its watchers see the difference, its
// subscription was answered once, and later changes, its own writes
// included, follow.
func TestResetOverTheLink(t *testing.T) {
	const maxFrame = 8 << 10 // the contents take many frames
	b := &kvtest.MirrorBackend{Mirror: kv.NewMirror()}
	fill(b.Mirror, 300)
	p := newMirrorPrimary(t, maxFrame, b)
	c := ctx(t)
	w, counted := p.connectCounted(t, 1)
	if err := w.kv.Ready(c); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	sameContent(t, "the first content", dump(w.kv), mirrorContent(b.Mirror))
	rev, err := w.kv.Put(c, "mine", []byte("m"))
	if err != nil || rev != 301 {
		t.Fatalf("Put: revision %d, %v; want 301", rev, err)
	}
	watch := w.kv.Watch(c, "")
	watchUntil(t, watch, "") // the entries, then OpSynced, whose key is ""

	// The store lost data: its content is at revision 100.
	far := time.Unix(0, time.Now().Add(time.Hour).UnixNano())
	content := []kv.Entry{
		{Key: "k/000", Value: []byte(strings.Repeat("v", 1000)), Rev: 1, Created: 1}, // the same
		{Key: "k/001", Value: []byte("reused"), Rev: 2, Created: 2},                  // a revision reused
		{Key: "k/002", Value: []byte("changed"), Rev: 99, Created: 3, Owner: 1},
		{Key: "new", Value: []byte("n"), Rev: 100, Created: 100, Expires: far},
	}
	b.Reset(100, content)
	b.Replicate([]kv.Change{{Op: kv.OpPut, Key: "end", Value: []byte("e"), Rev: 101}})
	seen := watchUntil(t, watch, "end")
	want := mirrorContent(b.Mirror)
	sameContent(t, "after the reset", dump(w.kv), want)
	if w.kv.Rev() != 101 {
		t.Errorf("the handle is at revision %d, want 101", w.kv.Rev())
	}
	if len(seen) != 301 { // 3 puts, 298 deletes
		t.Errorf("the watch saw %d events, want 301", len(seen))
	}
	for k, ev := range seen {
		e, kept := want[k]
		switch {
		case kept && (ev.Op != kv.OpPut || ev.Rev != e.Rev || string(ev.Value) != string(e.Value)):
			t.Errorf("watch event %v %q at %d, want a put at %d", ev.Op, k, ev.Rev, e.Rev)
		case !kept && (ev.Op != kv.OpDelete || ev.Rev != 100):
			t.Errorf("watch event %v %q at %d, want a delete at 100", ev.Op, k, ev.Rev)
		}
	}
	if _, ok := seen["k/000"]; ok {
		t.Errorf("the watch saw an unchanged key")
	}
	if reps, resets := counted.counts(); reps != 1 || resets != 1 {
		t.Errorf("the worker got %d replies and %d resets, want 1 and 1", reps, resets)
	}

	// Later changes follow, the worker's own write answered by its change.
	if rev, err := w.kv.Put(c, "after", []byte("a")); err != nil || rev != 102 {
		t.Fatalf("Put after the reset: revision %d, %v; want 102", rev, err)
	}
	if _, err := w.kv.Delete(c, "k/002"); err != nil {
		t.Fatal(err)
	}
	b.Replicate([]kv.Change{{Op: kv.OpPut, Key: "new", Value: []byte("n2"), Rev: 104}})
	waitRev(t, w.kv, 104)
	sameContent(t, "after later changes", dump(w.kv), mirrorContent(b.Mirror))
	if reps, _ := counted.counts(); reps != 1 {
		t.Errorf("the worker got %d replies, want 1 (its writes are answered by their changes)", reps)
	}
}

// gatedConn paces the content a Mirror hands a worker's Conn: each Wait
// tells the test and returns once the test lets it go or opens the gate.
// It is a state.Feed, as the Conn is, and counts the pieces that come after
// the last one of a fresh content.
type gatedConn struct {
	kv.Sink
	waiting, step, opened chan struct{}

	mu           sync.Mutex
	fresh, whole bool // a Reset came; its last piece came
	stray        int
}

func (g *gatedConn) Reset() {
	g.mu.Lock()
	g.fresh = true
	g.mu.Unlock()
	g.Sink.Reset()
}

func (g *gatedConn) Wait(int) error {
	select {
	case g.waiting <- struct{}{}:
	case <-g.opened:
		return nil
	}
	select {
	case <-g.step:
	case <-g.opened:
	}
	return nil
}

func (g *gatedConn) Events(evs []state.Event) { g.Sink.(state.Feed).Events(evs) }
func (g *gatedConn) Piece(rev uint64, es []state.Entry, last bool) {
	g.mu.Lock()
	if g.whole {
		g.stray++
	}
	g.whole = g.whole || g.fresh && last
	g.mu.Unlock()
	g.Sink.(state.Feed).Piece(rev, es, last)
}

// TestResetDuringSubscribe: a Reset comes while a worker's first content is
// on its way (after its first piece): the subscription is answered once,
// at the end of the fresh content, without waiting for the pacing, and the
// handle holds exactly that content, then follows, though the revision of
// the next change was used before the Reset.
func TestResetDuringSubscribe(t *testing.T) {
	const maxFrame = 8 << 10
	g := &gatedConn{waiting: make(chan struct{}), step: make(chan struct{}), opened: make(chan struct{})}
	b := &kvtest.MirrorBackend{Mirror: kv.NewMirror(), Wrap: func(s kv.Sink) kv.Sink { g.Sink = s; return g }}
	fill(b.Mirror, 400) // several pieces of 128 KiB
	p := newMirrorPrimary(t, maxFrame, b)
	c := ctx(t)
	w, counted := p.connectCounted(t, 1)
	var once sync.Once
	open := func() { once.Do(func() { close(g.opened) }) }
	t.Cleanup(open) // before the worker's cleanup unsubscribes it

	ready := make(chan error, 1)
	go func() { ready <- w.kv.Ready(c) }()
	for _, ch := range []chan struct{}{g.waiting, g.step, g.waiting} { // the first piece goes
		select {
		case <-ch:
		case ch <- struct{}{}:
		case <-time.After(waitFor):
			t.Fatalf("waited %v for the Mirror to call Wait", waitFor)
		}
	}
	b.Replicate([]kv.Change{{Op: kv.OpPut, Key: "k/000", Value: []byte("between"), Rev: 401}})
	select {
	case err := <-ready:
		t.Fatalf("the handle was ready after one piece: %v", err)
	default:
	}

	content := []kv.Entry{
		{Key: "k/000", Value: []byte("fresh"), Rev: 50, Created: 1},
		{Key: "k/399", Value: []byte(strings.Repeat("v", 1000)), Rev: 400, Created: 400},
		{Key: "new", Value: []byte("n"), Rev: 60, Created: 60},
	}
	b.Reset(400, content)
	select { // the gate is still shut
	case err := <-ready:
		if err != nil {
			t.Fatalf("Ready: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatalf("waited %v for the answer to the subscription", waitFor)
	}
	sameContent(t, "after the reset", dump(w.kv), mirrorContent(b.Mirror))

	open() // the first content's goroutine ends: nothing more of it comes
	// Revision 401 again, for another change: the worker gets this one, not
	// the encoding of the one the old content had at 401.
	rev, err := w.kv.Put(c, "after", []byte("a"))
	if err != nil || rev != 401 {
		t.Fatalf("Put after the reset: revision %d, %v; want 401", rev, err)
	}
	sameContent(t, "after a later change", dump(w.kv), mirrorContent(b.Mirror))
	b.Unsubscribe(uint64(w.id)) // joins that goroutine
	g.mu.Lock()
	if !g.whole || g.stray != 0 {
		t.Errorf("the fresh content ended %v; %d pieces came after it", g.whole, g.stray)
	}
	g.mu.Unlock()
	if reps, resets := counted.counts(); reps != 1 || resets != 1 {
		t.Errorf("the worker got %d replies and %d resets, want 1 and 1", reps, resets)
	}
}

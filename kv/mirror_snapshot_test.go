package kv_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gocluster/cluster/internal/state"
	"github.com/gocluster/cluster/kv"
)

// gate paces the content a Backend hands a Sink: each Wait tells the test
// (parked) and returns once the test lets it go (next) or opens the gate.
type gate struct {
	waiting, step, opened chan struct{}
	once                  sync.Once
}

func newGate() *gate {
	return &gate{waiting: make(chan struct{}), step: make(chan struct{}), opened: make(chan struct{})}
}

func (g *gate) Wait(int) error {
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

func (g *gate) open() { g.once.Do(func() { close(g.opened) }) }

// afterFirstPiece lets the first piece go and waits until the Backend
// waits for room for the second.
func (g *gate) afterFirstPiece(t *testing.T) {
	t.Helper()
	for _, ch := range []chan struct{}{g.waiting, g.step, g.waiting} {
		select {
		case <-ch:
		case ch <- struct{}{}:
		case <-time.After(waitTimeout):
			t.Fatalf("waited %v for the Backend to call Wait", waitTimeout)
		}
	}
}

// gatedSink is a Sink whose Wait is a gate's; gatedFeed is one that is a
// state.Feed too (the Mirror then hands it the store's pieces as they are).
type gatedSink struct {
	kv.Sink
	g *gate
}

func (s gatedSink) Wait(n int) error { return s.g.Wait(n) }

type gatedFeed struct{ gatedSink }

func (s gatedFeed) Events(evs []state.Event) { s.Sink.(state.Feed).Events(evs) }
func (s gatedFeed) Piece(rev uint64, es []state.Entry, last bool) {
	s.Sink.(state.Feed).Piece(rev, es, last)
}

// recSink is a gated Sink that keeps what it gets and checks its order.
type recSink struct {
	*gate
	in         atomic.Int32
	mu         sync.Mutex
	content    map[string]kv.Entry
	resetting  bool // between Reset and its last piece
	last       bool
	resets     int
	violations []string
}

func (s *recSink) call(what string, f func()) {
	if s.in.Add(1) != 1 {
		s.violate("%s overlaps another call", what)
	}
	defer s.in.Add(-1)
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

func (s *recSink) violate(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
}

func (s *recSink) Reset() {
	s.call("Reset", func() { s.content, s.resetting, s.last = map[string]kv.Entry{}, true, false; s.resets++ })
}

func (s *recSink) Snapshot(rev uint64, entries []kv.Entry, last bool) {
	s.call("Snapshot", func() {
		if s.last {
			s.violations = append(s.violations, fmt.Sprintf("piece at %d after the last one", rev))
		}
		for _, e := range entries {
			e.Value = []byte(string(e.Value))
			s.content[e.Key] = e
		}
		if last {
			s.last, s.resetting = true, false
		}
	})
}

func (s *recSink) Changes(cs []kv.Change) {
	s.call("Changes", func() {
		if s.resetting {
			s.violations = append(s.violations, fmt.Sprintf("change at %d during a fresh content", cs[0].Rev))
		}
		for _, c := range cs {
			if c.Op == kv.OpPut {
				s.content[c.Key] = kv.Entry{Key: c.Key, Value: []byte(string(c.Value)), Rev: c.Rev, Created: c.Created, Expires: c.Expires, Owner: c.Owner}
			} else {
				delete(s.content, c.Key)
			}
		}
	})
}

// TestMirrorResetDuringFirstSnapshot: Sinks in the middle of their first
// content (a recorder, and handles whose replicas take it as Snapshot
// calls and as a state.Feed, each on a Mirror of its own, as a handle's
// subscription id is always the same) get a Reset: each ends with exactly
// the new content, at once (not paced by Wait), and follows the later
// changes; no piece of the old content comes after it.
func TestMirrorResetDuringFirstSnapshot(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	mA, mB := kv.NewMirror(), kv.NewMirror()
	mirrors := []*kv.Mirror{mA, mB}
	replicate := func(cs ...kv.Change) {
		for _, m := range mirrors {
			m.Replicate(cs)
		}
	}
	var fill []kv.Change
	for i := range 400 { // about 400 KiB: several pieces
		fill = append(fill, put(fmt.Sprintf("k/%03d", i), strings.Repeat("v", 1000), uint64(i+1)))
	}
	replicate(fill...)

	rec := &recSink{gate: newGate(), content: map[string]kv.Entry{}}
	gA, gB := newGate(), newGate()
	rA := newRemote(mA, func(s kv.Sink) kv.Sink { return gatedSink{s, gA} })
	rB := newRemote(mB, func(s kv.Sink) kv.Sink { return gatedFeed{gatedSink{s, gB}} })
	defer rA.Close()
	defer rB.Close()
	defer mA.Unsubscribe(1)
	for _, g := range []*gate{rec.gate, gA, gB} {
		defer g.open() // first, whatever happens
	}

	if err := mA.Subscribe(1, rec); err != nil {
		t.Fatal(err)
	}
	hA, hB := kv.New(rA), kv.New(rB)
	ready := make(chan error, 2)
	for _, h := range []*kv.KV{hA, hB} {
		go func() { ready <- h.Ready(ctx) }()
	}
	for _, g := range []*gate{rec.gate, gA, gB} {
		g.afterFirstPiece(t)
	}
	replicate(put("k/000", "between the pieces", 401), del("k/001", 402))
	select {
	case err := <-ready:
		t.Fatalf("a handle was ready before its content was whole: %v", err)
	default:
	}
	rec.mu.Lock()
	recLast := rec.last
	rec.mu.Unlock()
	if recLast {
		t.Fatal("the recorder had its whole content before the reset: too few pieces")
	}

	content := []kv.Entry{
		{Key: "k/000", Value: []byte("fresh"), Rev: 90, Created: 1},
		{Key: "k/002", Value: []byte(strings.Repeat("v", 1000)), Rev: 3, Created: 3},
		{Key: "k/new", Value: []byte("n"), Rev: 100, Created: 100, Owner: 3},
	}
	for _, m := range mirrors {
		m.Reset(100, content)
	}
	for range 2 { // the gates are still shut
		select {
		case err := <-ready:
			if err != nil {
				t.Fatalf("Ready: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("waited %v for the handles' fresh content", waitTimeout)
		}
	}
	want := asMap(content)
	sameContent(t, "handle A", dump(hA), want)
	sameContent(t, "handle B", dump(hB), want)
	rec.mu.Lock()
	sameContent(t, "recorder", rec.content, want)
	if rec.resets != 1 || !rec.last {
		t.Errorf("recorder: %d resets, last piece %v", rec.resets, rec.last)
	}
	rec.mu.Unlock()

	// The subscriptions' goroutines, let go, hand nothing more of the old
	// content; later changes follow the new one.
	for _, g := range []*gate{rec.gate, gA, gB} {
		g.open()
	}
	replicate(put("k/end", "e", 101))
	mA.Unsubscribe(1) // joins the goroutines: whatever they handed is in
	rA.Close()
	rB.Close()
	_, es := mA.Entries()
	want = asMap(es)
	if len(want) != 4 || hA.Rev() != 101 || hB.Rev() != 101 {
		t.Errorf("mirror has %d keys; handles at revisions %d and %d, want 101", len(want), hA.Rev(), hB.Rev())
	}
	sameContent(t, "handle A, later", dump(hA), want)
	sameContent(t, "handle B, later", dump(hB), want)
	rec.mu.Lock()
	sameContent(t, "recorder, later", rec.content, want)
	for _, v := range rec.violations {
		t.Errorf("recorder: %s", v)
	}
	rec.mu.Unlock()
}
